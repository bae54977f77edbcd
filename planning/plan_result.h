// What a planner answers a request with, in the domain's terms: the route and its evaluation,
// the alternatives, what produced the route, and where the time went. The server turns it into
// a SuggestResponse at its edge (api::ToSuggestResponse); the tools read it as it is.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "routing/evaluator.h"
#include "routing/problem.h"

namespace routeserve::planning {

// What produced a route, and so how it was refined; the API's RouteSource without its
// "unspecified".
enum class RouteSource {
  kModel,             // the route model's order, unchanged by refinement
  kModelRefined,      // the route model's order, improved by local search
  kHeuristic,         // the classical solver, chosen by configuration
  kFallbackHeuristic  // the classical solver, standing in for the model
};

// True for the sources whose route the model made.
inline bool FromModel(RouteSource source) {
  return source == RouteSource::kModel || source == RouteSource::kModelRefined;
}

struct PlanTimings {
  absl::Duration queued;         // from Submit() to its batch's start
  absl::Duration executor_wait;  // of `queued`, its batch's wait for a free executor
  absl::Duration inference;      // its batch's model run; zero when no model made the route
  absl::Duration refine;         // its own finishing: refinement, evaluation, alternatives
  int batch_size = 0;            // requests in its batch, itself included
};

struct PlanResult {
  std::shared_ptr<const routing::RouteProblem> problem;  // the request's, as submitted
  std::vector<int> order;                                  // the route: stop indices in order
  routing::RouteEvaluation evaluation;                     // of `order`
  double proposed_cost = 0;  // the cost of the order proposed, before refinement
  // Other good routes, best first, feasible, distinct from the route and from each other.
  std::vector<routing::RouteEvaluation> alternatives;
  RouteSource source = RouteSource::kHeuristic;
  std::string model_version;  // the model's, when it made the route; else empty
  PlanTimings timings;
};

}  // namespace routeserve::planning
