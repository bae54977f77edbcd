// The API's side of an answer: an evaluated route as a Route message (stop ids, ETAs as unix
// seconds, waiting, lateness, load and the summary), and a planner's whole result as a
// SuggestResponse. Protobuf is built here, once, at the edge: the planner speaks domain types.
#pragma once

#include "planning/plan_result.h"
#include "routeserve/v1/route_service.pb.h"
#include "routing/evaluator.h"
#include "routing/problem.h"

namespace routeserve::api {

// `evaluation` must come from the instance built from `problem`. Times are rounded to the
// nearest second.
void ToRouteProto(const routing::RouteProblem& problem, const routing::RouteEvaluation& evaluation,
                  v1::Route* route);

v1::RouteSource ToProto(planning::RouteSource source);

// The response to the request `result.problem` came from (its request_id is the caller's to
// set): the route, the alternatives, the source, the model version (empty when the model did not
// make the route) and the timings.
v1::SuggestResponse ToSuggestResponse(const planning::PlanResult& result);

}  // namespace routeserve::api
