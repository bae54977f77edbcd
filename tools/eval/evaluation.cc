// routeserve-eval's measurements: problems, baselines, the served path, the model alone.
#include "tools/eval/evaluation.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <thread>
#include <utility>

#include "api/request.h"
#include "batching/policy.h"
#include "model/model_runner.h"
#include "routing/evaluator.h"
#include "routing/exact_solver.h"
#include "routing/generator.h"
#include "routing/instance.h"
#include "routing/regimes.h"
#include "routing/solver.h"
#include "server/batch_proposer.h"
#include "server/model_proposer.h"

namespace routeserve::tools {
namespace {

using Clock = std::chrono::steady_clock;

struct Problem {
  int stops = 0;
  int regime = 0;
  routing::Instance instance;
};

// One problem's costs; nullopt where a method gave no route.
struct Outcome {
  double baseline = 0;
  std::optional<double> served, proposed, greedy, classical;
  bool served_feasible = true, classical_feasible = true;
  double refine_ms = 0, classical_ms = 0;
  v1::RouteSource served_source = v1::ROUTE_SOURCE_UNSPECIFIED;
};

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

// Calls body(i) for i in [0, n) on `threads` threads.
void ParallelFor(int n, int threads, const std::function<void(int)>& body) {
  std::atomic<int> next{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < std::max(1, threads); ++t) {
    pool.emplace_back([&] {
      for (int i = next++; i < n; i = next++) body(i);
    });
  }
  for (std::thread& thread : pool) thread.join();
}

routing::SolverOptions ReferenceSolverOptions() {
  const routing::SolverOptions defaults;
  routing::SolverOptions reference;
  reference.max_moves = defaults.max_moves * kReferenceBudget;
  reference.perturbation_rounds = defaults.perturbation_rounds * kReferenceBudget;
  reference.max_evaluations = defaults.max_evaluations * kReferenceBudget;
  return reference;
}

// A problem as the server builds it: generated, through its request form and back.
absl::StatusOr<routing::Instance> ServedInstance(const server::Config& config,
                                                 routing::GeneratorOptions generator,
                                                 uint64_t seed) {
  const routing::RouteProblem generated =
      routing::GenerateProblem(generator, seed, config.objective);
  absl::StatusOr<routing::RouteProblem> problem = api::ToRouteProblem(
      api::ToSuggestRequest(generated), {.max_stops = config.limits.max_stops});
  if (!problem.ok()) return problem.status();
  return routing::Instance::Build(*problem, config.objective);
}

absl::StatusOr<std::vector<Problem>> MakeProblems(const server::Config& config,
                                                  const EvaluationOptions& options) {
  std::vector<Problem> problems;
  const std::span<const routing::Regime> regimes = routing::Regimes();
  for (const int stops : options.sizes) {
    const int count = stops <= routing::kMaxExactStops ? options.per_regime
                                                       : options.per_regime_large;
    for (int r = 0; r < static_cast<int>(regimes.size()); ++r) {
      for (int i = 0; i < count; ++i) {
        routing::GeneratorOptions generator = regimes[r].options;
        generator.num_stops = stops;
        // Distinct for every (stops, regime, i) within the seed's range (the options' limits).
        const uint64_t seed = options.seed * routing::kSeedStride +
                              static_cast<uint64_t>((stops * 8 + r) * 1000 + i);
        absl::StatusOr<routing::Instance> instance = ServedInstance(config, generator, seed);
        if (!instance.ok()) return instance.status();
        problems.push_back({stops, r, *std::move(instance)});
      }
    }
  }
  return problems;
}

// The stop count of the bucket a problem of `stops` stops is batched in.
int BucketSize(const server::Config& config, int stops) {
  return config.batching.buckets[batching::BucketFor(config.batching.buckets, stops)];
}

// Proposals for every problem, in batches of one bucket of at most max_batch_size, as the
// batcher forms them.
absl::StatusOr<std::vector<server::Proposal>> ProposeAll(server::BatchProposer& proposer,
                                                         const server::Config& config,
                                                         const std::vector<Problem>& problems) {
  std::map<int, std::vector<int>> by_bucket;
  for (int i = 0; i < static_cast<int>(problems.size()); ++i) {
    by_bucket[BucketSize(config, problems[i].stops)].push_back(i);
  }
  std::vector<server::Proposal> proposals(problems.size());
  for (const auto& [bucket, indices] : by_bucket) {
    for (size_t start = 0; start < indices.size();
         start += static_cast<size_t>(config.batching.max_batch_size)) {
      const size_t end = std::min(indices.size(),
                                  start + static_cast<size_t>(config.batching.max_batch_size));
      std::vector<const routing::Instance*> batch;
      for (size_t k = start; k < end; ++k) batch.push_back(&problems[indices[k]].instance);
      std::vector<absl::StatusOr<server::Proposal>> proposed =
          proposer.Propose(batch, {.padded_size = bucket, .executor = 0});
      for (size_t k = start; k < end; ++k) {
        absl::StatusOr<server::Proposal>& proposal = proposed[k - start];
        if (!proposal.ok()) return proposal.status();
        proposals[indices[k]] = *std::move(proposal);
      }
    }
  }
  return proposals;
}

bool FromModel(const server::Proposal& proposal) {
  return proposal.source == v1::ROUTE_SOURCE_MODEL ||
         proposal.source == v1::ROUTE_SOURCE_MODEL_REFINED;
}

// Into each outcome's `cost`: the cost of its problem's proposal when the model made it.
void RecordModelCosts(const std::vector<Problem>& problems,
                      const std::vector<server::Proposal>& proposals,
                      std::vector<Outcome>& outcomes, std::optional<double> Outcome::*cost) {
  for (size_t i = 0; i < problems.size(); ++i) {
    if (FromModel(proposals[i])) {
      outcomes[i].*cost = routing::Evaluate(problems[i].instance, proposals[i].order).cost;
    }
  }
}

// A proposer of the config's model under `precision`: the served one, or with `greedy_only`
// the model alone (decodings = 1, no refinement: its proposals are the greedy decodings, and
// they fall back exactly where the served ones do). With `warm_up`, every shape runs once
// first, as at the server's start-up, so that a precision the model cannot run is the error
// the server would give.
absl::StatusOr<std::unique_ptr<server::ModelProposer>> LoadModelProposer(
    const server::Config& config, model::Precision precision, bool greedy_only, bool warm_up) {
  model::ModelRunnerOptions runner_options = server::RunnerOptionsFor(config);
  runner_options.precision = precision;
  absl::StatusOr<std::unique_ptr<model::ModelRunner>> runner =
      model::ModelRunner::Load(config.model.path, runner_options);
  if (!runner.ok()) return runner.status();
  if (warm_up) {
    absl::StatusOr<model::WarmupReport> warmed =
        (*runner)->Warmup(config.batching.buckets, config.model.decodings);
    if (!warmed.ok()) return warmed.status();
  }
  server::ModelProposerOptions proposer_options = server::ProposerOptionsFor(config);
  if (greedy_only) {
    proposer_options.decodings = 1;
    proposer_options.refine_max_moves = 0;
  }
  return std::make_unique<server::ModelProposer>(*std::move(runner), proposer_options);
}

// How the served proposals and greedy orders under `precision` compare with `proposals` and
// `greedy_orders` (the config's precision); the error the server would give when the model
// cannot run under it.
absl::StatusOr<PrecisionAgreement> Agreement(const server::Config& config,
                                             model::Precision precision,
                                             const std::vector<Problem>& problems,
                                             const std::vector<server::Proposal>& proposals,
                                             const std::vector<server::Proposal>& greedy_orders) {
  absl::StatusOr<std::unique_ptr<server::ModelProposer>> served =
      LoadModelProposer(config, precision, /*greedy_only=*/false, /*warm_up=*/true);
  if (!served.ok()) return served.status();
  absl::StatusOr<std::unique_ptr<server::ModelProposer>> greedy =
      LoadModelProposer(config, precision, /*greedy_only=*/true, /*warm_up=*/false);
  if (!greedy.ok()) return greedy.status();
  absl::StatusOr<std::vector<server::Proposal>> reduced_proposals =
      ProposeAll(**served, config, problems);
  if (!reduced_proposals.ok()) return reduced_proposals.status();
  absl::StatusOr<std::vector<server::Proposal>> reduced_greedy_orders =
      ProposeAll(**greedy, config, problems);
  if (!reduced_greedy_orders.ok()) return reduced_greedy_orders.status();

  PrecisionAgreement agreement{.precision = precision};
  for (size_t i = 0; i < problems.size(); ++i) {
    if (!FromModel(proposals[i])) continue;
    ++agreement.compared;
    if (!FromModel((*reduced_proposals)[i])) {
      ++agreement.fallbacks;
      continue;
    }
    if (greedy_orders[i].order == (*reduced_greedy_orders)[i].order) ++agreement.same_greedy;
    if (proposals[i].order == (*reduced_proposals)[i].order) ++agreement.same_proposal;
  }
  return agreement;
}

GapSummary Summarize(const std::vector<const Outcome*>& outcomes,
                     std::optional<double> Outcome::*method, bool Outcome::*feasible) {
  GapSummary summary;
  std::vector<double> gaps;
  for (const Outcome* outcome : outcomes) {
    const std::optional<double>& cost = outcome->*method;
    if (!cost.has_value()) {
      ++summary.misses;
      continue;
    }
    if (feasible != nullptr && !(outcome->*feasible)) ++summary.infeasible;
    gaps.push_back(*cost / outcome->baseline - 1);
  }
  summary.answered = static_cast<int>(gaps.size());
  if (gaps.empty()) return summary;
  std::sort(gaps.begin(), gaps.end());
  double sum = 0;
  int optimal = 0;
  for (const double gap : gaps) {
    sum += gap;
    if (gap <= 1e-9) ++optimal;
  }
  summary.mean = sum / static_cast<double>(gaps.size());
  summary.p95 = gaps[std::min(gaps.size() - 1,
                              static_cast<size_t>(std::ceil(0.95 * gaps.size())) - 1)];
  summary.max = gaps.back();
  summary.optimal_share = static_cast<double>(optimal) / static_cast<double>(gaps.size());
  return summary;
}

QualityCell Cell(int stops, std::string regime, const std::vector<const Outcome*>& outcomes) {
  QualityCell cell{.stops = stops, .regime = std::move(regime),
                   .exact_baseline = stops <= routing::kMaxExactStops,
                   .problems = static_cast<int>(outcomes.size())};
  for (const Outcome* outcome : outcomes) {
    if (outcome->served_source == v1::ROUTE_SOURCE_MODEL_REFINED) ++cell.model_refined;
    if (outcome->served_source == v1::ROUTE_SOURCE_FALLBACK_HEURISTIC) ++cell.fallbacks;
    cell.refine_ms += outcome->refine_ms / static_cast<double>(outcomes.size());
    cell.classical_ms += outcome->classical_ms / static_cast<double>(outcomes.size());
  }
  cell.served = Summarize(outcomes, &Outcome::served, &Outcome::served_feasible);
  cell.proposed = Summarize(outcomes, &Outcome::proposed, nullptr);
  cell.greedy = Summarize(outcomes, &Outcome::greedy, nullptr);
  cell.classical = Summarize(outcomes, &Outcome::classical, &Outcome::classical_feasible);
  return cell;
}

absl::StatusOr<std::vector<SpeedPoint>> MeasureSpeed(const server::Config& config,
                                                     const EvaluationOptions& options) {
  absl::StatusOr<std::unique_ptr<model::ModelRunner>> loaded =
      model::ModelRunner::Load(config.model.path, server::RunnerOptionsFor(config));
  if (!loaded.ok()) return loaded.status();
  model::ModelRunner& runner = **loaded;
  if (options.speed_stops > runner.max_stops()) {
    std::fprintf(stderr, "routeserve-eval: no speed figures: %d stops is more than the model's "
                 "max_stops, %d\n", options.speed_stops, runner.max_stops());
    return std::vector<SpeedPoint>{};
  }
  const int padded = runner.PaddedSizeFor(BucketSize(config, options.speed_stops));
  const std::span<const routing::Regime> regimes = routing::Regimes();
  std::vector<SpeedPoint> points;
  for (const int batch_size : options.speed_batch_sizes) {
    std::vector<routing::Instance> instances;
    for (int i = 0; i < batch_size; ++i) {
      routing::GeneratorOptions generator = regimes[i % regimes.size()].options;
      generator.num_stops = options.speed_stops;
      absl::StatusOr<routing::Instance> instance = ServedInstance(
          config, generator, (options.seed + 1) * routing::kSeedStride + i);
      if (!instance.ok()) return instance.status();
      instances.push_back(*std::move(instance));
    }
    std::vector<const routing::Instance*> batch;
    for (const routing::Instance& instance : instances) batch.push_back(&instance);
    for (const int decodings : {1, config.model.decodings}) {
      if (decodings == 1 && config.model.decodings == 1 && !points.empty() &&
          points.back().batch_size == batch_size) {
        continue;
      }
      runner.Run(batch, padded, decodings, 0);  // its shape's first run is not measured
      int runs = 0;
      const Clock::time_point start = Clock::now();
      while (runs < 3 || Seconds(start) < options.speed_seconds) {
        for (const auto& result : runner.Run(batch, padded, decodings, 0)) {
          if (!result.ok()) return result.status();
        }
        ++runs;
      }
      const double seconds = Seconds(start);
      points.push_back({.batch_size = batch_size, .decodings = decodings,
                        .routes_per_s = batch_size * runs / seconds,
                        .batch_ms = 1000 * seconds / runs});
    }
  }
  return points;
}

}  // namespace

absl::StatusOr<EvaluationReport> Evaluate(const server::Config& config,
                                          const EvaluationOptions& options) {
  const Clock::time_point start = Clock::now();
  const int threads = options.threads > 0
                          ? options.threads
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  absl::StatusOr<std::vector<Problem>> made = MakeProblems(config, options);
  if (!made.ok()) return made.status();
  const std::vector<Problem>& problems = *made;
  std::vector<Outcome> outcomes(problems.size());
  std::fprintf(stderr, "routeserve-eval: %zu problems\n", problems.size());

  // Baselines and the classical solver, in parallel across problems.
  const routing::SolverOptions reference = ReferenceSolverOptions();
  std::atomic<int> done{0};
  ParallelFor(static_cast<int>(problems.size()), threads, [&](int i) {
    const routing::Instance& instance = problems[i].instance;
    outcomes[i].baseline = instance.num_stops() <= routing::kMaxExactStops
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

  EvaluationReport report;
  absl::StatusOr<std::unique_ptr<server::BatchProposer>> served =
      server::CreateProposer(config);
  if (!served.ok()) return served.status();
  report.model_version = (*served)->model_version();
  report.decodings = config.model.decodings;
  report.refine_max_moves = config.refine.max_moves;
  absl::StatusOr<std::vector<server::Proposal>> proposals =
      ProposeAll(**served, config, problems);
  if (!proposals.ok()) return proposals.status();
  RecordModelCosts(problems, *proposals, outcomes, &Outcome::proposed);
  ParallelFor(static_cast<int>(problems.size()), threads, [&](int i) {
    const routing::Instance& instance = problems[i].instance;
    outcomes[i].served_source = (*proposals)[i].source;
    const Clock::time_point refine_start = Clock::now();
    const std::vector<int> refined = (*served)->Refine(instance, (*proposals)[i]);
    outcomes[i].refine_ms = 1000 * Seconds(refine_start);
    const routing::RouteEvaluation route = routing::Evaluate(instance, refined);
    outcomes[i].served = route.cost;
    outcomes[i].served_feasible = route.feasible();
  });
  std::fprintf(stderr, "routeserve-eval: served path done (%.0f s)\n", Seconds(start));

  if (!config.model.path.empty()) {
    absl::StatusOr<std::unique_ptr<server::ModelProposer>> greedy = LoadModelProposer(
        config, config.model.precision, /*greedy_only=*/true, /*warm_up=*/false);
    if (!greedy.ok()) return greedy.status();
    const model::ModelRunner& runner = *(*greedy)->runner();
    report.device = runner.device();
    report.precision = std::string(model::PrecisionName(runner.precision()));
    report.max_stops = runner.max_stops();
    absl::StatusOr<std::vector<server::Proposal>> greedy_orders =
        ProposeAll(**greedy, config, problems);
    if (!greedy_orders.ok()) return greedy_orders.status();
    RecordModelCosts(problems, *greedy_orders, outcomes, &Outcome::greedy);

    for (const model::Precision precision : options.precisions) {
      absl::StatusOr<PrecisionAgreement> agreement =
          Agreement(config, precision, problems, *proposals, *greedy_orders);
      if (!agreement.ok()) {
        agreement = PrecisionAgreement{.precision = precision,
                                       .error = std::string(agreement.status().message())};
      }
      report.agreement.push_back(*std::move(agreement));
    }

    absl::StatusOr<std::vector<SpeedPoint>> speed = MeasureSpeed(config, options);
    if (!speed.ok()) return speed.status();
    report.speed = *std::move(speed);
  }

  const std::span<const routing::Regime> regimes = routing::Regimes();
  for (const int stops : options.sizes) {
    std::vector<const Outcome*> all;
    for (int r = 0; r < static_cast<int>(regimes.size()); ++r) {
      std::vector<const Outcome*> cell;
      for (size_t i = 0; i < problems.size(); ++i) {
        if (problems[i].stops == stops && problems[i].regime == r) cell.push_back(&outcomes[i]);
      }
      all.insert(all.end(), cell.begin(), cell.end());
      report.cells.push_back(Cell(stops, regimes[r].name, cell));
    }
    report.cells.push_back(Cell(stops, "all", all));
  }
  report.seconds = Seconds(start);
  return report;
}

}  // namespace routeserve::tools
