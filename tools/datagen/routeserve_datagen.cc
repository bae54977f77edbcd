// routeserve-datagen: solved problems for the route model's training recipe and evaluation.
//
//   routeserve-datagen --count N --stops SPEC --seed S [--exact_up_to 12] [--rounds R]
//                      [--threads T] --out FILE.jsonl
//
// Draws N problems from the instance generator (routing/generator.h) over a mix of regimes,
// solves each — exactly (routing/exact_solver.h) up to --exact_up_to stops, with the classical
// solver and R perturbation rounds above — and writes one JSON object per line:
//
//   {"seed": <problem seed>, "regime": "<name>", "request": <SuggestRequest as proto JSON>,
//    "order": [stop indices in visiting order], "cost": <float>, "optimal": <bool>}
//
// The cost is under the default objective (routing/objective.h), which the recipe stores in the
// model's metadata. Problem i's seed is S * 1,000,003 + i, so files made with different --seed
// never share a problem: training and evaluation use disjoint seeds. The output is the same for
// the same flags whatever --threads.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "api/request.h"
#include "google/protobuf/util/json_util.h"
#include "routing/exact_solver.h"
#include "routing/generator.h"
#include "routing/instance.h"
#include "routing/regimes.h"
#include "routing/solver.h"
#include "tools/common/stops_spec.h"

namespace routeserve::tools {
namespace {

constexpr char kUsage[] =
    "usage: routeserve-datagen --count N --stops SPEC --seed S [--exact_up_to K] [--rounds R]\n"
    "                          [--threads T] --out FILE.jsonl\n"
    "\n"
    "Writes N generated problems with their best known routes, one JSON object per line.\n"
    "\n"
    "  --count N          problems to write (>= 1)\n"
    "  --stops SPEC       stops per problem: 12, a range 3-14 (uniform) or a list 10,20,50\n"
    "  --seed S           problem i's seed is S * 1000003 + i (default 1)\n"
    "  --exact_up_to K    solve exactly up to K stops, at most 12 (default 12)\n"
    "  --rounds R         perturbation rounds of the classical solver above K (default 400)\n"
    "  --threads T        solving threads (default: one per core)\n"
    "  --out FILE         the JSON-lines file to write\n";

struct Options {
  int64_t count = 0;
  StopsSpec stops;
  uint64_t seed = 1;
  int exact_up_to = routing::kMaxExactStops;
  int64_t rounds = 400;
  int threads = 0;
  std::string out;
};

std::optional<std::string> ParseArgs(int argc, char** argv, Options& options) {
  std::map<std::string, std::string> values;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") return "";
    if (flag.rfind("--", 0) != 0 || i + 1 >= argc) return absl::StrCat("bad argument ", flag);
    if (!values.emplace(flag, argv[++i]).second) return absl::StrCat(flag, " given twice");
  }
  for (const auto& [flag, value] : values) {
    bool ok = true;
    if (flag == "--count") {
      ok = absl::SimpleAtoi(value, &options.count) && options.count >= 1;
    } else if (flag == "--stops") {
      absl::StatusOr<StopsSpec> stops = StopsSpec::Parse(value);
      if (!stops.ok()) return std::string(stops.status().message());
      options.stops = *stops;
    } else if (flag == "--seed") {
      ok = absl::SimpleAtoi(value, &options.seed);
    } else if (flag == "--exact_up_to") {
      ok = absl::SimpleAtoi(value, &options.exact_up_to) && options.exact_up_to >= 0 &&
           options.exact_up_to <= routing::kMaxExactStops;
    } else if (flag == "--rounds") {
      ok = absl::SimpleAtoi(value, &options.rounds) && options.rounds >= 0;
    } else if (flag == "--threads") {
      ok = absl::SimpleAtoi(value, &options.threads) && options.threads >= 0;
    } else if (flag == "--out") {
      options.out = value;
    } else {
      return absl::StrCat("unknown argument ", flag);
    }
    if (!ok) return absl::StrCat(flag, ": bad value '", value, "'");
  }
  if (options.count == 0) return "--count is required";
  if (options.out.empty()) return "--out is required";
  return std::nullopt;
}

// One problem, solved, as its JSON line.
std::string SolvedLine(const Options& options, int64_t index) {
  const uint64_t seed = options.seed * routing::kSeedStride + static_cast<uint64_t>(index);
  const routing::Regime& regime = routing::Regimes()[seed % routing::Regimes().size()];
  routing::GeneratorOptions generator = regime.options;
  generator.num_stops = options.stops.SizeOf(index, seed * 0x9e3779b97f4a7c15ULL);
  const routing::RouteProblem problem = routing::GenerateProblem(generator, seed);
  const routing::Instance instance = *routing::Instance::Build(problem, {});

  routing::Solution solution;
  bool optimal = false;
  if (instance.num_stops() <= options.exact_up_to) {
    solution = *routing::SolveExact(instance);
    optimal = true;
  } else {
    routing::SolverOptions solver;
    solver.perturbation_rounds = options.rounds;
    solver.max_evaluations = INT64_MAX;
    solution = routing::Solve(instance, solver);
  }

  std::string request;
  google::protobuf::util::JsonPrintOptions print;
  print.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(api::ToSuggestRequest(problem), &request,
                                                    print);
  return absl::StrCat("{\"seed\": ", seed, ", \"regime\": \"", regime.name, "\", \"request\": ",
                      request, ", \"order\": [", absl::StrJoin(solution.order, ", "),
                      "], \"cost\": ", absl::StrFormat("%.17g", solution.cost),
                      ", \"optimal\": ", optimal ? "true" : "false", "}");
}

int Run(const Options& options) {
  std::ofstream out(options.out);
  if (!out) {
    std::cerr << "routeserve-datagen: cannot write " << options.out << "\n";
    return 1;
  }
  const int threads = options.threads > 0
                          ? options.threads
                          : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  // Workers take problems in turn; lines are written in problem order as they complete.
  std::vector<std::optional<std::string>> lines(static_cast<size_t>(options.count));
  std::atomic<int64_t> next{0};
  std::mutex mu;
  int64_t written = 0;
  auto write_ready = [&] {  // mu held
    while (written < options.count && lines[written].has_value()) {
      out << *lines[written] << '\n';
      lines[written].reset();
      ++written;
      if (written % 1000 == 0) std::cerr << "routeserve-datagen: " << written << " problems\n";
    }
  };
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      for (int64_t index; (index = next++) < options.count;) {
        std::string line = SolvedLine(options, index);
        std::lock_guard lock(mu);
        lines[index] = std::move(line);
        write_ready();
      }
    });
  }
  for (std::thread& worker : workers) worker.join();
  out.flush();
  if (!out) {
    std::cerr << "routeserve-datagen: writing " << options.out << " failed\n";
    return 1;
  }
  std::cerr << "routeserve-datagen: wrote " << written << " problems to " << options.out << "\n";
  return 0;
}

}  // namespace
}  // namespace routeserve::tools

int main(int argc, char** argv) {
  routeserve::tools::Options options;
  if (std::optional<std::string> error = routeserve::tools::ParseArgs(argc, argv, options)) {
    if (!error->empty()) std::cerr << "routeserve-datagen: " << *error << "\n\n";
    std::cerr << routeserve::tools::kUsage;
    return error->empty() ? 0 : 2;
  }
  return routeserve::tools::Run(options);
}
