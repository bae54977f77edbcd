// RouteState: a feasible (possibly partial) order with what each position's prefix amounts to
// (departure time, cost so far, load), so that a move which rewrites one region of the order is
// costed from the region on, not from the start. The solver's insertion and local search are
// built on its two operations: cost a replacement, apply it.
//
// A replacement swaps positions [begin, end) of the order for another sequence of stops: a
// relocation, a reversal, an exchange or an insertion is each one replacement. Costing walks the
// new region, then the old suffix only until the schedule meets the old one again (or at once
// when no stop has a time window), and gives up as soon as the cost cannot beat a bound.
//
// THREADING: not thread-safe; costing uses internal scratch space. One per solving thread.
#pragma once

#include <limits>
#include <span>
#include <vector>

#include "routing/instance.h"

namespace routeserve::routing {

class RouteState {
 public:
  static constexpr double kRejected = std::numeric_limits<double>::infinity();

  // An empty route over `instance`, which must outlive the state.
  explicit RouteState(const Instance& instance);

  // Replaces the whole order; it must keep precedence and capacity.
  void Assign(std::vector<int> order);

  const std::vector<int>& order() const { return order_; }
  int size() const { return static_cast<int>(order_.size()); }
  double cost() const { return cost_; }
  // Position of a stop in the order, -1 when it is not in it.
  int position(int stop) const { return position_[stop]; }

  // The cost of the order with positions [begin, end) replaced by `replacement`, or kRejected
  // when that order breaks precedence or capacity or cannot cost less than `bound`. Stops of
  // `replacement` outside [begin, end) must not be in the order yet (an insertion).
  double CostOfReplacement(int begin, int end, std::span<const int> replacement,
                           double bound = kRejected) const;

  // Makes the replacement; the caller has costed it as feasible.
  void Replace(int begin, int end, std::span<const int> replacement);

  // Takes a stop out of the order; removing a pickup or a dropoff alone is only valid when its
  // partner goes too before the state is next costed.
  void Remove(int stop);

 private:
  void Recompute(int from);

  const Instance& instance_;
  std::vector<int> order_;
  std::vector<int> position_;        // per stop
  std::vector<double> departure_;    // per position
  std::vector<double> cost_after_;   // per position: cost of the route up to and including it
  std::vector<int64_t> load_after_;  // per position
  double cost_ = 0;
  // Scratch for costing: marks the stops already walked in a replacement.
  mutable std::vector<uint32_t> seen_;
  mutable uint32_t stamp_ = 0;
  std::vector<int> scratch_;
};

}  // namespace routeserve::routing
