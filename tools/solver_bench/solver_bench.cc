// solver_bench: time and quality of the classical and exact solvers, per size and regime.
//
//   build/solver_bench [--instances N] [--sizes 8,10,12,20,50,100]
//
// For each size it solves N generated instances per regime (seeds 1000 on, disjoint from the
// tests') with the default SolverOptions and prints the solver's time per request; at up to 12
// stops also the exact solver's time and the solver's gap to the optimum. Single-threaded.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "routing/evaluator.h"
#include "routing/exact_solver.h"
#include "routing/generator.h"
#include "routing/instance.h"
#include "routing/solver.h"

namespace routeserve::routing {
namespace {

using Clock = std::chrono::steady_clock;

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

struct Regime {
  const char* name;
  GeneratorOptions options;
};

std::vector<Regime> Regimes() {
  GeneratorOptions base;
  base.end_position_probability = 0;
  std::vector<Regime> regimes;
  Regime none{"no windows", base};
  none.options.windows = TimeWindowTightness::kNone;
  none.options.on_board_share = 0;
  regimes.push_back(none);
  Regime loose{"loose windows", base};
  regimes.push_back(loose);
  Regime tight{"tight windows", base};
  tight.options.windows = TimeWindowTightness::kTight;
  regimes.push_back(tight);
  Regime on_board{"orders on board", base};
  on_board.options.on_board_share = 0.6;
  regimes.push_back(on_board);
  Regime end{"end position", base};
  end.options.end_position_probability = 1;
  regimes.push_back(end);
  Regime matrix{"caller matrix", base};
  matrix.options.caller_matrix = true;
  regimes.push_back(matrix);
  return regimes;
}

int Run(int instances, const std::vector<int>& sizes) {
  std::printf("| stops | regime | solver ms p50 | p90 | max | exact ms p50 | mean gap | p95 gap | max gap | optimal |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|\n");
  for (int size : sizes) {
    for (const Regime& regime : Regimes()) {
      GeneratorOptions options = regime.options;
      options.num_stops = size;
      std::vector<double> solver_ms, exact_ms, gaps;
      for (int i = 0; i < instances; ++i) {
        const RouteProblem problem = GenerateProblem(options, 1000 + i);
        const Instance instance = *Instance::Build(problem, {});
        Solution solution;
        solver_ms.push_back(TimeMs([&] { solution = Solve(instance); }));
        if (!Evaluate(instance, solution.order).feasible()) {
          std::fprintf(stderr, "infeasible route: %s, %d stops, seed %d\n", regime.name, size, 1000 + i);
          return 1;
        }
        if (size <= kMaxExactStops) {
          absl::StatusOr<Solution> exact;
          exact_ms.push_back(TimeMs([&] { exact = SolveExact(instance); }));
          gaps.push_back((solution.cost - exact->cost) / exact->cost);
        }
      }
      std::printf("| %d | %s | %.3f | %.3f | %.3f |", size, regime.name, Percentile(solver_ms, 0.5),
                  Percentile(solver_ms, 0.9), Percentile(solver_ms, 1.0));
      if (gaps.empty()) {
        std::printf(" | | | | |\n");
      } else {
        const int optimal = std::count_if(gaps.begin(), gaps.end(), [](double g) { return g < 1e-9; });
        std::printf(" %.2f | %.3f%% | %.3f%% | %.3f%% | %d%% |\n", Percentile(exact_ms, 0.5),
                    100 * Mean(gaps), 100 * Percentile(gaps, 0.95), 100 * Percentile(gaps, 1.0),
                    100 * optimal / static_cast<int>(gaps.size()));
      }
      std::fflush(stdout);
    }
  }
  return 0;
}

}  // namespace
}  // namespace routeserve::routing

int main(int argc, char** argv) {
  int instances = 50;
  std::vector<int> sizes = {8, 10, 12, 20, 50, 100};
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--instances" && i + 1 < argc && absl::SimpleAtoi(argv[i + 1], &instances)) {
      ++i;
    } else if (flag == "--sizes" && i + 1 < argc) {
      sizes.clear();
      for (absl::string_view part : absl::StrSplit(argv[++i], ',')) {
        int size = 0;
        if (!absl::SimpleAtoi(part, &size) || size < 1) {
          std::fprintf(stderr, "--sizes: '%s' is not a stop count\n", std::string(part).c_str());
          return 2;
        }
        sizes.push_back(size);
      }
    } else {
      std::fprintf(stderr, "usage: solver_bench [--instances N] [--sizes 8,10,12,20,50,100]\n");
      return 2;
    }
  }
  return routeserve::routing::Run(instances, sizes);
}
