// The exact solver for small instances, used by tests and evaluation as the optimum.
//
// Exact for the whole objective: a dynamic programme over (visited set, last stop) that keeps,
// per state, every label of (cost so far, time) that no other label dominates. One number per
// state is not enough: with time windows a costlier partial route that is earlier can finish
// cheaper. Precedence and capacity restrict the transitions.
#pragma once

#include "absl/status/statusor.h"
#include "routing/instance.h"
#include "routing/solver.h"

namespace routeserve::routing {

inline constexpr int kMaxExactStops = 12;

// The optimal feasible route; InvalidArgument above kMaxExactStops stops.
absl::StatusOr<Solution> SolveExact(const Instance& instance);

}  // namespace routeserve::routing
