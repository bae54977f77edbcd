// ProcessCollector: procfs parsed per proc(5), one family per value found.
#include "metrics/process_collector.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

namespace routeserve::metrics {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream file(path);
  if (!file) return std::nullopt;
  std::stringstream text;
  text << file.rdbuf();
  if (file.bad()) return std::nullopt;
  return text.str();
}

// The fields of <proc>/self/stat this collector uses, in clock ticks and bytes (proc(5)).
struct Stat {
  double utime_ticks = 0;
  double stime_ticks = 0;
  double start_ticks = 0;  // since boot
  double virtual_bytes = 0;
  double resident_pages = 0;
};

// "pid (comm) state ppid ...": the command may hold spaces and parentheses, so fields are
// counted from the last ')'. Field n (1-based, as proc(5) numbers them) is fields[n - 3].
std::optional<Stat> ParseStat(const std::string& text) {
  const size_t comm_end = text.rfind(')');
  if (comm_end == std::string::npos) return std::nullopt;
  const std::vector<absl::string_view> fields =
      absl::StrSplit(absl::string_view(text).substr(comm_end + 1), ' ', absl::SkipWhitespace());
  constexpr size_t kLastField = 24;  // rss
  if (fields.size() < kLastField - 2) return std::nullopt;
  const auto field = [&fields](int n, double& out) {
    return absl::SimpleAtod(fields[n - 3], &out);
  };
  Stat stat;
  if (!field(14, stat.utime_ticks) || !field(15, stat.stime_ticks) ||
      !field(22, stat.start_ticks) || !field(23, stat.virtual_bytes) ||
      !field(24, stat.resident_pages)) {
    return std::nullopt;
  }
  return stat;
}

// <proc>/stat's "btime N": the boot time, unix seconds.
std::optional<double> ParseBootTime(const std::string& text) {
  for (const absl::string_view line : absl::StrSplit(text, '\n')) {
    absl::string_view rest = line;
    double seconds = 0;
    if (absl::ConsumePrefix(&rest, "btime ") && absl::SimpleAtod(rest, &seconds)) return seconds;
  }
  return std::nullopt;
}

// <proc>/self/limits' "Max open files  SOFT  HARD  files": the soft limit; none when unlimited.
std::optional<double> ParseMaxOpenFiles(const std::string& text) {
  for (const absl::string_view line : absl::StrSplit(text, '\n')) {
    absl::string_view rest = line;
    if (!absl::ConsumePrefix(&rest, "Max open files")) continue;
    const std::vector<absl::string_view> values = absl::StrSplit(rest, ' ', absl::SkipWhitespace());
    double soft = 0;
    if (!values.empty() && absl::SimpleAtod(values[0], &soft)) return soft;
    return std::nullopt;
  }
  return std::nullopt;
}

// Entries of <proc>/self/fd (the descriptor listing it counts itself, as other clients do).
std::optional<double> CountOpenFds(const std::string& dir) {
  std::error_code error;
  std::filesystem::directory_iterator entries(dir, error);
  if (error) return std::nullopt;
  double count = 0;
  for (auto it = std::filesystem::begin(entries); it != std::filesystem::end(entries);
       it.increment(error)) {
    if (error) return std::nullopt;
    ++count;
  }
  return count;
}

void Add(std::vector<MetricFamily>& families, std::string name, std::string help,
         MetricType type, double value) {
  ClientMetric metric;
  if (type == MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  families.push_back(MetricFamily{std::move(name), std::move(help), type, {std::move(metric)}});
}

}  // namespace

ProcessCollector::ProcessCollector(std::string proc) : proc_(std::move(proc)) {}

std::vector<MetricFamily> ProcessCollector::Collect() const {
  std::vector<MetricFamily> families;
  const double ticks_per_second = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page_bytes = static_cast<double>(sysconf(_SC_PAGESIZE));
  const std::optional<std::string> stat_text = ReadFile(proc_ + "/self/stat");
  if (const std::optional<Stat> stat = stat_text ? ParseStat(*stat_text) : std::nullopt) {
    Add(families, "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
        MetricType::Counter, (stat->utime_ticks + stat->stime_ticks) / ticks_per_second);
    Add(families, "process_resident_memory_bytes", "Resident memory size in bytes.",
        MetricType::Gauge, stat->resident_pages * page_bytes);
    Add(families, "process_virtual_memory_bytes", "Virtual memory size in bytes.",
        MetricType::Gauge, stat->virtual_bytes);
    const std::optional<std::string> boot_text = ReadFile(proc_ + "/stat");
    if (const std::optional<double> boot = boot_text ? ParseBootTime(*boot_text) : std::nullopt) {
      Add(families, "process_start_time_seconds",
          "Start time of the process since unix epoch in seconds.", MetricType::Gauge,
          *boot + stat->start_ticks / ticks_per_second);
    }
  }
  if (const std::optional<double> open = CountOpenFds(proc_ + "/self/fd")) {
    Add(families, "process_open_fds", "Number of open file descriptors.", MetricType::Gauge,
        *open);
  }
  const std::optional<std::string> limits_text = ReadFile(proc_ + "/self/limits");
  if (const std::optional<double> max = limits_text ? ParseMaxOpenFiles(*limits_text)
                                                    : std::nullopt) {
    Add(families, "process_max_fds", "Maximum number of open file descriptors.",
        MetricType::Gauge, *max);
  }
  return families;
}

}  // namespace routeserve::metrics
