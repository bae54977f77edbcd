// The route quality and model speed measurements routeserve-eval runs (docs/BENCHMARKS.md,
// Route quality of the served path; the report: eval_report.h).
//
// QUALITY: generated problems (routing/regimes.h), `per_regime` of each regime at each size,
//   from seeds disjoint from the training data's, each solved by:
//     served     the served path: the server's planner (planning::BatchingPlanner) with
//                planning::CreateProposer of the config (the shipped model, its decodings,
//                refinement and fallback; or the classical solver when the config names no
//                model): its batcher, executors and refine pool, the code the server runs, less
//                gRPC (tools/eval/plan_all.h);
//     proposed   the served path's proposals before refinement (the best of the decodings);
//     greedy     the model alone, one greedy decoding (decodings = 1, no refinement), through
//                the same planner;
//     classical  routing::Solve with the config's solver options;
//     classical at equal CPU
//                routing::Solve with the config's solver options but as many perturbation
//                rounds as fit in the CPU the served path spent on the problem (its own
//                refinement, and an equal share of the rest of the process's CPU over the
//                served run of its size: batching, the model, the executors; the solver's own
//                thread CPU time counted): what the classical-only server would give in the
//                time the served path took;
//   and compared with the baseline: the exact optimum up to routing::kMaxExactStops stops, above
//   that the reference — routing::Solve with kReferenceBudget times the default budget, frozen
//   here so that figures stay comparable whatever the config. A problem the model does not
//   answer (more stops than its max_stops, an invalid order, an error) is a miss for greedy and
//   proposed, and answers from the fallback in served, as in the server.
// PRECISION: the served routes and the greedy routes under each reduced precision, against the
//   config's precision's, problem by problem; a precision the device or model cannot run is
//   reported with the error the server would give at start-up.
// SPEED: the model alone (ModelRunner::Run, features and checks included) on batches of
//   `speed_stops` stops, routes per second at each batch size, greedy and with the config's
//   decodings.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "model/runner_options.h"
#include "config/config.h"

namespace routeserve::tools {

// The reference's budget relative to routing::SolverOptions' defaults.
inline constexpr int kReferenceBudget = 100;

struct EvaluationOptions {
  std::vector<int> sizes = {8, 10, 12, 20, 50};
  // Sizes of closed tours to report besides (tools/eval/problems.h, kClosedTour): the classic
  // tour problem, uniform visits without windows ending where they start. None by default.
  std::vector<int> closed_tour_sizes;
  int per_regime = 30;        // problems of each regime at each size up to kMaxExactStops
  int per_regime_large = 10;  // ... above it (the reference costs seconds per problem)
  uint64_t seed = 9;          // problems' seeds: seed * routing::kSeedStride + ...
  std::vector<model::Precision> precisions = {model::Precision::kBf16,
                                              model::Precision::kFp16};
  std::vector<int> speed_batch_sizes = {1, 8, 64};
  int speed_stops = 20;
  double speed_seconds = 1.0;  // each speed figure runs at least this long
  int threads = 0;             // for the baselines and the classical solver; 0 = one per core
  // The baselines kept between runs (tools/eval/baselines.h); empty: none.
  std::string baselines_path;
};

// Gaps (cost / baseline - 1) of one method over a set of problems.
struct GapSummary {
  int answered = 0;  // problems with a route from the method
  int misses = 0;    // problems without one (greedy, proposed: the model did not answer)
  int infeasible = 0;
  double mean = 0, p95 = 0, max = 0;
  double optimal_share = 0;  // answered problems whose gap is at most 1e-9
};

// One size and regime ("all" for every regime of a size).
struct QualityCell {
  int stops = 0;
  std::string regime;
  bool exact_baseline = false;  // else the reference
  int problems = 0;
  int model_refined = 0;  // served answers whose source is MODEL_REFINED
  int fallbacks = 0;      // served answers whose source is FALLBACK_HEURISTIC
  GapSummary served, proposed, greedy, classical;
  GapSummary classical_equal_cpu;
  // Mean time of one problem's Refine() on the served path, and of the classical solver's
  // whole solve, in ms (on the evaluation's threads, not under load).
  double refine_ms = 0, classical_ms = 0;
  // The served path's mean CPU per problem (the classical solver's budget at equal CPU), in
  // ms, and the mean rounds the classical solver ran within it.
  double served_cpu_ms = 0, equal_cpu_rounds = 0;
};

struct PrecisionAgreement {
  model::Precision precision = model::Precision::kFp32;
  // Why it cannot run (the start-up error the server would give: loading, or the warm-up of
  // every shape); empty when it can.
  std::string error;
  int compared = 0;   // problems the model answered under the config's precision
  int same_greedy = 0;    // ... and under this one with the same greedy route
  int same_route = 0;     // ... and the same served route
  int fallbacks = 0;      // ... where this precision's proposal came from the classical solver
};

struct SpeedPoint {
  int batch_size = 0;
  int decodings = 0;
  double routes_per_s = 0;
  double batch_ms = 0;  // mean time of one Run()
};

struct EvaluationReport {
  std::string model_version;  // empty: no model, the classical solver serves
  std::string device, precision;
  int max_stops = 0, decodings = 0;
  int64_t refine_max_moves = 0;
  // Per size: each regime, then "all"; then a "closed tour" cell per closed-tour size.
  std::vector<QualityCell> cells;
  std::vector<PrecisionAgreement> agreement;
  std::vector<SpeedPoint> speed;
  double seconds = 0;
};

// Runs every measurement; an error when the config's model cannot be loaded. `progress` lines
// go to stderr.
absl::StatusOr<EvaluationReport> Evaluate(const config::Config& config,
                                          const EvaluationOptions& options);

}  // namespace routeserve::tools
