// ModelProposer: the BatchProposer (planning/batch_proposer.h) of the learned route model
// (docs/MODEL.md): one batched forward pass of model::ModelRunner proposes each problem's order,
// local search refines it; the classical solver stands in, problem by problem, where the model
// cannot answer. And LoadModelProposer(), which loads one as the config says.
//
// PROPOSE: each problem of the batch runs at N = min(bucket, the model's max_stops) with
//   model.decodings decodings: route-v1's (1 greedy, the others sampled with the problem's own
//   noise) or route-v2's starts built from its edge scores (model::ScoredProblemOf); the
//   feasible one of lowest routing cost is the proposal (the earliest on a tie: greedy first),
//   source kModelRefined (kModel when refine.max_moves is 0); the other distinct ones are its
//   alternatives, best first. route-v2's proposal also carries each node's model.candidates
//   best-scored successors (routing::BestScored) as the search's candidate lists.
//   Deterministic: the same problem gets the same proposal in any batch.
// FALLBACK: a problem the model cannot answer gets the classical solver's insertion route,
//   source kFallbackHeuristic, refined by the solver's search as SolverProposer does, and is
//   counted by reason (fallback_counts(), for the metrics' fallback_total{reason}):
//     stops_above_model_max  more stops than the model's max_stops;
//     model_error            the forward pass failed (a LibTorch error, an exception), or there
//                            is no model;
//     invalid_order          the model answered with an order that is not a feasible route of
//                            the problem's stops (the runner checks every decoding).
//   The first fallback of each reason is logged with its cause; later ones are counted only.
// REFINE: kModelRefined: routing::SolveFrom the model's order with refine.max_moves moves and
//   refine.perturbation_rounds rounds (0: the descent alone), and the solver's other options
//   (evaluations, candidate lists, seed); it keeps the best route found, so never worse than
//   the descent alone. route-v2's search starts from the cheaper of its proposal and the
//   cheapest-insertion route (measured: its starts alone are far from good routes; its value is
//   in the lists, docs/BENCHMARKS.md) and searches its lists (none at model.candidates 0: every
//   move); kModel: the order as proposed;
//   kFallbackHeuristic: routing::SolveFrom with the solver's options. The iterated search stops
//   early, with its best route, at the caller's deadline.
// THREADING: as BatchProposer; fallback_counts() is thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "model/model_runner.h"
#include "planning/batch_proposer.h"
#include "config/config.h"

namespace routeserve::planning {

// kExecutorStuck is the batching planner's (planning/batching_planner.h): the tasks of a batch
// whose executor the watchdog took out of service.
enum class FallbackReason { kStopsAboveModelMax, kModelError, kInvalidOrder, kExecutorStuck };
inline constexpr int kNumFallbackReasons = 4;
// "stops_above_model_max", "model_error", "invalid_order", "executor_stuck": the metric's label
// values.
absl::string_view FallbackReasonName(FallbackReason reason);

// Requests the classical solver answered in the model's place, by reason, since start-up.
struct FallbackCounts {
  int64_t stops_above_model_max = 0;
  int64_t model_error = 0;
  int64_t invalid_order = 0;
  int64_t executor_stuck = 0;  // counted by the planner, not the proposer
  int64_t total() const {
    return stops_above_model_max + model_error + invalid_order + executor_stuck;
  }
  FallbackCounts& operator+=(const FallbackCounts& other) {
    stops_above_model_max += other.stops_above_model_max;
    model_error += other.model_error;
    invalid_order += other.invalid_order;
    executor_stuck += other.executor_stuck;
    return *this;
  }
};

struct ModelProposerOptions {
  int decodings = 8;               // per problem, 1..model::kMaxDecodings
  int candidates = 5;              // route-v2: best-scored successors per node; 0: no lists
  int64_t refine_max_moves = 200;  // 0: no refinement, source MODEL
  int64_t refine_perturbation_rounds = 0;  // iterated local search after the descent
  // The stand-in's search; refinement's too, but for its moves and rounds.
  routing::SolverOptions solver;
};

class ModelProposer final : public BatchProposer {
 public:
  // `runner` may be null (no model): every problem then falls back, counted model_error.
  ModelProposer(std::unique_ptr<model::ModelRunner> runner, const ModelProposerOptions& options);
  ~ModelProposer() override;

  std::vector<absl::StatusOr<Proposal>> Propose(
      std::span<const routing::Instance* const> instances, const BatchShape& shape) override;
  // A descent with refine.max_moves moves (none at 0, as the route's source MODEL says).
  std::vector<int> RefineAlternative(const routing::Instance& instance, std::vector<int> order,
                                     const routing::CandidateLists* candidates) const override;
  std::vector<int> Refine(const routing::Instance& instance, Proposal proposal,
                          absl::Time deadline, const batching::Clock& clock) const override;
  std::string model_version() const override;

  FallbackCounts fallback_counts() const;
  const model::ModelRunner* runner() const { return runner_.get(); }

  // Implementation details follow.
 private:
  // The stand-in's proposal for `instance`, counted under `reason`; `cause` is logged the
  // first time the reason comes up.
  Proposal Fallback(const routing::Instance& instance, FallbackReason reason,
                    absl::string_view cause);
  // The proposal of one problem from its decodings (route-v1's or route-v2's starts), or its
  // fallback when the model did not answer it.
  Proposal FromDecodings(
      const routing::Instance& instance,
      absl::StatusOr<std::vector<model::Decoding>> decodings);

  const std::unique_ptr<model::ModelRunner> runner_;
  const ModelProposerOptions options_;
  const SolverProposer fallback_;
  std::array<std::atomic<int64_t>, kNumFallbackReasons> fallbacks_{};
};

// A ModelProposer of the model in `model_dir`, loaded with the options `config` gives
// (model.*, batching.max_batch_size and the executors as resolved by
// BatchingPlanner::ExecutorsFor) and warmed up over every bucket and batch class. Logs the
// model's version, device, precision and threads, the differences between its objective and
// the config's, and the warm-up's time. The runner's error when it cannot be loaded (files,
// checksums, self-test, device, precision) or warmed up.
absl::StatusOr<std::unique_ptr<ModelProposer>> LoadModelProposer(const config::Config& config,
                                                                 const std::string& model_dir);

// The runner options `config` gives the model (model.*, the objective, the executors and the
// largest batch): what LoadModelProposer loads the model with, and what tools measuring the model
// alone load it with.
model::ModelRunnerOptions RunnerOptionsFor(const config::Config& config);
// The proposer options `config` gives (model.decodings, model.candidates, refine.*,
// solver.*).
ModelProposerOptions ProposerOptionsFor(const config::Config& config);

}  // namespace routeserve::planning
