// The request pool and the check of answered routes.
#include "tools/bench/request_pool.h"

#include <limits>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "api/request.h"
#include "routing/evaluator.h"
#include "routing/objective.h"
#include "tools/bench/random.h"

namespace routeserve::bench {

absl::StatusOr<std::vector<PooledRequest>> BuildRequestPool(const RequestPoolOptions& options) {
  // The client takes any size the generator makes; the server applies its own limit.
  const api::RequestLimits no_limit{.max_stops = std::numeric_limits<int>::max()};
  SplitMix64 seeds(options.seed);
  std::vector<PooledRequest> pool(static_cast<size_t>(options.size));
  for (int i = 0; i < options.size; ++i) {
    routing::GeneratorOptions generator;
    generator.num_stops = options.stops.SizeOf(i, seeds.Next());
    generator.windows = options.windows;
    generator.caller_matrix = options.matrix;
    PooledRequest& pooled = pool[static_cast<size_t>(i)];
    pooled.request = api::ToSuggestRequest(routing::GenerateProblem(generator, seeds.Next()));
    pooled.request.set_request_id(absl::StrCat("bench-", i));
    absl::StatusOr<routing::RouteProblem> problem = api::ToRouteProblem(pooled.request, no_limit);
    if (!problem.ok()) {
      return absl::InternalError(
          absl::StrCat("generated request ", i, " is not valid: ", problem.status().message()));
    }
    pooled.problem = *std::move(problem);
    for (size_t stop = 0; stop < pooled.problem.stops.size(); ++stop) {
      pooled.stop_index.emplace(pooled.problem.stops[stop].id, static_cast<int>(stop));
    }
  }
  // Prepared instances make a check a few microseconds instead of a table of haversines.
  int64_t instance_bytes = 0;
  for (const PooledRequest& pooled : pool) {
    const auto side = static_cast<int64_t>(pooled.problem.stops.size()) + 2;
    instance_bytes += 2 * side * side * static_cast<int64_t>(sizeof(double));
  }
  if (instance_bytes <= kMaxCachedInstanceBytes) {
    for (PooledRequest& pooled : pool) {
      absl::StatusOr<routing::Instance> instance =
          routing::Instance::Build(pooled.problem, routing::ObjectiveParams{});
      if (instance.ok()) pooled.instance = *std::move(instance);
    }
  }
  return pool;
}

std::string CheckAnswer(const PooledRequest& pooled, const v1::SuggestResponse& response) {
  const std::string& id = pooled.request.request_id();
  if (response.request_id() != id) {
    return absl::StrCat(id, ": answered as request_id \"", response.request_id(), "\"");
  }
  if (!response.has_route()) return absl::StrCat(id, ": no route");
  const int num_stops = static_cast<int>(pooled.problem.stops.size());
  const auto& steps = response.route().steps();
  if (steps.size() != num_stops) {
    return absl::StrCat(id, ": ", steps.size(), " steps for ", num_stops, " stops");
  }
  std::vector<int> order;
  order.reserve(static_cast<size_t>(num_stops));
  for (int i = 0; i < steps.size(); ++i) {
    const auto it = pooled.stop_index.find(steps[i].stop_id());
    if (it == pooled.stop_index.end()) {
      return absl::StrCat(id, ": steps[", i, "]: unknown stop \"", steps[i].stop_id(), "\"");
    }
    order.push_back(it->second);
  }
  // Default parameters: feasibility depends on the order, the pairs and the loads only.
  std::optional<routing::Instance> built;
  if (!pooled.instance.has_value()) {
    absl::StatusOr<routing::Instance> instance =
        routing::Instance::Build(pooled.problem, routing::ObjectiveParams{});
    if (!instance.ok()) {
      return absl::StrCat(id, ": cannot check: ", instance.status().message());
    }
    built = *std::move(instance);
  }
  const routing::RouteEvaluation evaluation =
      routing::Evaluate(pooled.instance.has_value() ? *pooled.instance : *built, order);
  if (!evaluation.feasible()) {
    const int stop = evaluation.infeasible_stop;
    return absl::StrCat(
        id, ": infeasible: ", std::string(routing::InfeasibilityName(evaluation.infeasibility)),
        stop >= 0 && stop < num_stops
            ? absl::StrCat(" at stop \"", pooled.problem.stops[stop].id, "\"")
            : std::string());
  }
  return "";
}

}  // namespace routeserve::bench
