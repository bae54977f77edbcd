// solver_bench: time and quality of the classical and exact solvers, per size and regime
// (docs/BENCHMARKS.md, Classical solver).
//
// For each size it solves --instances generated problems of every regime of routing/regimes.h
// (the regimes the training data mixes and routeserve-eval reports; seeds 1000 on, disjoint from
// the tests') with the default SolverOptions and prints the solver's time per request; at up to
// 12 stops also the exact solver's time and the solver's gap to the optimum. Single-threaded.
// Exit 1 when the solver returns an infeasible route, 2 on a bad flag.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "program/command_line.h"
#include "program/failure.h"
#include "program/int_list.h"
#include "routing/evaluator.h"
#include "routing/exact_solver.h"
#include "routing/generator.h"
#include "routing/instance.h"
#include "routing/regimes.h"
#include "routing/solver.h"

ABSL_FLAG(int, instances, 50, "problems per size and regime");
ABSL_FLAG(routeserve::program::IntList, sizes,
          routeserve::program::IntList({8, 10, 12, 20, 50, 100}), "stop counts, each >= 1");

namespace routeserve::routing {
namespace {

using Clock = std::chrono::steady_clock;

constexpr char kName[] = "solver_bench";
constexpr int kFirstSeed = 1000;

const program::CommandLineSpec& SolverBenchCommandLine() {
  static const program::CommandLineSpec spec = {
      .name = kName,
      .usage = "usage: solver_bench [--instances N] [--sizes 8,10,12,20,50,100]\n"
               "\n"
               "Prints, per size and regime, the classical solver's time per request and, up to "
               "12 stops,\nthe exact solver's time and the classical solver's gap to the "
               "optimum, as a markdown table.\n",
  };
  return spec;
}

double Percentile(std::vector<double> values, double q) {
  std::sort(values.begin(), values.end());
  return values[std::min(values.size() - 1, static_cast<size_t>(q * values.size()))];
}

double Mean(const std::vector<double>& values) {
  double sum = 0;
  for (double v : values) sum += v;
  return sum / values.size();
}

template <typename F>
double TimeMs(F&& f) {
  const auto start = Clock::now();
  f();
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// One row: `instances` problems of `regime` at `size` stops.
absl::Status MeasureRow(const Regime& regime, int size, int instances) {
  GeneratorOptions options = regime.options;
  options.num_stops = size;
  std::vector<double> solver_ms, exact_ms, gaps;
  for (int i = 0; i < instances; ++i) {
    const RouteProblem problem = GenerateProblem(options, kFirstSeed + i);
    const Instance instance = *Instance::Build(problem, {});
    Solution solution;
    solver_ms.push_back(TimeMs([&] { solution = Solve(instance); }));
    if (!Evaluate(instance, solution.order).feasible()) {
      return absl::InternalError(absl::StrCat("infeasible route: ", regime.name, ", ", size,
                                              " stops, seed ", kFirstSeed + i));
    }
    if (size <= kMaxExactStops) {
      absl::StatusOr<Solution> exact;
      exact_ms.push_back(TimeMs([&] { exact = SolveExact(instance); }));
      if (!exact.ok()) return exact.status();
      gaps.push_back((solution.cost - exact->cost) / exact->cost);
    }
  }
  std::printf("| %d | %s | %.3f | %.3f | %.3f |", size, regime.name, Percentile(solver_ms, 0.5),
              Percentile(solver_ms, 0.9), Percentile(solver_ms, 1.0));
  if (gaps.empty()) {
    std::printf(" | | | | |\n");
  } else {
    const int optimal =
        std::count_if(gaps.begin(), gaps.end(), [](double g) { return g < 1e-9; });
    std::printf(" %.2f | %.3f%% | %.3f%% | %.3f%% | %d%% |\n", Percentile(exact_ms, 0.5),
                100 * Mean(gaps), 100 * Percentile(gaps, 0.95), 100 * Percentile(gaps, 1.0),
                100 * optimal / static_cast<int>(gaps.size()));
  }
  std::fflush(stdout);
  return absl::OkStatus();
}

absl::Status Run(int instances, const std::vector<int>& sizes) {
  std::printf("| stops | regime | solver ms p50 | p90 | max | exact ms p50 | mean gap | p95 gap | "
              "max gap | optimal |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|\n");
  for (const int size : sizes) {
    for (const Regime& regime : Regimes()) {
      if (absl::Status row = MeasureRow(regime, size, instances); !row.ok()) return row;
    }
  }
  return absl::OkStatus();
}

}  // namespace
}  // namespace routeserve::routing

int main(int argc, char** argv) {
  namespace program = routeserve::program;
  namespace routing = routeserve::routing;
  program::ParseCommandLine(argc, argv, routing::SolverBenchCommandLine());
  const int instances = absl::GetFlag(FLAGS_instances);
  const std::vector<int> sizes = absl::GetFlag(FLAGS_sizes).values;
  if (instances < 1) {
    return program::Exit(routing::kName, program::UsageError("--instances: must be >= 1"));
  }
  if (*std::min_element(sizes.begin(), sizes.end()) < 1) {
    return program::Exit(routing::kName, program::UsageError("--sizes: each must be >= 1"));
  }
  return program::Exit(routing::kName, routing::Run(instances, sizes));
}
