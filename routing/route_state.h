// RouteState: a feasible (possibly partial) order with what each position's prefix amounts to
// (departure time, cost so far, load, travel), so that a move which rewrites one region of the
// order is costed from the region on, not from the start. The solver's insertion and local
// search are built on it.
//
// A replacement swaps positions [begin, end) of the order for another sequence of stops: a
// relocation, a reversal or an exchange is each one replacement. Costing walks the new region,
// then the old suffix only while the move changes it: once the schedule meets the old one
// again (at once when no stop has a time window) the rest costs what it did, and where it is
// the old one moved by a shift that no stop absorbs or amplifies (none waits, none turns late
// or on time) the rest costs what it did plus the shift at each stop served late; the walk
// skips such stretches whole (NextChange) and gives up as soon as the cost cannot beat a
// bound. Before any walk, a move can ask for a lower bound in O(1) (LowerBound): the prefix's
// cost plus the travel of the edges after it, since lateness and waiting only add. Most moves
// stop there.
//
// The order may be partial: the loads on board are those of the orders it holds, so an on-board
// order whose dropoff is not in the order yet is not on board either until it is inserted.
//
// THREADING: not thread-safe; costing uses internal scratch space. One per solving thread.
#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "routing/candidates.h"
#include "routing/instance.h"

namespace routeserve::routing {

class RouteState {
 public:
  static constexpr double kRejected = std::numeric_limits<double>::infinity();

  // An empty route over `instance`, which must outlive the state.
  explicit RouteState(const Instance& instance);

  // Replaces the whole order; it must put each pickup before its dropoff.
  void Assign(std::vector<int> order);

  const std::vector<int>& order() const { return order_; }
  int size() const { return static_cast<int>(order_.size()); }
  double cost() const { return cost_; }
  // Position of a stop in the order, -1 when it is not in it.
  int position(int stop) const { return position_[stop]; }
  // Full costings made so far (replacements and insertion candidates): the solver's budget.
  int64_t evaluations() const { return evaluations_; }

  // Travel along the order from position `from` to position `to` (from <= to), edge by edge;
  // and the same stops driven the other way, from `to` back to `from`.
  double TravelAlong(int from, int to) const { return travel_into_[to] - travel_into_[from]; }
  double TravelBack(int from, int to) const { return travel_back_[to] - travel_back_[from]; }
  // Node of the stop at a position; -1 gives the courier's start.
  int NodeAt(int position) const { return position < 0 ? 0 : order_[position] + 1; }
  // The node driven to after position - 1: the stop at `position`, or past the last one the
  // end, or -1 for an open route, which drives nowhere after its last stop.
  int NodeOrEnd(int position) const {
    return position < size() ? NodeAt(position) : (instance_.has_end() ? instance_.end_node() : -1);
  }

  // A lower bound on the cost of replacing [begin, end) by a sequence that starts at node
  // `first`, ends at node `last` and drives `inner_travel` between them.
  double LowerBound(int begin, int end, int first, int last, double inner_travel) const;

  // The cost of the order with positions [begin, end) replaced by `replacement`, or kRejected
  // when that order breaks precedence or capacity or does not cost less than `bound`.
  // `replacement` holds the stops of [begin, end) in another order.
  double CostOfReplacement(int begin, int end, std::span<const int> replacement,
                           double bound = kRejected) const;

  // Makes the replacement; the caller has costed it as feasible.
  void Replace(int begin, int end, std::span<const int> replacement);

  // Where a unit not yet in the order costs least: `first` goes before position first_at and,
  // for an order's pickup and dropoff, `second` (its dropoff) before position second_at.
  struct Insertion {
    double cost = kRejected;
    int first_at = -1;
    int second_at = -1;
  };
  // The cheapest feasible insertion of `first` (a lone stop when `second` is -1, else a pickup
  // followed by its dropoff `second`) costing less than `bound`; cost kRejected when none.
  // With `candidates`, only the places where `first` (the lone stop, or the pickup) makes an
  // edge (a, b) with b among a's candidates are tried, the edges it drove at `was` not
  // counting: the granular form of the search's order relocation, `was` the place the unit was
  // taken out of (none by default). O(k n) places for an order rather than O(n^2).
  Insertion BestInsertion(int first, int second, double bound = kRejected,
                          const CandidateLists* candidates = nullptr,
                          const Insertion* was = nullptr) const;
  void Insert(int first, int second, const Insertion& where);

 private:
  // Positions go in blocks of this many for NextChange's skips.
  static constexpr int kBlock = 16;
  // The stops after a position, as a shift of the schedule from it sees them.
  struct After {
    int late = 0;         // how many are served late
    double lateness = 0;  // their lateness in all
    double waiting = 0;   // their waiting in all
    // The least delay and the least advance that change one of them by more than lateness
    // (see delay_changing_).
    double least_delay_changing = kRejected;
    double least_advance_changing = kRejected;
  };
  // Cost of driving on from `node` at `time` with `cost` so far through the positions from
  // `from` on; kRejected when not below `bound`.
  double CostFrom(int from, int node, double time, double cost, double bound) const;
  // Serves `stop` after (node, time, cost), which it updates; false when the cost is no longer
  // below `bound`.
  bool Walk(int stop, int& node, double& time, double& cost, double bound) const;
  // BestInsertion's two cases, improving on `best`.
  void BestStopInsertion(int first, const CandidateLists* candidates, const Insertion& was,
                         Insertion& best) const;
  void BestOrderInsertion(int first, int second, const CandidateLists* candidates,
                          const Insertion& was, Insertion& best) const;
  void Recompute(int from);
  // The part of Recompute that only time windows need: delay_changing_ and the rest below it.
  void RecomputeShifts();
  bool IsOnBoardDropoff(int stop) const;
  // Whether moving the schedule after a position by `shift` seconds (> 0: later) moves every
  // arrival after it by as much with nothing else changing (no stop waits, none on time
  // turns late, none late turns on time, none comes before its window opens): then the rest
  // costs what it did plus lateness_weight x shift x the stops served late. In O(1) what
  // NextChange(position + 1, shift) == size() says.
  static bool MovesWhole(const After& after, double shift);
  // The first position from `from` on whose stop a shift of its arrival by `shift` changes by
  // more than that (size() when none): O(size / kBlock + kBlock).
  int NextChange(int from, double shift) const;
  // Travel of the edges after position `position`, the last leg to the end included.
  double TravelAfter(int position) const;

  const Instance& instance_;
  std::vector<int> order_;
  std::vector<int> position_;        // per stop
  std::vector<double> departure_;    // per position
  std::vector<double> cost_after_;   // per position: cost of the route up to and including it
  std::vector<int64_t> load_after_;  // per position
  std::vector<int64_t> peak_load_;   // per position: most load on board up to it, start included
  std::vector<double> travel_into_;  // per position: travel from the start up to it
  std::vector<double> travel_back_;  // per position: the same edges, each driven backwards
  std::vector<double> arrival_;      // per position
  // Only with time windows (RecomputeShifts), per position: the least delay of the arrival
  // that changes the stop's cost by more than lateness_weight x the delay (the time to spare
  // before the promise; any delay when it waits), and the least advance that does (its
  // lateness; the time since its window opened); kRejected when none. And each block's least
  // of them, for NextChange.
  std::vector<double> delay_changing_;
  std::vector<double> advance_changing_;
  std::vector<double> delay_changing_block_;
  std::vector<double> advance_changing_block_;
  std::vector<After> after_;  // per position: the stops after it
  int64_t start_load_ = 0;           // on board at the start: on-board orders in the order
  double travel_ = 0;                // all travel, the last leg to the end included
  double cost_ = 0;
  mutable int64_t evaluations_ = 0;
  // Scratch for costing: marks the stops already walked in a replacement.
  mutable std::vector<uint32_t> seen_;
  mutable uint32_t stamp_ = 0;
  std::vector<int> scratch_;
};

}  // namespace routeserve::routing
