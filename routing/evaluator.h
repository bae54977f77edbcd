// The one cost-and-feasibility evaluator (docs/ARCHITECTURE.md, The problem): follows an order
// of stops from the courier's position and time, and reports ETAs, waiting, lateness, load and
// the objective. The solvers, refinement and the response all use it (or, for speed, the
// incremental form in routing/route_state.h, which the tests hold to agree with it).
#pragma once

#include <span>
#include <string>
#include <vector>

#include "routing/instance.h"

namespace routeserve::routing {

// One stop of a route; times are seconds relative to the courier's now.
struct StepTiming {
  int stop = 0;
  double arrival = 0;
  double service_start = 0;  // max(arrival, earliest)
  double departure = 0;      // service_start + service
  double waiting_s = 0;      // service_start - arrival
  double lateness_s = 0;     // max(0, arrival - latest)
  int64_t load_after = 0;    // on board when leaving the stop
};

enum class Infeasibility {
  kNone,
  kStopMissing,        // a stop is not in the order
  kStopRepeated,       // a stop appears twice, or an index is out of range
  kDropoffBeforePickup,
  kOverCapacity,
};
std::string_view InfeasibilityName(Infeasibility reason);

struct RouteEvaluation {
  std::vector<StepTiming> steps;
  double travel_time_s = 0;
  double distance_m = 0;
  double lateness_s = 0;
  double waiting_s = 0;
  double cost = 0;
  double end_time = 0;  // departure from the last stop, or arrival at the end position
  Infeasibility infeasibility = Infeasibility::kNone;
  int infeasible_stop = -1;  // the stop where the first violation shows, when there is one
  bool feasible() const { return infeasibility == Infeasibility::kNone; }
};

// Evaluates `order` (stop indices). An order that misses or repeats stops is reported
// infeasible, with its steps evaluated as given.
RouteEvaluation Evaluate(const Instance& instance, std::span<const int> order);

}  // namespace routeserve::routing
