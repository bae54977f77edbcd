// solver_bench: time and quality of the classical and exact solvers, per size and regime
// (docs/BENCHMARKS.md, Classical solver).
//
// For each size it solves --instances generated problems of every regime of routing/regimes.h
// (the regimes the training data mixes and routeserve-eval reports; seeds 1000 on, disjoint from
// the tests') with the default SolverOptions and prints the solver's time per request; at up to
// 12 stops also the exact solver's time and the solver's gap to the optimum. Single-threaded.
//
// With --candidates k,... it compares instead the granular local search (candidate lists of
// each stop's k nearest by travel time) with the exhaustive one on the same problems:
// CPU time per solve (the thread's, settings interleaved problem by problem) and the gap to the
// exhaustive search's cost and to the best cost any setting found; with --equal_time, also each
// granular setting given more perturbation rounds (and evaluations), as many as bring its time
// to the exhaustive search's. Time per solve is linear in the rounds to a good approximation,
// so the rounds are worked out from two measured points, 0 and the default's rounds, over all
// the size's problems.
// Exit 1 when the solver returns an infeasible route, 2 on a bad flag.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
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
#include "tools/common/cpu_time.h"

ABSL_FLAG(int, instances, 50, "problems per size and regime");
ABSL_FLAG(routeserve::program::IntList, sizes,
          routeserve::program::IntList({8, 10, 12, 20, 50, 100}), "stop counts, each >= 1");
ABSL_FLAG(routeserve::program::IntList, candidates, routeserve::program::IntList({0}),
          "candidate-list sizes k to compare with the exhaustive search, each >= 0 (0: the "
          "exhaustive search alone, the per-regime table)");
ABSL_FLAG(bool, equal_time, true,
          "with --candidates: also run each granular setting at the exhaustive search's time");

namespace routeserve::routing {
namespace {

using Clock = std::chrono::steady_clock;

constexpr char kName[] = "solver_bench";
constexpr int kFirstSeed = 1000;

const program::CommandLineSpec& SolverBenchCommandLine() {
  static const program::CommandLineSpec spec = {
      .name = kName,
      .usage = "usage: solver_bench [--instances N] [--sizes 8,10,12,20,50,100]\n"
               "                    [--candidates 5,8,12 "
               "[--noequal_time]]\n"
               "\n"
               "Prints, per size and regime, the classical solver's time per request and, up to "
               "12 stops,\nthe exact solver's time and the classical solver's gap to the "
               "optimum, as a markdown table.\nWith --candidates, compares the granular local "
               "search with the exhaustive one instead,\nat the same rounds and at the same "
               "time.\n",
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

// The granular search against the exhaustive one (--candidates).

// One way of running the solver: the exhaustive search, or candidate lists of each node's k
// nearest; with the default's rounds and evaluations, or `budget_scale` times them.
struct Setting {
  std::string name;
  int k = 0;
  double budget_scale = 1;

  SolverOptions Options() const {
    SolverOptions options;
    options.candidates_k = k;
    options.perturbation_rounds = std::llround(options.perturbation_rounds * budget_scale);
    // The evaluations grow with the rounds, so that the rounds are what ends the search.
    options.max_evaluations =
        std::llround(options.max_evaluations * std::max(1.0, budget_scale));
    return options;
  }
};

struct BenchProblem {
  std::string regime;
  Instance instance;
};

// What one setting did on each problem.
struct Outcome {
  Setting setting;
  std::vector<double> ms;
  std::vector<double> cost;
  double total_ms = 0;
  double mean_evaluations = 0;
};

// One size's problems (their regimes) and every setting's outcome on them.
struct SizeResult {
  int size = 0;
  std::vector<std::string> regimes;
  std::vector<Outcome> outcomes;
};

// The solver's thread CPU time for one solve, in ms: unlike the wall clock, it leaves out the
// time a shared machine gives to others.
double SolveCpuMs(const Instance& instance, const SolverOptions& options, Solution& solution,
                  SolverStats& stats) {
  const double start = tools::CpuSeconds(CLOCK_THREAD_CPUTIME_ID);
  solution = Solve(instance, options, &stats);
  return 1000 * (tools::CpuSeconds(CLOCK_THREAD_CPUTIME_ID) - start);
}

// Runs every setting on every problem, the settings one after the other on each problem in
// turn, so that a machine whose speed drifts during the run weighs on all settings alike.
absl::StatusOr<std::vector<Outcome>> RunSettings(const std::vector<Setting>& settings,
                                                 const std::vector<BenchProblem>& problems) {
  std::vector<Outcome> outcomes;
  std::vector<SolverOptions> options;
  for (const Setting& setting : settings) {
    outcomes.push_back({setting, {}, {}, 0, 0});
    options.push_back(setting.Options());
  }
  for (const BenchProblem& problem : problems) {
    for (size_t s = 0; s < settings.size(); ++s) {
      Solution solution;
      SolverStats stats;
      const double ms = SolveCpuMs(problem.instance, options[s], solution, stats);
      if (!Evaluate(problem.instance, solution.order).feasible()) {
        return absl::InternalError(absl::StrCat("infeasible route: ", settings[s].name, ", ",
                                                problem.regime));
      }
      Outcome& outcome = outcomes[s];
      outcome.ms.push_back(ms);
      outcome.cost.push_back(solution.cost);
      outcome.total_ms += ms;
      outcome.mean_evaluations += static_cast<double>(stats.evaluations) / problems.size();
    }
  }
  return outcomes;
}

// (cost - reference) / reference for the problems in [begin, end).
std::vector<double> Gaps(const std::vector<double>& cost, const std::vector<double>& reference,
                         size_t begin, size_t end) {
  std::vector<double> gaps;
  for (size_t i = begin; i < end; ++i) gaps.push_back((cost[i] - reference[i]) / reference[i]);
  return gaps;
}

double Share(const std::vector<double>& gaps, bool below) {
  const auto count = std::count_if(gaps.begin(), gaps.end(), [below](double gap) {
    return below ? gap < -1e-9 : gap > 1e-9;
  });
  return 100.0 * count / gaps.size();
}

// Each problem's best cost over every setting.
std::vector<double> BestKnown(const std::vector<Outcome>& outcomes) {
  std::vector<double> best = outcomes.front().cost;
  for (const Outcome& outcome : outcomes) {
    for (size_t i = 0; i < best.size(); ++i) best[i] = std::min(best[i], outcome.cost[i]);
  }
  return best;
}

void PrintComparison(int size, const std::vector<Outcome>& outcomes) {
  const std::vector<double>& exhaustive = outcomes.front().cost;
  const std::vector<double> best = BestKnown(outcomes);
  const size_t n = exhaustive.size();
  for (const Outcome& outcome : outcomes) {
    const std::vector<double> to_exhaustive = Gaps(outcome.cost, exhaustive, 0, n);
    const std::vector<double> to_best = Gaps(outcome.cost, best, 0, n);
    std::printf("| %d | %s | %lld | %.2f | %.2f | %.0f | %+.3f%% | %+.3f%% | %+.3f%% | %.0f%% | "
                "%.0f%% | %.3f%% | %.3f%% | %.3f%% |\n",
                size, outcome.setting.name.c_str(),
                static_cast<long long>(outcome.setting.Options().perturbation_rounds),
                Percentile(outcome.ms, 0.5), outcome.total_ms / n, outcome.mean_evaluations / 1000,
                100 * Mean(to_exhaustive), 100 * Percentile(to_exhaustive, 0.95),
                100 * Percentile(to_exhaustive, 1.0), Share(to_exhaustive, true),
                Share(to_exhaustive, false), 100 * Mean(to_best), 100 * Percentile(to_best, 0.95),
                100 * Percentile(to_best, 1.0));
  }
  std::fflush(stdout);
}

// Per regime: each setting's mean gap to the best known, in the order of the outcomes.
void PrintRegimes(const SizeResult& result) {
  const std::vector<double> best = BestKnown(result.outcomes);
  const std::vector<std::string>& regimes = result.regimes;
  size_t begin = 0;
  while (begin < regimes.size()) {
    size_t end = begin;
    while (end < regimes.size() && regimes[end] == regimes[begin]) ++end;
    std::printf("| %d | %s |", result.size, regimes[begin].c_str());
    for (const Outcome& outcome : result.outcomes) {
      std::printf(" %.3f%% |", 100 * Mean(Gaps(outcome.cost, best, begin, end)));
    }
    std::printf("\n");
    begin = end;
  }
}

// The settings at the default's rounds: the exhaustive search first, then each k.
std::vector<Setting> SameRoundSettings(const std::vector<int>& ks) {
  std::vector<Setting> settings = {{"exhaustive"}};
  for (const int k : ks) {
    if (k == 0) continue;
    settings.push_back({absl::StrCat("k=", k), k});
  }
  return settings;
}

absl::StatusOr<SizeResult> CompareSize(int size, int instances,
                                       const std::vector<Setting>& settings, bool equal_time) {
  SizeResult result{size, {}, {}};
  std::vector<BenchProblem> problems;
  for (const Regime& regime : Regimes()) {
    GeneratorOptions options = regime.options;
    options.num_stops = size;
    for (int i = 0; i < instances; ++i) {
      problems.push_back(
          {regime.name, *Instance::Build(GenerateProblem(options, kFirstSeed + i), {})});
      result.regimes.push_back(regime.name);
    }
  }
  // With --equal_time, each granular setting also runs its descent alone (no rounds): time per
  // solve is about linear in the rounds, so that and its time at the default's rounds give the
  // rounds that bring it to the exhaustive search's time.
  std::vector<Setting> measured = settings;
  if (equal_time) {
    for (size_t s = 1; s < settings.size(); ++s) {
      measured.push_back(settings[s]);
      measured.back().budget_scale = 0;
    }
  }
  absl::StatusOr<std::vector<Outcome>> first = RunSettings(measured, problems);
  if (!first.ok()) return first.status();
  result.outcomes.assign(first->begin(), first->begin() + settings.size());
  if (!equal_time) return result;
  std::vector<Setting> longer;
  const double exhaustive_ms = result.outcomes.front().total_ms;
  for (size_t s = 1; s < settings.size(); ++s) {
    const double default_ms = result.outcomes[s].total_ms;
    const double descent_ms = (*first)[settings.size() + s - 1].total_ms;
    Setting setting = settings[s];
    // Too noisy to tell when the rounds seem free: keep the default's rounds.
    setting.budget_scale = default_ms > descent_ms
                               ? std::max(0.0, (exhaustive_ms - descent_ms) /
                                                   (default_ms - descent_ms))
                               : 1.0;
    setting.name += ", equal time";
    longer.push_back(setting);
  }
  absl::StatusOr<std::vector<Outcome>> second = RunSettings(longer, problems);
  if (!second.ok()) return second.status();
  result.outcomes.insert(result.outcomes.end(), second->begin(), second->end());
  return result;
}

absl::Status Compare(int instances, const std::vector<int>& sizes, const std::vector<int>& ks,
                     bool equal_time) {
  const std::vector<Setting> settings = SameRoundSettings(ks);
  std::printf("Granular vs exhaustive local search, %d problems per regime, %zu regimes; gaps "
              "per problem, to the exhaustive search's cost and to the best any setting found.\n\n",
              instances, Regimes().size());
  std::printf("| stops | search | rounds | ms p50 | ms mean | evaluations (k) | vs exhaustive "
              "mean | p95 | max | better | worse | vs best mean | p95 | max |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  std::fflush(stdout);
  std::vector<SizeResult> results;
  for (const int size : sizes) {
    absl::StatusOr<SizeResult> result = CompareSize(size, instances, settings, equal_time);
    if (!result.ok()) return result.status();
    PrintComparison(size, result->outcomes);
    results.push_back(*std::move(result));
  }
  std::printf("\nMean gap to the best known, per regime:\n\n| stops | regime |");
  for (const Outcome& outcome : results.front().outcomes) {
    std::printf(" %s |", outcome.setting.name.c_str());
  }
  std::printf("\n|---|---|");
  for (size_t i = 0; i < results.front().outcomes.size(); ++i) std::printf("---|");
  std::printf("\n");
  for (const SizeResult& result : results) PrintRegimes(result);
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
  const std::vector<int> ks = absl::GetFlag(FLAGS_candidates).values;
  if (*std::min_element(ks.begin(), ks.end()) < 0) {
    return program::Exit(routing::kName, program::UsageError("--candidates: each must be >= 0"));
  }
  if (*std::max_element(ks.begin(), ks.end()) == 0) {
    return program::Exit(routing::kName, routing::Run(instances, sizes));
  }
  return program::Exit(routing::kName,
                       routing::Compare(instances, sizes, ks, absl::GetFlag(FLAGS_equal_time)));
}
