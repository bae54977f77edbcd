// Writes an evaluated route into the API's Route message: stop ids, ETAs as unix seconds,
// waiting, lateness, load and the summary.
#pragma once

#include "routeserve/v1/route_service.pb.h"
#include "routing/evaluator.h"
#include "routing/problem.h"

namespace routeserve::api {

// `evaluation` must come from the instance built from `problem`. Times are rounded to the
// nearest second.
void ToRouteProto(const routing::RouteProblem& problem, const routing::RouteEvaluation& evaluation,
                  v1::Route* route);

}  // namespace routeserve::api
