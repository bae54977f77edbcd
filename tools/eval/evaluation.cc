// routeserve-eval's measurements put together: the baselines, the served path through the
// server's planner, the model alone, the reduced precisions, the speed; and the report.
#include "tools/eval/evaluation.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>
#include <span>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "model/model_runner.h"
#include "planning/model_proposer.h"
#include "planning/reloading_proposer.h"
#include "routing/evaluator.h"
#include "routing/exact_solver.h"
#include "routing/regimes.h"
#include "routing/solver.h"
#include "tools/common/cpu_time.h"
#include "tools/eval/baselines.h"
#include "tools/eval/plan_all.h"
#include "tools/eval/problems.h"
#include "tools/eval/speed.h"
#include "tools/eval/statistics.h"

namespace routeserve::tools {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

routing::SolverOptions ReferenceSolverOptions() {
  const routing::SolverOptions defaults;
  routing::SolverOptions reference;
  reference.max_moves = defaults.max_moves * kReferenceBudget;
  reference.perturbation_rounds = defaults.perturbation_rounds * kReferenceBudget;
  reference.max_evaluations = defaults.max_evaluations * kReferenceBudget;
  return reference;
}

// The model alone under `precision`: one greedy decoding, no refinement, so that the planner's
// results are the greedy decodings (falling back exactly where the served ones do).
absl::StatusOr<std::unique_ptr<planning::ModelProposer>> GreedyProposer(
    const config::Config& config, model::Precision precision) {
  model::ModelRunnerOptions runner_options = planning::RunnerOptionsFor(config);
  runner_options.precision = precision;
  absl::StatusOr<std::unique_ptr<model::ModelRunner>> runner =
      model::ModelRunner::Load(config.model.path, runner_options);
  if (!runner.ok()) return runner.status();
  planning::ModelProposerOptions proposer_options = planning::ProposerOptionsFor(config);
  proposer_options.decodings = 1;
  proposer_options.refine_max_moves = 0;
  return std::make_unique<planning::ModelProposer>(*std::move(runner), proposer_options);
}

// How the served routes and the greedy routes under `precision` compare with `served` and
// `greedy` (the config's precision); the error the server would give when the model cannot run
// under it (loading it and warming up every shape, as at start-up).
absl::StatusOr<PrecisionAgreement> Agreement(
    const config::Config& config, model::Precision precision,
    const std::vector<const routing::RouteProblem*>& problems,
    const std::vector<planning::PlanResult>& served,
    const std::vector<planning::PlanResult>& greedy) {
  config::Config reduced = config;
  reduced.model.precision = precision;
  absl::StatusOr<std::unique_ptr<planning::BatchProposer>> reduced_proposer =
      planning::CreateProposer(reduced);
  if (!reduced_proposer.ok()) return reduced_proposer.status();
  absl::StatusOr<std::vector<planning::PlanResult>> reduced_served =
      PlanAll(reduced, *std::move(reduced_proposer), problems);
  if (!reduced_served.ok()) return reduced_served.status();
  absl::StatusOr<std::unique_ptr<planning::ModelProposer>> greedy_proposer =
      GreedyProposer(config, precision);
  if (!greedy_proposer.ok()) return greedy_proposer.status();
  absl::StatusOr<std::vector<planning::PlanResult>> reduced_greedy =
      PlanAll(config, *std::move(greedy_proposer), problems);
  if (!reduced_greedy.ok()) return reduced_greedy.status();

  PrecisionAgreement agreement{.precision = precision};
  for (size_t i = 0; i < problems.size(); ++i) {
    if (!planning::FromModel(served[i].source)) continue;
    ++agreement.compared;
    if (!planning::FromModel((*reduced_served)[i].source)) {
      ++agreement.fallbacks;
      continue;
    }
    if (greedy[i].order == (*reduced_greedy)[i].order) ++agreement.same_greedy;
    if (served[i].order == (*reduced_served)[i].order) ++agreement.same_route;
  }
  return agreement;
}

// Into `outcomes`: each problem's baseline (the exact optimum, or the reference above
// routing::kMaxExactStops stops; from `baselines_path` where it has the problem, and added to
// it) and the classical solver's cost and time, in parallel.
absl::Status SolveBaselines(const config::Config& config,
                            const std::vector<EvalProblem>& problems, int threads,
                            const std::string& baselines_path, std::vector<Outcome>& outcomes) {
  const Clock::time_point start = Clock::now();
  const routing::SolverOptions reference = ReferenceSolverOptions();
  Baselines kept;
  if (!baselines_path.empty()) {
    absl::StatusOr<Baselines> read = ReadBaselines(baselines_path);
    if (!read.ok()) return read.status();
    kept = *std::move(read);
  }
  std::vector<uint64_t> keys(problems.size());
  for (size_t i = 0; i < problems.size(); ++i) keys[i] = BaselineKey(problems[i].instance);
  std::atomic<int> done{0};
  ParallelFor(static_cast<int>(problems.size()), threads, [&](int i) {
    const routing::Instance& instance = problems[i].instance;
    const auto known = kept.find(keys[i]);  // read only while the threads run
    outcomes[i].baseline = known != kept.end() ? known->second
                           : instance.num_stops() <= routing::kMaxExactStops
                               ? routing::SolveExact(instance)->cost
                               : routing::Solve(instance, reference).cost;
    const Clock::time_point solve_start = Clock::now();
    const routing::Solution classical = routing::Solve(instance, config.solver);
    outcomes[i].classical_ms = 1000 * Seconds(solve_start);
    outcomes[i].classical = classical.cost;
    outcomes[i].classical_feasible = routing::Evaluate(instance, classical.order).feasible();
    if (const int n = ++done; n % 100 == 0) {
      std::fprintf(stderr, "routeserve-eval: baselines %d/%zu (%.0f s)\n", n, problems.size(),
                   Seconds(start));
    }
  });
  if (baselines_path.empty()) return absl::OkStatus();
  for (size_t i = 0; i < problems.size(); ++i) kept[keys[i]] = outcomes[i].baseline;
  return WriteBaselines(baselines_path, kept);
}

// Into `outcomes`: each problem's classical route with as many perturbation rounds as fit in
// its served_cpu_ms of this thread's CPU, in parallel.
void SolveAtEqualCpu(const config::Config& config, const std::vector<EvalProblem>& problems,
                     int threads, std::vector<Outcome>& outcomes) {
  ParallelFor(static_cast<int>(problems.size()), threads, [&](int i) {
    const double start = CpuSeconds(CLOCK_THREAD_CPUTIME_ID);
    const double budget = outcomes[i].served_cpu_ms / 1000;
    routing::SolverOptions options = config.solver;
    options.perturbation_rounds = std::numeric_limits<int64_t>::max();
    options.max_evaluations = std::numeric_limits<int64_t>::max();
    options.out_of_time = [start, budget] {
      return CpuSeconds(CLOCK_THREAD_CPUTIME_ID) - start >= budget;
    };
    routing::SolverStats stats;
    outcomes[i].classical_equal_cpu = routing::Solve(problems[i].instance, options, &stats).cost;
    outcomes[i].equal_cpu_rounds = stats.rounds;
  });
}

// The model alone (greedy), its agreement under each reduced precision and its speed: into
// `outcomes` and `report`.
absl::Status MeasureModelAlone(const config::Config& config, const EvaluationOptions& options,
                               const std::vector<const routing::RouteProblem*>& requests,
                               const std::vector<planning::PlanResult>& served,
                               std::vector<Outcome>& outcomes, EvaluationReport& report) {
  absl::StatusOr<std::unique_ptr<planning::ModelProposer>> greedy_proposer =
      GreedyProposer(config, config.model.precision);
  if (!greedy_proposer.ok()) return greedy_proposer.status();
  const model::ModelRunner& runner = *(*greedy_proposer)->runner();
  report.device = runner.device();
  report.precision = std::string(model::PrecisionName(runner.precision()));
  report.max_stops = runner.max_stops();
  absl::StatusOr<std::vector<planning::PlanResult>> greedy =
      PlanAll(config, *std::move(greedy_proposer), requests);
  if (!greedy.ok()) return greedy.status();
  for (size_t i = 0; i < requests.size(); ++i) {
    if (planning::FromModel((*greedy)[i].source)) outcomes[i].greedy = (*greedy)[i].proposed_cost;
  }
  for (const model::Precision precision : options.precisions) {
    absl::StatusOr<PrecisionAgreement> agreement =
        Agreement(config, precision, requests, served, *greedy);
    if (!agreement.ok()) {
      agreement = PrecisionAgreement{.precision = precision,
                                     .error = std::string(agreement.status().message())};
    }
    report.agreement.push_back(*std::move(agreement));
  }
  absl::StatusOr<std::vector<SpeedPoint>> speed = MeasureSpeed(config, options);
  if (!speed.ok()) return speed.status();
  report.speed = *std::move(speed);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<EvaluationReport> Evaluate(const config::Config& config,
                                          const EvaluationOptions& options) {
  const Clock::time_point start = Clock::now();
  const int threads = options.threads > 0
                          ? options.threads
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  absl::StatusOr<std::vector<EvalProblem>> made = MakeProblems(config, options);
  if (!made.ok()) return made.status();
  const std::vector<EvalProblem>& problems = *made;
  std::vector<const routing::RouteProblem*> requests;
  for (const EvalProblem& problem : problems) requests.push_back(&problem.problem);
  std::vector<Outcome> outcomes(problems.size());
  std::fprintf(stderr, "routeserve-eval: %zu problems\n", problems.size());

  if (absl::Status baselines =
          SolveBaselines(config, problems, threads, options.baselines_path, outcomes);
      !baselines.ok()) {
    return baselines;
  }

  // The served path: the server's planner with the config's proposer, one size at a time (the
  // closed tours of a size apart) so that its CPU per problem is known by size.
  EvaluationReport report;
  report.decodings = config.model.decodings;
  report.refine_max_moves = config.refine.max_moves;
  std::vector<planning::PlanResult> served(problems.size());
  std::vector<std::pair<int, bool>> runs;  // (stops, closed tours)
  for (const int stops : options.sizes) runs.push_back({stops, false});
  for (const int stops : options.closed_tour_sizes) runs.push_back({stops, true});
  for (const auto& [stops, closed_tours] : runs) {
    std::vector<size_t> of_size;
    std::vector<const routing::RouteProblem*> size_requests;
    for (size_t i = 0; i < problems.size(); ++i) {
      if (problems[i].stops != stops || (problems[i].regime == kClosedTour) != closed_tours) {
        continue;
      }
      of_size.push_back(i);
      size_requests.push_back(requests[i]);
    }
    absl::StatusOr<std::unique_ptr<planning::BatchProposer>> proposer =
        planning::CreateProposer(config);
    if (!proposer.ok()) return proposer.status();
    report.model_version = (*proposer)->model_version();
    const double cpu_start = CpuSeconds(CLOCK_PROCESS_CPUTIME_ID);
    absl::StatusOr<std::vector<planning::PlanResult>> results =
        PlanAll(config, *std::move(proposer), size_requests);
    if (!results.ok()) return results.status();
    // Each problem's share: its own refinement, and an equal part of the rest (batching, the
    // model's forward passes, the executors), so that a problem hard for the search gets the
    // time it took the served path too.
    const double cpu_ms = 1000 * (CpuSeconds(CLOCK_PROCESS_CPUTIME_ID) - cpu_start);
    double refine_ms = 0;
    for (const planning::PlanResult& result : *results) {
      refine_ms += 1000 * absl::ToDoubleSeconds(result.timings.refine);
    }
    const double shared_ms =
        std::max(0.0, cpu_ms - refine_ms) / static_cast<double>(std::max<size_t>(1, of_size.size()));
    for (size_t j = 0; j < of_size.size(); ++j) {
      served[of_size[j]] = std::move((*results)[j]);
      outcomes[of_size[j]].served_cpu_ms =
          1000 * absl::ToDoubleSeconds(served[of_size[j]].timings.refine) + shared_ms;
    }
  }
  for (size_t i = 0; i < problems.size(); ++i) {
    const planning::PlanResult& result = served[i];
    Outcome& outcome = outcomes[i];
    outcome.served_source = result.source;
    outcome.served = result.evaluation.cost;
    outcome.served_feasible = result.evaluation.feasible();
    outcome.refine_ms = 1000 * absl::ToDoubleSeconds(result.timings.refine);
    if (planning::FromModel(result.source)) outcome.proposed = result.proposed_cost;
  }
  std::fprintf(stderr, "routeserve-eval: served path done (%.0f s)\n", Seconds(start));
  SolveAtEqualCpu(config, problems, threads, outcomes);
  std::fprintf(stderr, "routeserve-eval: classical at equal CPU done (%.0f s)\n",
               Seconds(start));

  if (!config.model.path.empty()) {
    absl::Status model_alone =
        MeasureModelAlone(config, options, requests, served, outcomes, report);
    if (!model_alone.ok()) return model_alone;
  }

  // The outcomes of one cell: a size's problems of one regime, or its closed tours.
  auto outcomes_of = [&](int stops, int regime) {
    std::vector<const Outcome*> cell;
    for (size_t i = 0; i < problems.size(); ++i) {
      if (problems[i].stops == stops && problems[i].regime == regime) {
        cell.push_back(&outcomes[i]);
      }
    }
    return cell;
  };
  const std::span<const routing::Regime> regimes = routing::Regimes();
  for (const int stops : options.sizes) {
    std::vector<const Outcome*> all;
    for (int r = 0; r < static_cast<int>(regimes.size()); ++r) {
      const std::vector<const Outcome*> cell = outcomes_of(stops, r);
      all.insert(all.end(), cell.begin(), cell.end());
      report.cells.push_back(Cell(stops, regimes[r].name, cell));
    }
    report.cells.push_back(Cell(stops, "all", all));
  }
  for (const int stops : options.closed_tour_sizes) {
    report.cells.push_back(Cell(stops, kClosedTourName, outcomes_of(stops, kClosedTour)));
  }
  report.seconds = Seconds(start);
  return report;
}

}  // namespace routeserve::tools
