// routeserve-datagen: solved problems for the route model's training recipe and evaluation.
//
//   routeserve-datagen --count N --stops SPEC --seed S [--exact_up_to 12] [--rounds R]
//                      [--threads T] --out FILE.jsonl
//   routeserve-datagen --label CAPTURED.jsonl [--exact_up_to 12] [--rounds R] [--threads T]
//                      --out FILE.jsonl
//
// Draws N problems from the instance generator (routing/generator.h) over a mix of regimes, or
// with --label takes the requests of a file the server captured (capture.*,
// capture/request_capture.h: a "request" on each line), solves each — exactly
// (routing/exact_solver.h) up to --exact_up_to stops, with the classical solver and R
// perturbation rounds above — and writes one JSON object per line:
//
//   {"seed": <problem seed>, "regime": "<name>", "request": <SuggestRequest as proto JSON>,
//    "order": [stop indices in visiting order], "cost": <float>, "optimal": <bool>}
//
// A captured request has no seed, and its regime is "captured". The cost is under the default
// objective (routing/objective.h), which the recipe stores in the model's metadata. Problem i's
// seed is S * 1,000,003 + i, so files made with different --seed never share a problem:
// training and evaluation use disjoint seeds; S is below 1,000,000, so that every problem seed
// is a plain integer in JSON. The output is the same for the same flags and input whatever
// --threads (keys in alphabetical order, tools/common/json.h). A captured line that is not
// JSON, has no request or holds a request the server would refuse is an error naming the file,
// the line and why.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "api/request.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "base/random.h"
#include "program/command_line.h"
#include "program/failure.h"
#include "routing/exact_solver.h"
#include "routing/generator.h"
#include "routing/instance.h"
#include "routing/regimes.h"
#include "routing/solver.h"
#include "tools/common/json.h"
#include "tools/common/stops_spec.h"

ABSL_FLAG(std::optional<int64_t>, count, std::nullopt, "problems to write (>= 1); required");
ABSL_FLAG(std::string, stops, "",
          "stops per problem: 12, a range 3-14 (uniform) or a list 10,20,50; required");
ABSL_FLAG(uint64_t, seed, 1, "problem i's seed is S * 1000003 + i; S below 1000000");
ABSL_FLAG(int, exact_up_to, routeserve::routing::kMaxExactStops,
          "solve exactly up to K stops, at most 12");
ABSL_FLAG(int64_t, rounds, 400, "perturbation rounds of the classical solver above K");
ABSL_FLAG(int, threads, 0, "solving threads (0: one per core)");
ABSL_FLAG(std::string, label, "",
          "instead of generating problems, label the requests of this file, captured by the "
          "server (capture.path)");
ABSL_FLAG(std::string, out, "", "the JSON-lines file to write; required");

namespace routeserve::tools {
namespace {

constexpr char kName[] = "routeserve-datagen";
// Seeds S at or above this would give problem seeds JSON cannot hold as plain integers.
constexpr uint64_t kSeedLimit = 1'000'000;

const program::CommandLineSpec& DatagenCommandLine() {
  static const program::CommandLineSpec spec = {
      .name = kName,
      .usage = "usage: routeserve-datagen --count N --stops SPEC --seed S [--exact_up_to K] "
               "[--rounds R]\n"
               "                          [--threads T] --out FILE.jsonl\n"
               "       routeserve-datagen --label CAPTURED.jsonl [--exact_up_to K] [--rounds R] "
               "[--threads T]\n"
               "                          --out FILE.jsonl\n"
               "\n"
               "Writes N generated problems, or the requests a server captured, with their best "
               "known routes,\none JSON object per line.\n",
  };
  return spec;
}

struct Options {
  std::string label;  // a captured file to label; empty: generate
  int64_t count = 0;
  StopsSpec stops;
  uint64_t seed = 1;
  int exact_up_to = routing::kMaxExactStops;
  int64_t rounds = 400;
  int threads = 0;
  std::string out;
};

absl::Status Bad(absl::string_view flag, absl::string_view what) {
  return program::UsageError(absl::StrCat(flag, ": ", what));
}

absl::StatusOr<Options> OptionsFromFlags() {
  Options options;
  options.label = absl::GetFlag(FLAGS_label);
  const std::optional<int64_t> count = absl::GetFlag(FLAGS_count);
  if (!options.label.empty()) {
    if (count.has_value() || !absl::GetFlag(FLAGS_stops).empty()) {
      return Bad("--label", "labels the file's requests: --count and --stops do not go with it");
    }
  } else {
    if (!count.has_value()) return program::UsageError("--count is required");
    if (*count < 1) return Bad("--count", "must be >= 1");
    options.count = *count;
    if (absl::GetFlag(FLAGS_stops).empty()) return program::UsageError("--stops is required");
    absl::StatusOr<StopsSpec> stops = StopsSpec::Parse(absl::GetFlag(FLAGS_stops));
    if (!stops.ok()) return Bad("--stops", stops.status().message());
    options.stops = *stops;
  }
  options.seed = absl::GetFlag(FLAGS_seed);
  if (options.seed >= kSeedLimit) return Bad("--seed", absl::StrCat("must be below ", kSeedLimit));
  options.exact_up_to = absl::GetFlag(FLAGS_exact_up_to);
  if (options.exact_up_to < 0 || options.exact_up_to > routing::kMaxExactStops) {
    return Bad("--exact_up_to", absl::StrCat("must be in [0, ", routing::kMaxExactStops, "]"));
  }
  options.rounds = absl::GetFlag(FLAGS_rounds);
  if (options.rounds < 0) return Bad("--rounds", "must be >= 0");
  options.threads = absl::GetFlag(FLAGS_threads);
  if (options.threads < 0) return Bad("--threads", "must be >= 0");
  options.out = absl::GetFlag(FLAGS_out);
  if (options.out.empty()) return program::UsageError("--out is required");
  return options;
}

// A problem's line: its request, its best known route and, for a generated one, its seed.
absl::StatusOr<std::string> SolvedLine(const Options& options, const v1::SuggestRequest& request,
                                       const routing::RouteProblem& problem,
                                       std::optional<uint64_t> seed, absl::string_view regime) {
  absl::StatusOr<routing::Instance> instance = routing::Instance::Build(problem, {});
  if (!instance.ok()) return instance.status();
  routing::Solution solution;
  bool optimal = false;
  if (instance->num_stops() <= options.exact_up_to) {
    solution = *routing::SolveExact(*instance);
    optimal = true;
  } else {
    routing::SolverOptions solver;
    solver.perturbation_rounds = options.rounds;
    solver.max_evaluations = INT64_MAX;
    solution = routing::Solve(*instance, solver);
  }

  absl::StatusOr<json::Value> request_json =
      json::FromMessage(request, /*preserve_proto_field_names=*/true);
  if (!request_json.ok()) return request_json.status();
  json::Object line;
  if (seed.has_value()) line.Set("seed", json::Number(static_cast<double>(*seed)));
  return json::ToJson(std::move(line)
                          .Set("regime", json::String(regime))
                          .Set("request", *std::move(request_json))
                          .Set("order", json::NumberList(solution.order))
                          .Set("cost", json::Number(solution.cost))
                          .Set("optimal", json::Bool(optimal))
                          .Build(),
                      json::Layout::kOneLine);
}

// Generated problem `index`, solved.
absl::StatusOr<std::string> GeneratedLine(const Options& options, int64_t index) {
  const uint64_t seed = options.seed * routing::kSeedStride + static_cast<uint64_t>(index);
  const routing::Regime& regime = routing::Regimes()[seed % routing::Regimes().size()];
  routing::GeneratorOptions generator = regime.options;
  generator.num_stops = options.stops.SizeOf(index, seed * base::SplitMix64::kGamma);
  const routing::RouteProblem problem = routing::GenerateProblem(generator, seed);
  return SolvedLine(options, api::ToSuggestRequest(problem), problem, seed, regime.name);
}

// A captured line's request, solved; an error says why it cannot be.
absl::StatusOr<std::string> CapturedLine(const Options& options, const std::string& text) {
  google::protobuf::Struct line;
  if (!google::protobuf::util::JsonStringToMessage(text, &line).ok()) {
    return absl::InvalidArgumentError("not a JSON object");
  }
  const auto found = line.fields().find("request");
  if (found == line.fields().end()) return absl::InvalidArgumentError("no \"request\"");
  std::string request_json;
  v1::SuggestRequest request;
  if (!google::protobuf::util::MessageToJsonString(found->second, &request_json).ok() ||
      !google::protobuf::util::JsonStringToMessage(request_json, &request).ok()) {
    return absl::InvalidArgumentError("\"request\" is not a SuggestRequest");
  }
  absl::StatusOr<routing::RouteProblem> problem =
      api::ToRouteProblem(request, api::RequestLimits{});
  if (!problem.ok()) return problem.status();
  return SolvedLine(options, request, *problem, std::nullopt, "captured");
}

absl::Status Run(Options options) {
  // With --label, the captured lines, read whole before the output is opened (it may be the
  // same file's rotated copy, never the file itself).
  std::vector<std::string> captured;
  if (!options.label.empty()) {
    std::ifstream in(options.label);
    if (!in) return absl::NotFoundError(absl::StrCat("--label: cannot read ", options.label));
    for (std::string line; std::getline(in, line);) captured.push_back(std::move(line));
    if (captured.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("--label: ", options.label, " is empty"));
    }
    options.count = static_cast<int64_t>(captured.size());
  }
  auto line_of = [&](int64_t index) -> absl::StatusOr<std::string> {
    if (options.label.empty()) return GeneratedLine(options, index);
    absl::StatusOr<std::string> line = CapturedLine(options, captured[index]);
    if (!line.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(options.label, ":", index + 1, ": ", line.status().message()));
    }
    return line;
  };
  std::ofstream out(options.out);
  if (!out) return absl::UnavailableError(absl::StrCat("cannot write ", options.out));
  const int threads = options.threads > 0
                          ? options.threads
                          : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  // Workers take problems in turn; lines are written in problem order as they complete.
  std::vector<std::optional<std::string>> lines(static_cast<size_t>(options.count));
  std::atomic<int64_t> next{0};
  std::mutex mu;
  int64_t written = 0;
  absl::Status failed;  // the first line that could not be made; the workers stop
  auto write_ready = [&] {  // mu held
    while (written < options.count && lines[written].has_value()) {
      out << *lines[written] << '\n';
      lines[written].reset();
      ++written;
      if (written % 1000 == 0) std::cerr << kName << ": " << written << " problems\n";
    }
  };
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      for (int64_t index; (index = next++) < options.count;) {
        absl::StatusOr<std::string> line = line_of(index);
        std::lock_guard lock(mu);
        if (!line.ok()) {
          if (failed.ok()) failed = line.status();
          next = options.count;
          return;
        }
        lines[index] = *std::move(line);
        write_ready();
      }
    });
  }
  for (std::thread& worker : workers) worker.join();
  if (!failed.ok()) return failed;
  out.flush();
  if (!out) return absl::DataLossError(absl::StrCat("writing ", options.out, " failed"));
  std::cerr << kName << ": wrote " << written << " problems to " << options.out << "\n";
  return absl::OkStatus();
}

}  // namespace
}  // namespace routeserve::tools

int main(int argc, char** argv) {
  namespace program = routeserve::program;
  namespace tools = routeserve::tools;
  program::ParseCommandLine(argc, argv, tools::DatagenCommandLine());
  absl::StatusOr<tools::Options> options = tools::OptionsFromFlags();
  if (!options.ok()) return program::Exit(tools::kName, options.status());
  return program::Exit(tools::kName, tools::Run(*options));
}
