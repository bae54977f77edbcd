// Instance: a RouteProblem prepared for fast, repeated evaluation by the evaluator and the
// solvers. Times are seconds relative to the courier's `now`; travel times and distances are
// precomputed between all nodes; each stop knows its partner.
//
// Nodes: 0 is the courier's position, 1..n the stops in problem order, n + 1 the end position
// when there is one. Routes are orders of stop indices 0..n-1 (stop i is node i + 1).
#pragma once

#include <algorithm>
#include <limits>
#include <vector>

#include "absl/status/statusor.h"
#include "routing/objective.h"
#include "routing/problem.h"

namespace routeserve::routing {

class Instance {
 public:
  static constexpr double kUnbounded = std::numeric_limits<double>::infinity();

  // Builds the instance. The problem must be well formed (routing/validation.h); a problem
  // whose pairing or matrix is inconsistent is an InvalidArgument error, never a crash.
  static absl::StatusOr<Instance> Build(const RouteProblem& problem,
                                        const ObjectiveParams& params);

  int num_stops() const { return static_cast<int>(earliest_.size()); }
  bool has_end() const { return has_end_; }
  int end_node() const { return num_stops() + 1; }  // meaningful only with has_end()
  const ObjectiveParams& params() const { return params_; }

  // Between nodes (see above).
  double travel_s(int from_node, int to_node) const { return travel_s_[from_node * side_ + to_node]; }
  double distance_m(int from_node, int to_node) const {
    return distance_m_[from_node * side_ + to_node];
  }

  // Per stop index, times relative to now (-inf / +inf where unbounded).
  double earliest(int stop) const { return earliest_[stop]; }
  double latest(int stop) const { return latest_[stop]; }
  double service_s(int stop) const { return service_s_[stop]; }
  // Change of the load on board when the stop is served: +load at a pickup, -load at a dropoff.
  int64_t load_delta(int stop) const { return load_delta_[stop]; }
  // The pickup of a dropoff and the dropoff of a pickup; -1 for visits and on-board orders.
  int partner(int stop) const { return partner_[stop]; }
  bool is_pickup(int stop) const { return is_pickup_[stop]; }
  // What the request said of the stop and where the nodes are, as given: read by the model's
  // feature encoder (model/features.h), which needs the geometry and the kinds (an on-board
  // dropoff of load 0 and a visit differ only in kind).
  StopKind kind(int stop) const { return kind_[stop]; }
  const LatLng& position(int node) const { return positions_[node]; }

  // Serving `stop` after leaving `from_node` at `time`: the one place where a step's timing and
  // cost are worked out, for the evaluator, the solvers and refinement alike.
  struct Visit {
    double travel_s;       // the leg driven
    double arrival;
    double service_start;  // the arrival, or the window's opening if later: the rest is waiting
    double departure;      // service start + service time
    double lateness_s;     // after the promised time, at arrival
    double cost;           // leg + lateness_weight x lateness + waiting_weight x waiting
  };
  Visit VisitStop(int from_node, double time, int stop) const {
    Visit visit;
    visit.travel_s = travel_s(from_node, stop + 1);
    visit.arrival = time + visit.travel_s;
    visit.service_start = std::max(visit.arrival, earliest_[stop]);
    visit.departure = visit.service_start + service_s_[stop];
    visit.lateness_s = std::max(0.0, visit.arrival - latest_[stop]);
    visit.cost = visit.travel_s + params_.lateness_weight * visit.lateness_s +
                 params_.waiting_weight * (visit.service_start - visit.arrival);
    return visit;
  }

  // Load on board at the start: the orders whose dropoff has no pickup in the problem.
  int64_t initial_load() const { return initial_load_; }
  int64_t capacity() const { return capacity_; }
  // True when some stop has a time window, so that times matter beyond travel.
  bool has_time_windows() const { return has_time_windows_; }

 private:
  Instance() = default;

  ObjectiveParams params_;
  int side_ = 0;
  bool has_end_ = false;
  bool has_time_windows_ = false;
  std::vector<double> travel_s_;
  std::vector<double> distance_m_;
  std::vector<double> earliest_;
  std::vector<double> latest_;
  std::vector<double> service_s_;
  std::vector<int64_t> load_delta_;
  std::vector<int> partner_;
  std::vector<char> is_pickup_;
  std::vector<StopKind> kind_;
  std::vector<LatLng> positions_;  // per node
  int64_t initial_load_ = 0;
  int64_t capacity_ = 0;
};

}  // namespace routeserve::routing
