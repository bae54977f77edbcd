// routeserve-eval: route quality of the served path and speed of the model (DESIGN §8; what
// it measures and how: tools/eval/evaluation.h).
//
//   routeserve-eval [--config FILE] [--set section.key=value]... [--sizes 8,10,12,20,50]
//                   [--per_regime N] [--per_regime_large N] [--seed S] [--precisions bf16,fp16]
//                   [--speed_batch_sizes 1,8,64] [--speed_stops N] [--speed_seconds X]
//                   [--threads T] [--json FILE]
//
// Prints a table; --json also writes the figures as JSON. Exit code 0 when it ran (whatever the
// figures), 1 when it could not (a bad config, a model that cannot load), 2 on a bad flag.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "model/runner_options.h"
#include "routing/regimes.h"
#include "config/config.h"
#include "tools/eval/evaluation.h"

namespace routeserve::tools {
namespace {

constexpr char kUsage[] =
    "usage: routeserve-eval [--config FILE] [--set section.key=value]... [options]\n"
    "\n"
    "Measures the served path's routes against exact optima (up to 12 stops) and a reference\n"
    "solver (above), per regime, and the model alone: greedy routes, reduced precision, speed.\n"
    "\n"
    "  --config FILE            the server's config (default config/routeserve.yaml)\n"
    "  --set section.key=value  override one config key; repeatable\n"
    "  --sizes LIST             stop counts to evaluate (default 8,10,12,20,50; each 1..120)\n"
    "  --per_regime N           problems per regime and size up to 12 stops (default 30)\n"
    "  --per_regime_large N     problems per regime and size above 12 stops (default 10)\n"
    "  --seed S                 problems' seed range (default 9; training data uses others)\n"
    "  --precisions LIST        reduced precisions to compare with the config's, or none\n"
    "                           (default bf16,fp16)\n"
    "  --speed_batch_sizes LIST batch sizes of the model's speed (default 1,8,64)\n"
    "  --speed_stops N          stops of the speed problems (default 20)\n"
    "  --speed_seconds X        each speed figure runs at least X seconds (default 1)\n"
    "  --threads T              threads for the baselines (default: one per core)\n"
    "  --json FILE              also write the figures as JSON\n";

struct CommandLine {
  std::string config_path = "config/routeserve.yaml";
  std::vector<std::string> overrides;
  std::string json_path;
  EvaluationOptions options;
};

std::optional<std::vector<int>> IntList(const std::string& text, int low, int high) {
  std::vector<int> values;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    int value = 0;
    if (!absl::SimpleAtoi(part, &value) || value < low || value > high) return std::nullopt;
    values.push_back(value);
  }
  return values;
}

// An error message naming the flag, or nullopt; "" asks for the usage.
std::optional<std::string> ParseCommandLine(int argc, char** argv, CommandLine& out) {
  EvaluationOptions& o = out.options;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") return "";
    if (i + 1 >= argc) return absl::StrCat(flag, ": needs a value");
    const std::string value = argv[++i];
    bool ok = true;
    if (flag == "--config") {
      out.config_path = value;
    } else if (flag == "--set") {
      out.overrides.push_back(value);
    } else if (flag == "--json") {
      out.json_path = value;
    } else if (flag == "--sizes") {
      std::optional<std::vector<int>> sizes = IntList(value, 1, 120);
      ok = sizes.has_value();
      if (ok) o.sizes = *sizes;
    } else if (flag == "--per_regime") {
      ok = absl::SimpleAtoi(value, &o.per_regime) && o.per_regime >= 1 && o.per_regime <= 1000;
    } else if (flag == "--per_regime_large") {
      ok = absl::SimpleAtoi(value, &o.per_regime_large) && o.per_regime_large >= 1 &&
           o.per_regime_large <= 1000;
    } else if (flag == "--seed") {
      ok = absl::SimpleAtoi(value, &o.seed) && o.seed < 1'000'000;
    } else if (flag == "--precisions") {
      o.precisions.clear();
      if (value != "none") {
        for (absl::string_view name : absl::StrSplit(value, ',')) {
          absl::StatusOr<model::Precision> precision = model::ParsePrecision(name);
          if (!precision.ok()) return absl::StrCat(flag, ": ", precision.status().message());
          o.precisions.push_back(*precision);
        }
      }
    } else if (flag == "--speed_batch_sizes") {
      std::optional<std::vector<int>> sizes = IntList(value, 1, 4096);
      ok = sizes.has_value();
      if (ok) o.speed_batch_sizes = *sizes;
    } else if (flag == "--speed_stops") {
      ok = absl::SimpleAtoi(value, &o.speed_stops) && o.speed_stops >= 1;
    } else if (flag == "--speed_seconds") {
      ok = absl::SimpleAtod(value, &o.speed_seconds) && o.speed_seconds >= 0;
    } else if (flag == "--threads") {
      ok = absl::SimpleAtoi(value, &o.threads) && o.threads >= 0;
    } else {
      return absl::StrCat("unknown flag ", flag);
    }
    if (!ok) return absl::StrCat(flag, ": bad value '", value, "'");
  }
  return std::nullopt;
}

int Main(int argc, char** argv) {
  CommandLine command_line;
  if (std::optional<std::string> error = ParseCommandLine(argc, argv, command_line)) {
    if (error->empty()) {
      std::cout << kUsage;
      return 0;
    }
    std::cerr << "routeserve-eval: " << *error << "\n" << kUsage;
    return 2;
  }
  absl::StatusOr<config::Config> config =
      config::LoadConfig(command_line.config_path, command_line.overrides);
  if (!config.ok()) {
    std::cerr << "routeserve-eval: " << config.status().message() << "\n";
    return 1;
  }
  const EvaluationOptions& options = command_line.options;
  for (const int stops : options.sizes) {
    if (stops > config->limits.max_stops || stops > config->batching.buckets.back()) {
      std::cerr << "routeserve-eval: --sizes: " << stops
                << " stops is more than the config admits (limits.max_stops, batching.buckets)\n";
      return 2;
    }
  }
  if (options.speed_stops > config->batching.buckets.back()) {
    std::cerr << "routeserve-eval: --speed_stops: above the largest bucket\n";
    return 2;
  }
  absl::StatusOr<EvaluationReport> report = Evaluate(*config, options);
  if (!report.ok()) {
    std::cerr << "routeserve-eval: " << report.status().message() << "\n";
    return 1;
  }
  std::cout << FormatReport(*report, options);
  if (!command_line.json_path.empty()) {
    std::ofstream json(command_line.json_path);
    json << ReportJson(*report, options);
    if (!json) {
      std::cerr << "routeserve-eval: cannot write " << command_line.json_path << "\n";
      return 1;
    }
  }
  return 0;
}

}  // namespace
}  // namespace routeserve::tools

int main(int argc, char** argv) { return routeserve::tools::Main(argc, argv); }
