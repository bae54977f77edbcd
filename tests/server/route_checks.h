// Test support for the server's end-to-end tests: requests drawn from the instance generator
// in several sizes and regimes, and the checks every answered route must pass.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "routeserve/v1/route_service.pb.h"
#include "routing/generator.h"

namespace routeserve::testing {

// A named set of generator options (windows, orders on board, end position, caller matrix).
struct Regime {
  std::string name;
  routing::GeneratorOptions options;
};
// One regime per kind of problem the evaluation names (docs/ARCHITECTURE.md, Targets).
std::vector<Regime> Regimes();

// A generated request of `num_stops` stops; `request_id` set.
v1::SuggestRequest MakeRequest(const routing::GeneratorOptions& options, int num_stops,
                               uint64_t seed, const std::string& request_id);

// Empty when `response` is a good answer to `request`: a route over every stop exactly once,
// feasible, arrival times non-decreasing along the route, departures after arrivals, the
// request_id echoed, source `expected_source`. Otherwise what is wrong.
std::string CheckRouteResponse(const v1::SuggestRequest& request,
                               const v1::SuggestResponse& response,
                               v1::RouteSource expected_source = v1::ROUTE_SOURCE_HEURISTIC);

}  // namespace routeserve::testing
