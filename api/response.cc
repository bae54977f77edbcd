// ToRouteProto and ToSuggestResponse (api/response.h): an evaluated route as the API's Route
// message, its times turned from seconds after the courier's now into unix seconds; a planner's
// result as a SuggestResponse.
#include "api/response.h"

#include <cmath>
#include <cstdint>

namespace routeserve::api {
namespace {

// A time relative to `now`, in seconds, as unix seconds rounded to the nearest second.
int64_t UnixSeconds(int64_t now, double seconds_after_now) {
  return now + std::llround(seconds_after_now);
}

}  // namespace

void ToRouteProto(const routing::RouteProblem& problem, const routing::RouteEvaluation& evaluation,
                  v1::Route* route) {
  route->Clear();
  const int64_t now = problem.courier.now;
  const int num_stops = static_cast<int>(problem.stops.size());
  route->mutable_steps()->Reserve(static_cast<int>(evaluation.steps.size()));
  for (const routing::StepTiming& timing : evaluation.steps) {
    v1::RouteStep& step = *route->add_steps();
    // The evaluator only reports steps of stops in range; the check keeps a mismatched
    // evaluation from reading out of bounds.
    if (timing.stop >= 0 && timing.stop < num_stops) {
      step.set_stop_id(problem.stops[timing.stop].id);
    }
    step.set_arrival_time(UnixSeconds(now, timing.arrival));
    step.set_service_start_time(UnixSeconds(now, timing.service_start));
    step.set_departure_time(UnixSeconds(now, timing.departure));
    step.set_lateness_s(std::llround(timing.lateness_s));
    step.set_waiting_s(std::llround(timing.waiting_s));
    step.set_load_after(timing.load_after);
  }
  v1::RouteSummary& summary = *route->mutable_summary();
  summary.set_travel_time_s(evaluation.travel_time_s);
  summary.set_distance_m(evaluation.distance_m);
  summary.set_lateness_s(evaluation.lateness_s);
  summary.set_waiting_s(evaluation.waiting_s);
  summary.set_cost(evaluation.cost);
  summary.set_feasible(evaluation.feasible());
  summary.set_end_time(UnixSeconds(now, evaluation.end_time));
}

v1::RouteSource ToProto(planning::RouteSource source) {
  switch (source) {
    case planning::RouteSource::kModel: return v1::ROUTE_SOURCE_MODEL;
    case planning::RouteSource::kModelRefined: return v1::ROUTE_SOURCE_MODEL_REFINED;
    case planning::RouteSource::kHeuristic: return v1::ROUTE_SOURCE_HEURISTIC;
    case planning::RouteSource::kFallbackHeuristic: return v1::ROUTE_SOURCE_FALLBACK_HEURISTIC;
  }
  return v1::ROUTE_SOURCE_UNSPECIFIED;
}

v1::SuggestResponse ToSuggestResponse(const planning::PlanResult& result) {
  v1::SuggestResponse response;
  ToRouteProto(*result.problem, result.evaluation, response.mutable_route());
  for (const routing::RouteEvaluation& alternative : result.alternatives) {
    ToRouteProto(*result.problem, alternative, response.add_alternatives());
  }
  response.set_source(ToProto(result.source));
  response.set_model_version(result.model_version);
  v1::ServerTimings& timings = *response.mutable_timings();
  timings.set_queue_s(absl::ToDoubleSeconds(result.timings.queued));
  timings.set_inference_s(absl::ToDoubleSeconds(result.timings.inference));
  timings.set_refine_s(absl::ToDoubleSeconds(result.timings.refine));
  timings.set_executor_wait_s(absl::ToDoubleSeconds(result.timings.executor_wait));
  timings.set_batch_size(result.timings.batch_size);
  return response;
}

}  // namespace routeserve::api
