// ToRouteProto (api/response.h): an evaluated route as the API's Route message, its times turned
// from seconds after the courier's now into unix seconds.
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

}  // namespace routeserve::api
