// VehicleTypeRouter: the RoutePlanner in front of one planner per served model
// (config/served_models.h): a request goes to the planner of its courier's vehicle type, which
// batches, proposes and refines it with that type's model (docs/MODEL.md, Models by vehicle
// type). Several types may share a planner.
// THREADING: as RoutePlanner. The planners are not owned and outlive the router.
#pragma once

#include <array>

#include "absl/status/status.h"
#include "planning/route_planner.h"
#include "routing/problem.h"

namespace routeserve::planning {

class VehicleTypeRouter final : public RoutePlanner {
 public:
  // The planner of each vehicle type, indexed by routing::VehicleType; none null.
  using Planners = std::array<RoutePlanner*, routing::kNumVehicleTypes>;
  explicit VehicleTypeRouter(const Planners& planners) : planners_(planners) {}

  absl::Status Submit(PlanRequest request, PlanCallback done) override {
    RoutePlanner* const planner =
        planners_[static_cast<int>(request.problem.courier.vehicle)];
    return planner->Submit(std::move(request), std::move(done));
  }

 private:
  const Planners planners_;
};

}  // namespace routeserve::planning
