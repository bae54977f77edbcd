// RoutePlanner: what the gRPC handlers hand a validated problem to, and get a SuggestResponse
// back from; and SolverPlanner, the planner that answers with the classical solver
// (source = HEURISTIC) on a WorkQueue.
//
// The handlers know only RoutePlanner. The dynamic batcher (DESIGN §4) and the model runner
// (§5) arrive as another implementation of it, so that swap leaves the handlers alone.
#pragma once

#include <memory>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "batching/clock.h"
#include "routeserve/v1/route_service.pb.h"
#include "routing/objective.h"
#include "routing/problem.h"
#include "routing/solver.h"
#include "server/config.h"
#include "server/work_queue.h"

namespace routeserve::server {

struct PlanRequest {
  routing::RouteProblem problem;  // well formed (api::ToRouteProblem accepted it)
  absl::Time deadline = absl::InfiniteFuture();
  // True once the caller has gone away. Empty: never cancelled.
  absl::AnyInvocable<bool()> is_cancelled;
};

// Gets the response (route, source, model_version, timings; request_id is the caller's to set)
// or why there is none.
using PlanCallback = absl::AnyInvocable<void(absl::StatusOr<v1::SuggestResponse>)>;

// OVERLOAD: Submit() never blocks. ResourceExhausted when the planner's queue is full,
//   Unavailable once it is shut down; `done` is then destroyed without being called and the
//   caller answers.
// DEADLINES: work whose deadline has passed, or whose caller has gone, before it starts is never
//   done: `done` gets DeadlineExceeded or Cancelled.
// ERRORS: `done` gets InvalidArgument for a problem the routing core rejects, Internal for a
//   fault of the server (never an exception: implementations stop them).
// THREADING: Submit() is thread-safe. Once Submit() has accepted a request, `done` is called
//   exactly once, on a planner thread, never from within Submit().
class RoutePlanner {
 public:
  virtual ~RoutePlanner() = default;
  virtual absl::Status Submit(PlanRequest request, PlanCallback done) = 0;
};

// The classical solver's answer to one problem: Instance::Build, routing::Solve with `solver`,
// Evaluate, and the route in API form; source HEURISTIC, timings.refine_s the solve's time,
// batch_size 1, no alternatives. Deterministic: the same problem and options give the same
// route. InvalidArgument when Instance::Build rejects the problem.
absl::StatusOr<v1::SuggestResponse> PlanWithSolver(const routing::RouteProblem& problem,
                                                   const routing::ObjectiveParams& objective,
                                                   const routing::SolverOptions& solver,
                                                   const batching::Clock& clock);

// LATENCY, OVERLOAD, DEADLINES, THREADING: those of WorkQueue (server/work_queue.h), with
//   `server.worker_threads` threads and `server.max_queue_size` waiting requests; a request's
//   run time is one PlanWithSolver, bounded by the solver's budget (`solver.*`).
// SHUTDOWN: Shutdown() refuses new requests, lets the accepted ones complete (run, or dropped
//   when expired or cancelled) and returns when the workers are gone. The destructor does it too.
class SolverPlanner final : public RoutePlanner {
 public:
  struct Options {
    const batching::Clock* clock = batching::Clock::Real();  // never null
    WorkQueueObserver* queue_observer = nullptr;             // not owned; outlives the planner
  };

  static absl::StatusOr<std::unique_ptr<SolverPlanner>> Create(const Config& config,
                                                               Options options);
  ~SolverPlanner() override;

  absl::Status Submit(PlanRequest request, PlanCallback done) override;
  void Shutdown();

  WorkQueueStats queue_stats() const { return queue_->stats(); }

  // Implementation details follow.
 private:
  SolverPlanner(const Config& config, const batching::Clock* clock,
                std::unique_ptr<WorkQueue> queue);

  const routing::ObjectiveParams objective_;
  const routing::SolverOptions solver_;
  const batching::Clock* const clock_;
  std::unique_ptr<WorkQueue> queue_;
};

}  // namespace routeserve::server
