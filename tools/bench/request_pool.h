// The benchmark's requests, generated before any call is timed, and the check every answered
// route must pass.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "routeserve/v1/route_service.pb.h"
#include "routing/generator.h"
#include "routing/instance.h"
#include "routing/problem.h"
#include "tools/common/stops_spec.h"

namespace routeserve::bench {

using tools::StopsSpec;

// One request of the pool and what checking its answers needs.
struct PooledRequest {
  v1::SuggestRequest request;                       // request_id "bench-<index>"
  routing::RouteProblem problem;                    // api::ToRouteProblem(request)
  std::unordered_map<std::string, int> stop_index;  // stop id -> index in problem.stops
  // The problem prepared for routing::Evaluate, kept when the whole pool's fit in
  // kMaxCachedInstanceBytes; otherwise CheckAnswer builds it for each answer.
  std::optional<routing::Instance> instance;
};

// Memory the pool may spend on prepared instances (their travel-time and distance tables).
inline constexpr int64_t kMaxCachedInstanceBytes = int64_t{256} << 20;

struct RequestPoolOptions {
  int size = 1000;  // >= 1
  StopsSpec stops;
  routing::TimeWindowTightness windows = routing::TimeWindowTightness::kLoose;
  bool matrix = false;
  uint64_t seed = 1;
};

// `options.size` distinct requests from routing::GenerateProblem, each with its own seed drawn
// from `options.seed`; the same options give the same pool. An error only when a generated
// request does not convert back to a problem (a generator bug).
absl::StatusOr<std::vector<PooledRequest>> BuildRequestPool(const RequestPoolOptions& options);

// Empty when `response` answers `pooled` with a good route; otherwise what is wrong. Good: the
// request_id echoed, and route.steps visiting every stop of the request exactly once, each
// pickup before its dropoff, the load never above capacity (routing::Evaluate's feasibility,
// which does not depend on the objective's parameters, so the server's configuration does not
// matter). Timings and cost are not checked.
std::string CheckAnswer(const PooledRequest& pooled, const v1::SuggestResponse& response);

}  // namespace routeserve::bench
