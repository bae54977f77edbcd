// Requests for the server tests and the checks of their answers.
#include "route_checks.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "api/request.h"

namespace routeserve::testing {

std::vector<Regime> Regimes() {
  std::vector<Regime> regimes;
  auto add = [&regimes](std::string name, auto&& adjust) {
    routing::GeneratorOptions options;
    adjust(options);
    regimes.push_back({std::move(name), options});
  };
  add("no windows", [](routing::GeneratorOptions& o) {
    o.windows = routing::TimeWindowTightness::kNone;
    o.end_position_probability = 0;
  });
  add("tight windows", [](routing::GeneratorOptions& o) {
    o.windows = routing::TimeWindowTightness::kTight;
  });
  add("orders on board", [](routing::GeneratorOptions& o) { o.on_board_share = 0.7; });
  add("end position", [](routing::GeneratorOptions& o) { o.end_position_probability = 1.0; });
  add("caller matrix", [](routing::GeneratorOptions& o) { o.caller_matrix = true; });
  add("visits", [](routing::GeneratorOptions& o) { o.visit_share = 0.3; });
  return regimes;
}

v1::SuggestRequest MakeRequest(const routing::GeneratorOptions& options, int num_stops,
                               uint64_t seed, const std::string& request_id) {
  routing::GeneratorOptions sized = options;
  sized.num_stops = num_stops;
  v1::SuggestRequest request = api::ToSuggestRequest(routing::GenerateProblem(sized, seed));
  request.set_request_id(request_id);
  return request;
}

std::string CheckRouteResponse(const v1::SuggestRequest& request,
                               const v1::SuggestResponse& response,
                               v1::RouteSource expected_source) {
  if (response.request_id() != request.request_id()) {
    return absl::StrCat("request_id \"", response.request_id(), "\", expected \"",
                        request.request_id(), "\"");
  }
  if (!response.has_route()) {
    return absl::StrCat("no route; error ", response.error().code(), ": ",
                        response.error().message());
  }
  if (response.source() != expected_source) {
    return absl::StrCat("source ", v1::RouteSource_Name(response.source()), ", expected ",
                        v1::RouteSource_Name(expected_source));
  }
  const v1::Route& route = response.route();
  if (!route.summary().feasible()) return "route not feasible";
  if (route.steps_size() != request.stops_size()) {
    return absl::StrCat(route.steps_size(), " steps for ", request.stops_size(), " stops");
  }
  std::map<std::string, int> visits;
  for (const v1::Stop& stop : request.stops()) visits[stop.id()] = 0;
  int64_t previous_arrival = request.courier().now();
  for (int i = 0; i < route.steps_size(); ++i) {
    const v1::RouteStep& step = route.steps(i);
    auto it = visits.find(step.stop_id());
    if (it == visits.end()) return absl::StrCat("steps[", i, "]: unknown stop ", step.stop_id());
    if (++it->second > 1) return absl::StrCat("steps[", i, "]: stop ", step.stop_id(), " twice");
    if (step.arrival_time() < previous_arrival) {
      return absl::StrCat("steps[", i, "]: arrival ", step.arrival_time(), " before ",
                          previous_arrival);
    }
    if (step.departure_time() < step.arrival_time()) {
      return absl::StrCat("steps[", i, "]: departure before arrival");
    }
    previous_arrival = step.arrival_time();
  }
  return "";
}

}  // namespace routeserve::testing
