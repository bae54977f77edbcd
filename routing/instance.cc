#include "routing/instance.h"

#include <string>
#include <unordered_map>

#include "absl/strings/str_cat.h"
#include "routing/travel_time.h"

namespace routeserve::routing {

// Long, in one piece: one pass over the problem's fields in their order, each checked for
// consistency where it is copied (pairing, matrix, loads).
absl::StatusOr<Instance> Instance::Build(const RouteProblem& problem,
                                         const ObjectiveParams& params) {
  Instance instance;
  instance.params_ = params;
  const int n = static_cast<int>(problem.stops.size());
  instance.has_end_ = problem.end_position.has_value();
  instance.side_ = n + 1 + (instance.has_end_ ? 1 : 0);
  instance.capacity_ = problem.courier.capacity;

  std::vector<LatLng> positions;
  positions.reserve(instance.side_);
  positions.push_back(problem.courier.position);
  for (const Stop& stop : problem.stops) positions.push_back(stop.position);
  if (instance.has_end_) positions.push_back(*problem.end_position);
  instance.positions_ = positions;

  const int side = instance.side_;
  instance.travel_s_.resize(side * side);
  instance.distance_m_.resize(side * side);
  for (int from = 0; from < side; ++from) {
    for (int to = 0; to < side; ++to) {
      const double distance = from == to ? 0 : RoadDistanceM(positions[from], positions[to], params);
      instance.distance_m_[from * side + to] = distance;
      instance.travel_s_[from * side + to] =
          from == to ? 0 : TravelTimeS(positions[from], positions[to], problem.courier, params);
    }
  }
  if (problem.travel_times.has_value()) {
    const TravelTimeMatrix& matrix = *problem.travel_times;
    if (matrix.side != side || matrix.seconds.size() != static_cast<size_t>(side * side)) {
      return absl::InvalidArgumentError(
          absl::StrCat("travel_time_matrix_s: expected ", side, "x", side, " entries"));
    }
    instance.travel_s_ = matrix.seconds;
  }

  const double now = static_cast<double>(problem.courier.now);
  instance.earliest_.resize(n);
  instance.latest_.resize(n);
  instance.service_s_.resize(n);
  instance.load_delta_.resize(n);
  instance.partner_.assign(n, -1);
  instance.is_pickup_.assign(n, 0);
  instance.kind_.resize(n);
  std::unordered_map<std::string, int> pickup_of_order;
  for (int i = 0; i < n; ++i) {
    const Stop& stop = problem.stops[i];
    const TimeWindow& window = stop.window;
    instance.earliest_[i] = window.earliest ? static_cast<double>(*window.earliest) - now : -kUnbounded;
    instance.latest_[i] = window.latest ? static_cast<double>(*window.latest) - now : kUnbounded;
    instance.has_time_windows_ |= window.earliest.has_value() || window.latest.has_value();
    instance.service_s_[i] = static_cast<double>(stop.service_s);
    instance.kind_[i] = stop.kind;
    if (stop.kind == StopKind::kPickup) {
      instance.is_pickup_[i] = 1;
      instance.load_delta_[i] = stop.load;
      if (!pickup_of_order.emplace(stop.order_id, i).second) {
        return absl::InvalidArgumentError(
            absl::StrCat("stops[", i, "].order_id: a second pickup of order '", stop.order_id, "'"));
      }
    }
  }
  for (int i = 0; i < n; ++i) {
    const Stop& stop = problem.stops[i];
    if (stop.kind != StopKind::kDropoff) continue;
    instance.load_delta_[i] = -stop.load;
    auto pickup = pickup_of_order.find(stop.order_id);
    if (pickup == pickup_of_order.end()) {
      instance.initial_load_ += stop.load;  // on board already
      continue;
    }
    if (instance.partner_[pickup->second] != -1) {
      return absl::InvalidArgumentError(
          absl::StrCat("stops[", i, "].order_id: a second dropoff of order '", stop.order_id, "'"));
    }
    instance.partner_[pickup->second] = i;
    instance.partner_[i] = pickup->second;
  }
  for (int i = 0; i < n; ++i) {
    if (instance.is_pickup_[i] && instance.partner_[i] == -1) {
      return absl::InvalidArgumentError(
          absl::StrCat("stops[", i, "].order_id: pickup without a dropoff"));
    }
  }
  return instance;
}

}  // namespace routeserve::routing
