// Well-formedness of a RouteProblem (the API's bad inputs that do not depend on protobuf):
// coordinates, stop ids, pairing of pickups and dropoffs, loads and capacity, time windows and
// the caller's matrix. Errors are InvalidArgument and name the field as the API spells it,
// e.g. "stops[3].time_window: earliest after latest".
#pragma once

#include "absl/status/status.h"
#include "routing/problem.h"

namespace routeserve::routing {

// The slowest speed a request or the configuration may give: at 0.01 m/s the longest leg
// already takes about 1e10 s (half the globe at the largest detour factor, 5); slower ones run
// times to infinity.
inline constexpr double kMinSpeedMps = 0.01;

absl::Status ValidateProblem(const RouteProblem& problem);

}  // namespace routeserve::routing
