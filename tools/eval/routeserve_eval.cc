// routeserve-eval: route quality of the served path and speed of the model (README.md,
// Development; what it measures and how: tools/eval/evaluation.h; the figures:
// docs/BENCHMARKS.md).
//
// Prints a table; --json also writes the figures as JSON. Exit code 0 when it ran (whatever the
// figures), 1 when it could not (a bad config, a model that cannot load), 2 on a bad flag.
#include <fstream>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "model/runner_options.h"
#include "program/command_line.h"
#include "program/failure.h"
#include "program/int_list.h"
#include "config/config.h"
#include "tools/eval/eval_report.h"
#include "tools/eval/evaluation.h"

ABSL_FLAG(std::string, config, "config/routeserve.yaml", "the server's config (YAML)");
ABSL_FLAG(std::vector<std::string>, set, {},
          "override one config key, section.key=value (value in YAML syntax); repeatable, later "
          "ones win");
ABSL_FLAG(routeserve::program::IntList, sizes, routeserve::program::IntList({8, 10, 12, 20, 50}),
          "stop counts to evaluate, each 1 to 120");
// A string, not an IntList: an IntList names at least one value, and the default is none.
ABSL_FLAG(std::string, closed_tour_sizes, "",
          "also closed tours (uniform visits, no windows, back to the start) of these stop "
          "counts, comma-separated, each 1 to 128, as many as per_regime(_large) up to 250 a "
          "size (default: none)");
ABSL_FLAG(int, per_regime, 30, "problems per regime and size up to 12 stops, 1 to 1000");
ABSL_FLAG(int, per_regime_large, 10, "problems per regime and size above 12 stops, 1 to 1000");
ABSL_FLAG(uint64_t, seed, 9,
          "the problems' seed range, below 1000000 (the training data uses others)");
ABSL_FLAG(std::string, precisions, "bf16,fp16",
          "reduced precisions to compare with the config's, or none");
ABSL_FLAG(routeserve::program::IntList, speed_batch_sizes, routeserve::program::IntList({1, 8, 64}),
          "batch sizes of the model's speed, each 1 to 4096");
ABSL_FLAG(int, speed_stops, 20, "stops of the speed problems");
ABSL_FLAG(double, speed_seconds, 1, "each speed figure runs at least this many seconds");
ABSL_FLAG(int, threads, 0, "threads for the baselines (0: one per core)");
ABSL_FLAG(std::string, json, "", "also write the figures as JSON to FILE");
ABSL_FLAG(std::string, baselines, "",
          "keep the baselines in FILE: read those it has, solve the others and add them (the "
          "reference is most of a run's time)");

namespace routeserve::tools {
namespace {

constexpr char kName[] = "routeserve-eval";

const program::CommandLineSpec& EvalCommandLine() {
  static const program::CommandLineSpec spec = {
      .name = kName,
      .usage = "usage: routeserve-eval [--config FILE] [--set section.key=value]... [flags]\n"
               "\n"
               "Measures the served path's routes against exact optima (up to 12 stops) and a "
               "reference\nsolver (above), per regime, and the model alone: greedy routes, "
               "reduced precision, speed.\n"
               "\n"
               "Exit status: 0 when it ran, whatever the figures; 1 when it could not (a bad "
               "config, a\nmodel that cannot load); 2 on a bad flag.\n",
      .repeated = {&FLAGS_set},
  };
  return spec;
}

absl::Status Bad(absl::string_view flag, absl::string_view what) {
  return program::UsageError(absl::StrCat(flag, ": ", what));
}

// Every value of an IntList flag in [low, high].
absl::Status AllInRange(absl::string_view flag, const std::vector<int>& values, int low,
                        int high) {
  for (const int value : values) {
    if (value < low || value > high) {
      return Bad(flag, absl::StrCat(value, " is not in [", low, ", ", high, "]"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<EvaluationOptions> OptionsFromFlags() {
  EvaluationOptions o;
  o.sizes = absl::GetFlag(FLAGS_sizes).values;
  if (absl::Status s = AllInRange("--sizes", o.sizes, 1, 120); !s.ok()) return s;
  if (const std::string tours = absl::GetFlag(FLAGS_closed_tour_sizes); !tours.empty()) {
    program::IntList sizes;
    std::string error;
    if (!program::AbslParseFlag(tours, &sizes, &error)) return Bad("--closed_tour_sizes", error);
    o.closed_tour_sizes = sizes.values;
  }
  if (absl::Status s = AllInRange("--closed_tour_sizes", o.closed_tour_sizes, 1, 128); !s.ok()) {
    return s;
  }
  o.per_regime = absl::GetFlag(FLAGS_per_regime);
  if (o.per_regime < 1 || o.per_regime > 1000) return Bad("--per_regime", "not in [1, 1000]");
  o.per_regime_large = absl::GetFlag(FLAGS_per_regime_large);
  if (o.per_regime_large < 1 || o.per_regime_large > 1000) {
    return Bad("--per_regime_large", "not in [1, 1000]");
  }
  o.seed = absl::GetFlag(FLAGS_seed);
  if (o.seed >= 1'000'000) return Bad("--seed", "must be below 1000000");
  o.precisions.clear();
  if (const std::string precisions = absl::GetFlag(FLAGS_precisions); precisions != "none") {
    for (absl::string_view name : absl::StrSplit(precisions, ',')) {
      absl::StatusOr<model::Precision> precision = model::ParsePrecision(name);
      if (!precision.ok()) return Bad("--precisions", precision.status().message());
      o.precisions.push_back(*precision);
    }
  }
  o.speed_batch_sizes = absl::GetFlag(FLAGS_speed_batch_sizes).values;
  if (absl::Status s = AllInRange("--speed_batch_sizes", o.speed_batch_sizes, 1, 4096);
      !s.ok()) {
    return s;
  }
  o.speed_stops = absl::GetFlag(FLAGS_speed_stops);
  if (o.speed_stops < 1) return Bad("--speed_stops", "must be >= 1");
  o.speed_seconds = absl::GetFlag(FLAGS_speed_seconds);
  if (!(o.speed_seconds >= 0)) return Bad("--speed_seconds", "must be >= 0");
  o.threads = absl::GetFlag(FLAGS_threads);
  if (o.threads < 0) return Bad("--threads", "must be >= 0");
  o.baselines_path = absl::GetFlag(FLAGS_baselines);
  return o;
}

// Sizes the config cannot serve are usage errors too.
absl::Status CheckAgainstConfig(const EvaluationOptions& options, const config::Config& config) {
  for (const auto& [flag, sizes] : {std::pair{"--sizes", &options.sizes},
                                     std::pair{"--closed_tour_sizes", &options.closed_tour_sizes}}) {
    for (const int stops : *sizes) {
      if (stops > config.limits.max_stops || stops > config.batching.buckets.back()) {
        return Bad(flag, absl::StrCat(stops, " stops is more than the config admits "
                                             "(limits.max_stops, batching.buckets)"));
      }
    }
  }
  if (options.speed_stops > config.batching.buckets.back()) {
    return Bad("--speed_stops", "above the largest bucket");
  }
  return absl::OkStatus();
}

absl::Status Run(const EvaluationOptions& options) {
  absl::StatusOr<config::Config> config =
      config::LoadConfig(absl::GetFlag(FLAGS_config), absl::GetFlag(FLAGS_set));
  if (!config.ok()) return config.status();
  if (absl::Status checked = CheckAgainstConfig(options, *config); !checked.ok()) return checked;
  absl::StatusOr<EvaluationReport> report = Evaluate(*config, options);
  if (!report.ok()) return report.status();
  std::cout << FormatReport(*report, options);
  if (const std::string path = absl::GetFlag(FLAGS_json); !path.empty()) {
    absl::StatusOr<std::string> json = ReportJson(*report, options);
    if (!json.ok()) return json.status();
    std::ofstream out(path);
    out << *json;
    if (!out) return absl::DataLossError(absl::StrCat("cannot write ", path));
  }
  return absl::OkStatus();
}

}  // namespace
}  // namespace routeserve::tools

int main(int argc, char** argv) {
  namespace program = routeserve::program;
  namespace tools = routeserve::tools;
  program::ParseCommandLine(argc, argv, tools::EvalCommandLine());
  absl::StatusOr<tools::EvaluationOptions> options = tools::OptionsFromFlags();
  if (!options.ok()) return program::Exit(tools::kName, options.status());
  return program::Exit(tools::kName, tools::Run(*options));
}
