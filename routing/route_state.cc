#include "routing/route_state.h"

#include <algorithm>

namespace routeserve::routing {

RouteState::RouteState(const Instance& instance)
    : instance_(instance),
      position_(instance.num_stops(), -1),
      seen_(instance.num_stops(), 0) {
  Recompute(0);
}

void RouteState::Assign(std::vector<int> order) {
  std::fill(position_.begin(), position_.end(), -1);
  order_ = std::move(order);
  Recompute(0);
}

void RouteState::Recompute(int from) {
  const int size = this->size();
  departure_.resize(size);
  cost_after_.resize(size);
  load_after_.resize(size);
  const ObjectiveParams& params = instance_.params();
  double time = from > 0 ? departure_[from - 1] : 0;
  double cost = from > 0 ? cost_after_[from - 1] : 0;
  int64_t load = from > 0 ? load_after_[from - 1] : instance_.initial_load();
  int node = from > 0 ? order_[from - 1] + 1 : 0;
  for (int k = from; k < size; ++k) {
    const int stop = order_[k];
    position_[stop] = k;
    const double arrival = time + instance_.travel_s(node, stop + 1);
    const double start = std::max(arrival, instance_.earliest(stop));
    cost += instance_.travel_s(node, stop + 1) +
            params.lateness_weight * std::max(0.0, arrival - instance_.latest(stop)) +
            params.waiting_weight * (start - arrival);
    time = start + instance_.service_s(stop);
    load += instance_.load_delta(stop);
    departure_[k] = time;
    cost_after_[k] = cost;
    load_after_[k] = load;
    node = stop + 1;
  }
  cost_ = cost + (instance_.has_end() ? instance_.travel_s(node, instance_.end_node()) : 0);
}

double RouteState::CostOfReplacement(int begin, int end, std::span<const int> replacement,
                                     double bound) const {
  const ObjectiveParams& params = instance_.params();
  const int size = this->size();
  double time = begin > 0 ? departure_[begin - 1] : 0;
  double cost = begin > 0 ? cost_after_[begin - 1] : 0;
  int64_t load = begin > 0 ? load_after_[begin - 1] : instance_.initial_load();
  int node = begin > 0 ? order_[begin - 1] + 1 : 0;
  if (++stamp_ == 0) {  // wrapped: clear the marks
    std::fill(seen_.begin(), seen_.end(), 0);
    stamp_ = 1;
  }
  const int64_t capacity = instance_.capacity();
  for (int stop : replacement) {
    const int partner = instance_.partner(stop);
    if (partner >= 0 && !instance_.is_pickup(stop)) {
      const int partner_position = position_[partner];
      const bool pickup_before = (partner_position >= 0 && partner_position < begin) ||
                                 seen_[partner] == stamp_;
      if (!pickup_before) return kRejected;
    }
    seen_[stop] = stamp_;
    load += instance_.load_delta(stop);
    if (load > capacity) return kRejected;
    const double travel = instance_.travel_s(node, stop + 1);
    const double arrival = time + travel;
    const double start = std::max(arrival, instance_.earliest(stop));
    cost += travel + params.lateness_weight * std::max(0.0, arrival - instance_.latest(stop)) +
            params.waiting_weight * (start - arrival);
    if (cost >= bound) return kRejected;
    time = start + instance_.service_s(stop);
    node = stop + 1;
  }

  // The suffix: same stops in the same order, so only its times can differ; the load differs
  // by what the replacement adds on net (nothing for a reordering, a whole order's pickup and
  // dropoff, or less for an on-board order's dropoff).
  const int64_t load_shift = load - (end > 0 ? load_after_[end - 1] : instance_.initial_load());
  for (int k = end; k < size; ++k) {
    const int stop = order_[k];
    if (load_shift > 0 && load_after_[k] + load_shift > capacity) return kRejected;
    const double travel = instance_.travel_s(node, stop + 1);
    const double arrival = time + travel;
    const double start = std::max(arrival, instance_.earliest(stop));
    cost += travel + params.lateness_weight * std::max(0.0, arrival - instance_.latest(stop)) +
            params.waiting_weight * (start - arrival);
    time = start + instance_.service_s(stop);
    node = stop + 1;
    if (time == departure_[k] || !instance_.has_time_windows()) {
      // From here on the schedule costs what it did: only the load can still break.
      for (int rest = k + 1; load_shift > 0 && rest < size; ++rest) {
        if (load_after_[rest] + load_shift > capacity) return kRejected;
      }
      return cost + (cost_ - cost_after_[k]);
    }
    if (cost >= bound) return kRejected;
  }
  return cost + (instance_.has_end() ? instance_.travel_s(node, instance_.end_node()) : 0);
}

void RouteState::Replace(int begin, int end, std::span<const int> replacement) {
  for (int k = begin; k < end; ++k) position_[order_[k]] = -1;
  scratch_.assign(replacement.begin(), replacement.end());
  order_.erase(order_.begin() + begin, order_.begin() + end);
  order_.insert(order_.begin() + begin, scratch_.begin(), scratch_.end());
  Recompute(begin);
}

void RouteState::Remove(int stop) {
  const int k = position_[stop];
  if (k < 0) return;
  position_[stop] = -1;
  order_.erase(order_.begin() + k);
  Recompute(k);
}

}  // namespace routeserve::routing
