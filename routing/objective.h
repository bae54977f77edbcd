// The parameters of the objective (docs/ARCHITECTURE.md, The problem): how travel time is
// estimated and how lateness and waiting are weighed against it. The server's config sets them;
// the model stores them.
#pragma once

#include <array>

#include "routing/problem.h"

namespace routeserve::routing {

struct ObjectiveParams {
  // Cost = travel time + lateness_weight x lateness + waiting_weight x waiting, all seconds.
  double lateness_weight = 10.0;
  double waiting_weight = 0.0;
  // Road distance = great-circle distance x detour_factor (>= 1).
  double detour_factor = 1.3;
  // Speed of each vehicle type on the road, metres per second, indexed by VehicleType.
  std::array<double, kNumVehicleTypes> speed_mps = {4.5, 6.5, 8.0, 7.0};

  double speed_of(VehicleType type) const { return speed_mps[static_cast<int>(type)]; }
};

}  // namespace routeserve::routing
