// ParseScrape, ScrapeNames, MetricNamesIn and RunCommand.
#include "scrape.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace routeserve::testing {

std::map<std::string, double> ParseScrape(const std::string& text) {
  std::map<std::string, double> samples;
  for (const absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    if (line.front() == '#') continue;
    // Label values here hold no spaces: the value follows the last space.
    const size_t space = line.rfind(' ');
    if (space == absl::string_view::npos) continue;
    double value = 0;
    if (!absl::SimpleAtod(line.substr(space + 1), &value)) continue;
    samples[std::string(line.substr(0, space))] = value;
  }
  return samples;
}

std::set<std::string> MetricNamesIn(const std::string& text, const std::string& prefix) {
  std::set<std::string> names;
  const std::regex name(prefix + "[a-z0-9_]+");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), name);
       it != std::sregex_iterator(); ++it) {
    names.insert(it->str());
  }
  return names;
}

std::set<std::string> ScrapeNames(const std::string& text) {
  std::set<std::string> names;
  for (const absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    if (line.substr(0, 7) == "# TYPE ") {
      const std::vector<absl::string_view> words = absl::StrSplit(line, ' ');
      if (words.size() >= 3) names.emplace(words[2]);
      continue;
    }
    if (line.front() == '#') continue;
    names.emplace(line.substr(0, line.find_first_of("{ ")));
  }
  return names;
}

double SampleOf(const std::map<std::string, double>& samples, const std::string& series) {
  const auto it = samples.find(series);
  return it == samples.end() ? -1 : it->second;
}

double SumOf(const std::map<std::string, double>& samples, const std::string& name,
             const std::vector<std::string>& labels) {
  double sum = 0;
  bool found = false;
  for (auto it = samples.lower_bound(name); it != samples.end(); ++it) {
    const std::string& series = it->first;
    if (series.compare(0, name.size(), name) != 0) break;
    if (series.size() > name.size() && series[name.size()] != '{') continue;  // a longer name
    const bool matches = std::all_of(labels.begin(), labels.end(), [&](const std::string& label) {
      return absl::StrContains(series, absl::StrCat("{", label, ",")) ||
             absl::StrContains(series, absl::StrCat(",", label, ",")) ||
             absl::StrContains(series, absl::StrCat(",", label, "}")) ||
             absl::StrContains(series, absl::StrCat("{", label, "}"));
    });
    if (!matches) continue;
    sum += it->second;
    found = true;
  }
  return found ? sum : -1;
}

CommandResult RunCommand(const std::string& command, const std::string& input) {
  std::string input_path =
      (std::filesystem::temp_directory_path() / "routeserve-test-input-XXXXXX").string();
  const int fd = mkstemp(input_path.data());
  if (fd < 0) return {};
  {
    std::ofstream file(input_path);
    file << input;
  }
  close(fd);
  CommandResult result;
  // A group, so that a redirection of the command's own wins over these.
  FILE* pipe =
      popen(absl::StrCat("{ ", command, "\n} < ", input_path, " 2>&1").c_str(), "r");
  if (pipe != nullptr) {
    char buffer[4096];
    size_t n = 0;
    while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) result.output.append(buffer, n);
    const int status = pclose(pipe);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  std::remove(input_path.c_str());
  return result;
}

}  // namespace routeserve::testing
