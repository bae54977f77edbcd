// Planning many problems as the server does: through a planning::BatchingPlanner of the config
// (its batcher's buckets and batches, its executors, its refine pool, its fallbacks), with the
// config's proposer or another one, and without gRPC. The evaluation's served path, and its
// model-alone and reduced-precision runs, all go through it.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "config/config.h"
#include "planning/batch_proposer.h"
#include "planning/plan_result.h"
#include "routing/problem.h"

namespace routeserve::tools {

// Every problem's result, in order. `proposer` null: the config's (planning::CreateProposer).
// Problems are submitted as the planner's queues allow (at most batching.max_queue_size in
// flight); an error is the first problem the planner could not answer.
absl::StatusOr<std::vector<planning::PlanResult>> PlanAll(
    const config::Config& config, std::unique_ptr<planning::BatchProposer> proposer,
    const std::vector<const routing::RouteProblem*>& problems);

// Calls body(i) for i in [0, n) on `threads` threads.
void ParallelFor(int n, int threads, const std::function<void(int)>& body);

}  // namespace routeserve::tools
