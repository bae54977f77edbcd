// Well-formedness of a RouteProblem (DESIGN §3's bad inputs that do not depend on protobuf):
// coordinates, stop ids, pairing of pickups and dropoffs, loads and capacity, time windows and
// the caller's matrix. Errors are InvalidArgument and name the field as the API spells it,
// e.g. "stops[3].time_window: earliest after latest".
#pragma once

#include "absl/status/status.h"
#include "routing/problem.h"

namespace routeserve::routing {

absl::Status ValidateProblem(const RouteProblem& problem);

}  // namespace routeserve::routing
