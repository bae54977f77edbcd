// BatchingPlanner's finishing stage, on the refine pool: each task's refinement within its
// deadline, its evaluation and alternatives, the result, then its `done`.
#include <algorithm>
#include <cstdint>
#include <exception>
#include <span>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/exception_status.h"
#include "planning/batching_planner.h"
#include "planning/batching_planner_tasks.h"
#include "routing/evaluator.h"

namespace routeserve::planning {
namespace {

// True when `order` holds every stop index 0..num_stops-1 exactly once.
bool IsOrderOfStops(std::span<const int> order, int num_stops) {
  if (static_cast<int64_t>(order.size()) != num_stops) return false;
  std::vector<char> seen(num_stops, 0);
  for (const int stop : order) {
    if (stop < 0 || stop >= num_stops || seen[stop]) return false;
    seen[stop] = 1;
  }
  return true;
}

}  // namespace

void BatchingPlanner::Finish(std::shared_ptr<Finishing> task) {
  bool handed_on = false;
  try {
    // No deadline, no probe: a task whose batch ran is always finished.
    handed_on = refine_->Submit([this, task] { RunFinishing(*task); });
  } catch (...) {
    // Out of memory on the way to the pool: finish here, as when it is full.
  }
  // The pool is full (the refused job is gone, `task` is not): finish here, slower but answered.
  if (!handed_on) RunFinishing(*task);
}

void BatchingPlanner::RunFinishing(Finishing& task) {
  const absl::Time start = clock_->Now();
  FinishedTask outcome;
  absl::StatusOr<PlanResult> result;
  // The wall: an exception (std::bad_alloc above all) answers this task Internal.
  try {
    if (task.stand_in && task.status.ok()) {
      if (clock_->Now() >= task.call->deadline) {
        task.status = absl::DeadlineExceededError(
            "the executor running its batch is stuck, and the deadline has passed");
      } else {
        task.proposal = stand_in_.ProposeOne(*task.call->instance);
        stuck_fallbacks_.fetch_add(1, std::memory_order_relaxed);
      }
    }
    result = Respond(task, outcome);
  } catch (...) {
    result = base::StatusFromException("finishing failed", std::current_exception());
  }
  outcome.refine = clock_->Now() - start;
  outcome.status = result.status();
  if (result.ok()) {
    result->timings.refine = outcome.refine;
    if (shadow_ != nullptr && FromModel(result->source)) {
      const int stops = task.call->instance->num_stops();
      shadow_->Offer(task.call->instance, result->evaluation.cost,
                     bucket_sizes()[batching::BucketFor(bucket_sizes(), stops)]);
    }
  }
  if (observer_ != nullptr) observer_->OnFinished(outcome);
  std::exchange(task.call->done, nullptr)(std::move(result));
}

std::vector<routing::RouteEvaluation> BatchingPlanner::Alternatives(
    const routing::Instance& instance, std::vector<CostedOrder> alternatives,
    const std::vector<int>& best, int num_alternatives, const BatchProposer& refiner,
    const routing::CandidateLists* candidates) {
  if (num_alternatives <= 0) return {};
  std::vector<CostedOrder> feasible;
  for (CostedOrder& alternative : alternatives) {
    if (alternative.order == best || !IsOrderOfStops(alternative.order, instance.num_stops())) {
      continue;
    }
    const routing::RouteEvaluation evaluation = routing::Evaluate(instance, alternative.order);
    if (evaluation.feasible()) feasible.push_back({std::move(alternative.order), evaluation.cost});
  }
  auto cheaper = [](const auto& a, const auto& b) { return a.cost < b.cost; };
  std::stable_sort(feasible.begin(), feasible.end(), cheaper);
  std::vector<std::vector<int>> kept;
  std::vector<routing::RouteEvaluation> refined;
  for (CostedOrder& alternative : feasible) {
    if (refined.size() == static_cast<size_t>(num_alternatives)) break;
    std::vector<int> order =
        refiner.RefineAlternative(instance, std::move(alternative.order), candidates);
    if (order == best || std::find(kept.begin(), kept.end(), order) != kept.end() ||
        !IsOrderOfStops(order, instance.num_stops())) {
      continue;
    }
    routing::RouteEvaluation evaluation = routing::Evaluate(instance, order);
    if (!evaluation.feasible()) continue;
    kept.push_back(std::move(order));
    refined.push_back(std::move(evaluation));
  }
  std::stable_sort(refined.begin(), refined.end(), cheaper);
  return refined;
}

absl::StatusOr<PlanResult> BatchingPlanner::Respond(Finishing& task,
                                                    FinishedTask& outcome) const {
  if (!task.status.ok()) return task.status;
  const routing::Instance& instance = *task.call->instance;
  if (!IsOrderOfStops(task.proposal.order, instance.num_stops())) {
    return absl::InternalError(absl::StrCat("proposer returned an order that is not one of the ",
                                            instance.num_stops(), " stops"));
  }
  if (!task.proposal.source.has_value()) {
    return absl::InternalError("proposer returned a proposal without a source");
  }
  const RouteSource source = *task.proposal.source;
  outcome.proposed_cost = task.proposal.cost;
  // Held for the call: Refine() takes the proposal.
  const std::shared_ptr<const BatchProposer> proposed_by = task.proposal.refiner;
  const BatchProposer& refiner = task.stand_in ? static_cast<const BatchProposer&>(stand_in_)
                                 : proposed_by != nullptr ? *proposed_by
                                                          : *proposer_;
  std::vector<CostedOrder> alternatives = std::move(task.proposal.alternatives);
  const std::shared_ptr<const routing::CandidateLists> candidates = task.proposal.candidates;
  PlanResult result;
  result.proposed_cost = task.proposal.cost;
  result.order =
      refiner.Refine(instance, std::move(task.proposal), task.call->deadline, *clock_);
  if (!IsOrderOfStops(result.order, instance.num_stops())) {
    return absl::InternalError("refinement returned an order that is not one of the stops");
  }
  result.evaluation = routing::Evaluate(instance, result.order);
  result.alternatives = Alternatives(instance, std::move(alternatives), result.order,
                                     task.call->num_alternatives, refiner, candidates.get());
  outcome.route_cost = result.evaluation.cost;
  outcome.lateness_s = result.evaluation.lateness_s;
  result.problem = task.call->problem;
  result.source = source;
  // The model's version and time only where the model made the route: the classical solver's
  // answers, by configuration or standing in, carry neither.
  if (FromModel(source)) result.model_version = refiner.model_version();
  outcome.model_version = result.model_version;
  result.timings = PlanTimings{
      .queued = task.queued,
      .executor_wait = task.executor_wait,
      .inference = FromModel(source) ? task.inference : absl::ZeroDuration(),
      .batch_size = task.batch_size};
  return result;
}

}  // namespace routeserve::planning
