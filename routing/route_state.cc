#include "routing/route_state.h"

#include <algorithm>

namespace routeserve::routing {

RouteState::RouteState(const Instance& instance)
    : instance_(instance), position_(instance.num_stops(), -1), seen_(instance.num_stops(), 0) {
  Recompute(0);
}

void RouteState::Assign(std::vector<int> order) {
  std::fill(position_.begin(), position_.end(), -1);
  order_ = std::move(order);
  Recompute(0);
}

bool RouteState::IsOnBoardDropoff(int stop) const {
  return instance_.partner(stop) < 0 && instance_.load_delta(stop) < 0;
}

void RouteState::Recompute(int from) {
  const int size = this->size();
  departure_.resize(size);
  cost_after_.resize(size);
  load_after_.resize(size);
  peak_load_.resize(size);
  travel_into_.resize(size);
  travel_back_.resize(size);
  arrival_.resize(size);
  if (from == 0) {
    start_load_ = 0;
    for (int stop : order_) {
      if (IsOnBoardDropoff(stop)) start_load_ -= instance_.load_delta(stop);
    }
  }
  double time = from > 0 ? departure_[from - 1] : 0;
  double cost = from > 0 ? cost_after_[from - 1] : 0;
  double travel = from > 0 ? travel_into_[from - 1] : 0;
  double travel_back = from > 0 ? travel_back_[from - 1] : 0;
  int64_t load = from > 0 ? load_after_[from - 1] : start_load_;
  int64_t peak = from > 0 ? peak_load_[from - 1] : start_load_;
  int node = NodeAt(from - 1);
  for (int k = from; k < size; ++k) {
    const int stop = order_[k];
    position_[stop] = k;
    const Instance::Visit visit = instance_.VisitStop(node, time, stop);
    cost += visit.cost;
    travel += visit.travel_s;
    if (k > 0) travel_back += instance_.travel_s(stop + 1, node);
    time = visit.departure;
    load += instance_.load_delta(stop);
    peak = std::max(peak, load);
    departure_[k] = time;
    cost_after_[k] = cost;
    load_after_[k] = load;
    peak_load_[k] = peak;
    travel_into_[k] = travel;
    travel_back_[k] = travel_back;
    arrival_[k] = visit.arrival;
    node = stop + 1;
  }
  if (instance_.has_time_windows()) RecomputeShifts();
  const double last_leg = instance_.has_end() ? instance_.travel_s(node, instance_.end_node()) : 0;
  travel_ = travel + last_leg;
  cost_ = cost + last_leg;
}

void RouteState::RecomputeShifts() {
  const int size = this->size();
  after_.resize(size);
  delay_changing_.resize(size);
  advance_changing_.resize(size);
  const int blocks = (size + kBlock - 1) / kBlock;
  delay_changing_block_.assign(blocks, kRejected);
  advance_changing_block_.assign(blocks, kRejected);
  // Over the whole order, from its end: a change at one position changes what comes after
  // every position before it.
  After after;
  for (int k = size - 1; k >= 0; --k) {
    after_[k] = after;
    const int stop = order_[k];
    const double lateness = arrival_[k] - instance_.latest(stop);    // > 0: late
    const double waiting = instance_.earliest(stop) - arrival_[k];  // > 0: waits
    const double delay = waiting > 0 ? 0 : (lateness > 0 ? kRejected : -lateness);
    const double advance = std::min(lateness > 0 ? lateness : kRejected, -waiting);
    delay_changing_[k] = delay;
    advance_changing_[k] = advance;
    double& block_delay = delay_changing_block_[k / kBlock];
    double& block_advance = advance_changing_block_[k / kBlock];
    block_delay = std::min(block_delay, delay);
    block_advance = std::min(block_advance, advance);
    if (lateness > 0) {
      ++after.late;
      after.lateness += lateness;
    }
    if (waiting > 0) after.waiting += waiting;
    after.least_delay_changing = std::min(after.least_delay_changing, delay);
    after.least_advance_changing = std::min(after.least_advance_changing, advance);
  }
}

double RouteState::TravelAfter(int position) const {
  return travel_ - (position >= 0 ? travel_into_[position] : 0);
}

double RouteState::LowerBound(int begin, int end, int first, int last, double inner_travel) const {
  double bound = (begin > 0 ? cost_after_[begin - 1] : 0) +
                 instance_.travel_s(NodeAt(begin - 1), first) + inner_travel;
  if (end < size()) {
    bound += instance_.travel_s(last, NodeAt(end)) + TravelAfter(end);
  } else if (instance_.has_end()) {
    bound += instance_.travel_s(last, instance_.end_node());
  }
  return bound;
}

double RouteState::CostFrom(int from, int node, double time, double cost, double bound) const {
  const ObjectiveParams& params = instance_.params();
  const int size = this->size();
  for (int k = from; k < size; ++k) {
    const int stop = order_[k];
    const Instance::Visit visit = instance_.VisitStop(node, time, stop);
    cost += visit.cost;
    time = visit.departure;
    node = stop + 1;
    const double shift = time - departure_[k];  // > 0: later than before
    const double old_rest = cost_ - cost_after_[k];
    if (shift == 0 || !instance_.has_time_windows()) {
      // From here on the schedule costs what it did.
      cost += old_rest;
      return cost < bound ? cost : kRejected;
    }
    const After& after = after_[k];
    if (MovesWhole(after, shift)) {
      // From here on the schedule is the old one moved by `shift`, and so is its cost.
      cost += old_rest + params.lateness_weight * shift * after.late;
      return cost < bound ? cost : kRejected;
    }
    // Otherwise bound the rest from below: what it cost, give or take what the shift can
    // change. Leaving d later saves at most min(d, W) of waiting further on (W: the waiting
    // there), and each stop served late is later by at least d - W. Leaving d earlier saves at
    // most d at each stop served late and at most all their lateness, and waiting only grows.
    // Travel alone bounds it too: lateness and waiting only add.
    double rest_bound = TravelAfter(k);
    if (shift > 0) {
      const double absorbed = std::min(shift, after.waiting);
      rest_bound = std::max(rest_bound, old_rest - params.waiting_weight * absorbed +
                                            params.lateness_weight * (shift - absorbed) *
                                                after.late);
    } else {
      rest_bound = std::max(rest_bound, old_rest - params.lateness_weight *
                                                       std::min(-shift * after.late,
                                                                after.lateness));
    }
    if (cost + rest_bound >= bound) return kRejected;
    // The stops up to the next one the shift changes otherwise are the old ones moved by it:
    // skip to it.
    const int next = NextChange(k + 1, shift);
    if (next > k + 1) {
      cost += cost_after_[next - 1] - cost_after_[k] +
              params.lateness_weight * shift * (after.late - after_[next - 1].late);
      time = departure_[next - 1] + shift;
      node = order_[next - 1] + 1;
      k = next - 1;
    }
  }
  cost += instance_.has_end() ? instance_.travel_s(node, instance_.end_node()) : 0;
  return cost < bound ? cost : kRejected;
}

bool RouteState::MovesWhole(const After& after, double shift) {
  return shift > 0 ? shift <= after.least_delay_changing : -shift <= after.least_advance_changing;
}

int RouteState::NextChange(int from, double shift) const {
  const std::vector<double>& own = shift > 0 ? delay_changing_ : advance_changing_;
  const std::vector<double>& block = shift > 0 ? delay_changing_block_ : advance_changing_block_;
  const double moved = std::abs(shift);
  const int size = this->size();
  int k = from;
  while (k < size) {
    if (k % kBlock == 0 && block[k / kBlock] >= moved) {
      k += kBlock;
    } else if (own[k] < moved) {
      return k;
    } else {
      ++k;
    }
  }
  return size;
}

double RouteState::CostOfReplacement(int begin, int end, std::span<const int> replacement,
                                     double bound) const {
  ++evaluations_;
  const int64_t capacity = instance_.capacity();
  double time = begin > 0 ? departure_[begin - 1] : 0;
  double cost = begin > 0 ? cost_after_[begin - 1] : 0;
  int64_t load = begin > 0 ? load_after_[begin - 1] : start_load_;
  int node = NodeAt(begin - 1);
  const double travel_after_region = end < size() ? TravelAfter(end) : 0;
  if (++stamp_ == 0) {  // wrapped: clear the marks
    std::fill(seen_.begin(), seen_.end(), 0);
    stamp_ = 1;
  }
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
    const Instance::Visit visit = instance_.VisitStop(node, time, stop);
    cost += visit.cost;
    if (cost + travel_after_region >= bound) return kRejected;
    time = visit.departure;
    node = stop + 1;
  }
  // The same stops in another order: the suffix carries the same load as before.
  return CostFrom(end, node, time, cost, bound);
}

void RouteState::Replace(int begin, int end, std::span<const int> replacement) {
  for (int k = begin; k < end; ++k) position_[order_[k]] = -1;
  scratch_.assign(replacement.begin(), replacement.end());
  order_.erase(order_.begin() + begin, order_.begin() + end);
  order_.insert(order_.begin() + begin, scratch_.begin(), scratch_.end());
  Recompute(begin);
}

RouteState::Insertion RouteState::BestInsertion(int first, int second, double bound,
                                                const CandidateLists* candidates,
                                                const Insertion* was) const {
  Insertion best;
  best.cost = bound;
  const Insertion nowhere;
  if (second < 0) {
    BestStopInsertion(first, candidates, was ? *was : nowhere, best);
  } else {
    BestOrderInsertion(first, second, candidates, was ? *was : nowhere, best);
  }
  if (best.first_at < 0) best.cost = kRejected;
  return best;
}

bool RouteState::Walk(int stop, int& node, double& time, double& cost, double bound) const {
  const Instance::Visit step = instance_.VisitStop(node, time, stop);
  cost += step.cost;
  time = step.departure;
  node = stop + 1;
  return cost < bound;
}

void RouteState::BestStopInsertion(int first, const CandidateLists* candidates,
                                   const Insertion& was, Insertion& best) const {
  const int64_t capacity = instance_.capacity();
  // An on-board order's dropoff carries its load from the start up to it.
  const int64_t carried = IsOnBoardDropoff(first) ? -instance_.load_delta(first) : 0;
  for (int at = 0; at <= size(); ++at) {
    if ((at > 0 ? peak_load_[at - 1] : start_load_) + carried > capacity) break;
    int node = NodeAt(at - 1);
    // Granular: an edge into or on from the stop that the lists admit; `was` is tried as in
    // BestOrderInsertion.
    if (candidates != nullptr && at != was.first_at && !candidates->Admits(node, first + 1) &&
        !candidates->Admits(first + 1, NodeOrEnd(at))) {
      continue;
    }
    if (LowerBound(at, at, first + 1, first + 1, 0) >= best.cost) continue;
    double time = at > 0 ? departure_[at - 1] : 0;
    double cost = at > 0 ? cost_after_[at - 1] : 0;
    if (!Walk(first, node, time, cost, best.cost)) continue;
    ++evaluations_;
    const double total = CostFrom(at, node, time, cost, best.cost);
    if (total < best.cost) best = {total, at, at};
  }
}

// A pickup, then its dropoff at the same place or further on; the order's load is on board in
// between. Granular: the pickup must land where it makes an edge the lists admit that it did not
// drive at `was`: into the pickup, on from it to the next stop, or, the two together, on to the
// dropoff. That leaves O(k) places for the pickup, each walked on for the dropoff: O(k n) a
// unit rather than O(n^2).
void RouteState::BestOrderInsertion(int first, int second, const CandidateLists* candidates,
                                    const Insertion& was, Insertion& best) const {
  const int64_t capacity = instance_.capacity();
  const int size = this->size();
  const int64_t load = instance_.load_delta(first);
  const bool was_together = was.first_at >= 0 && was.second_at == was.first_at;
  const bool was_apart = was.first_at >= 0 && was.second_at > was.first_at;
  const bool into_dropoff =
      candidates == nullptr || (!was_together && candidates->Admits(first + 1, second + 1));
  for (int first_at = 0; first_at <= size; ++first_at) {
    if ((first_at > 0 ? load_after_[first_at - 1] : start_load_) + load > capacity) continue;
    int node = NodeAt(first_at - 1);
    bool apart = true;     // the dropoff may go further on
    bool together = true;  // the dropoff may go straight after the pickup
    if (candidates != nullptr) {
      const bool same_first = first_at == was.first_at;
      const bool into_pickup = !same_first && candidates->Admits(node, first + 1);
      apart = into_pickup ||
              (!(same_first && was_apart) && candidates->Admits(first + 1, NodeOrEnd(first_at)));
      together = into_pickup || into_dropoff;
      if (!apart && !together) continue;
    }
    double time = first_at > 0 ? departure_[first_at - 1] : 0;
    double cost = first_at > 0 ? cost_after_[first_at - 1] : 0;
    if (!Walk(first, node, time, cost, best.cost)) continue;
    for (int second_at = first_at; second_at <= size; ++second_at) {
      // `node` is the dropoff's predecessor: the pickup, or the stop at second_at - 1.
      const double inner_travel = instance_.travel_s(node, second + 1);
      const double after =
          second_at < size
              ? instance_.travel_s(second + 1, NodeAt(second_at)) + TravelAfter(second_at)
              : (instance_.has_end() ? instance_.travel_s(second + 1, instance_.end_node()) : 0);
      if ((second_at == first_at ? together : apart) && cost + inner_travel + after < best.cost) {
        int second_node = node;
        double second_time = time;
        double second_cost = cost;
        if (Walk(second, second_node, second_time, second_cost, best.cost)) {
          ++evaluations_;
          const double total =
              CostFrom(second_at, second_node, second_time, second_cost, best.cost);
          if (total < best.cost) best = {total, first_at, second_at};
        }
      }
      if (!apart || second_at == size || load_after_[second_at] + load > capacity) break;
      if (!Walk(order_[second_at], node, time, cost, best.cost)) break;
    }
  }
}

void RouteState::Insert(int first, int second, const Insertion& where) {
  const int begin = where.first_at;
  if (second < 0) {
    order_.insert(order_.begin() + begin, first);
  } else {
    order_.insert(order_.begin() + where.second_at, second);
    order_.insert(order_.begin() + begin, first);
  }
  // An on-board order changes the load from the very start.
  Recompute(second < 0 && IsOnBoardDropoff(first) ? 0 : begin);
}

}  // namespace routeserve::routing
