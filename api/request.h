// Turns a SuggestRequest into a RouteProblem, checking everything the API calls bad input
// (docs/ARCHITECTURE.md, The API), and back (for tools that generate problems). The server and
// the tools share this.
//
// Errors are InvalidArgument and start with the field as the proto spells it, then what is
// wrong with it: "stops[3].time_window: earliest after latest",
// "courier.vehicle_type: must be set", "stops: 200 stops, above the limit of 128".
#pragma once

#include "absl/status/statusor.h"
#include "routeserve/v1/route_service.pb.h"
#include "routing/problem.h"

namespace routeserve::api {

struct RequestLimits {
  int max_stops = 128;  // the server's `limits.max_stops`
};

absl::StatusOr<routing::RouteProblem> ToRouteProblem(const v1::SuggestRequest& request,
                                                     const RequestLimits& limits);

// The request that converts back to `problem` (request_id and options left empty).
v1::SuggestRequest ToSuggestRequest(const routing::RouteProblem& problem);

}  // namespace routeserve::api
