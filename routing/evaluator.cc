#include "routing/evaluator.h"

#include <algorithm>

namespace routeserve::routing {

std::string_view InfeasibilityName(Infeasibility reason) {
  switch (reason) {
    case Infeasibility::kNone: return "none";
    case Infeasibility::kStopMissing: return "stop_missing";
    case Infeasibility::kStopRepeated: return "stop_repeated";
    case Infeasibility::kDropoffBeforePickup: return "dropoff_before_pickup";
    case Infeasibility::kOverCapacity: return "over_capacity";
  }
  return "unknown";
}

RouteEvaluation Evaluate(const Instance& instance, std::span<const int> order) {
  const int n = instance.num_stops();
  const ObjectiveParams& params = instance.params();
  RouteEvaluation result;
  result.steps.reserve(order.size());
  auto flag = [&result](Infeasibility reason, int stop) {
    if (result.feasible()) {
      result.infeasibility = reason;
      result.infeasible_stop = stop;
    }
  };

  std::vector<char> visited(n, 0);
  double time = 0;
  int node = 0;
  int64_t load = instance.initial_load();
  for (int stop : order) {
    if (stop < 0 || stop >= n || visited[stop]) {
      flag(Infeasibility::kStopRepeated, stop);
      continue;
    }
    visited[stop] = 1;
    const int partner = instance.partner(stop);
    if (partner >= 0 && !instance.is_pickup(stop) && !visited[partner]) {
      flag(Infeasibility::kDropoffBeforePickup, stop);
    }

    const Instance::Visit visit = instance.VisitStop(node, time, stop);
    StepTiming step;
    step.stop = stop;
    step.arrival = visit.arrival;
    step.service_start = visit.service_start;
    step.waiting_s = visit.service_start - visit.arrival;
    step.lateness_s = visit.lateness_s;
    step.departure = visit.departure;
    load += instance.load_delta(stop);
    step.load_after = load;
    if (load > instance.capacity()) flag(Infeasibility::kOverCapacity, stop);

    result.travel_time_s += visit.travel_s;
    result.distance_m += instance.distance_m(node, stop + 1);
    result.lateness_s += step.lateness_s;
    result.waiting_s += step.waiting_s;
    result.steps.push_back(step);
    time = step.departure;
    node = stop + 1;
  }
  for (int stop = 0; stop < n; ++stop) {
    if (!visited[stop]) flag(Infeasibility::kStopMissing, stop);
  }
  if (instance.has_end()) {
    result.travel_time_s += instance.travel_s(node, instance.end_node());
    result.distance_m += instance.distance_m(node, instance.end_node());
    time += instance.travel_s(node, instance.end_node());
  }
  result.end_time = time;
  result.cost = result.travel_time_s + params.lateness_weight * result.lateness_s +
                params.waiting_weight * result.waiting_s;
  return result;
}

}  // namespace routeserve::routing
