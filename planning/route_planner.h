// RoutePlanner: what the gRPC handlers (and the tools that plan as the server does) hand a
// validated problem to, and get a PlanResult (planning/plan_result.h) back from.
//
// The handlers know only RoutePlanner. BatchingPlanner (planning/batching_planner.h) implements
// it with the dynamic batcher in front of a BatchProposer: the route model or the classical
// solver, a choice of config that leaves the handlers alone.
#pragma once

#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "planning/plan_result.h"
#include "routing/problem.h"

namespace routeserve::planning {

// How a handler tells a planner that its caller has gone (the call was cancelled, the client
// disconnected), so that work still queued for it is dropped at once and its slot freed, rather
// than when its batch would have formed. The planner registers what dropping its work takes
// with OnCancel() once it has accepted the work; the handler calls Cancel(). Either may come
// first; the drop runs once, on whichever thread comes second. Thread-safe.
class CallCancellation {
 public:
  void OnCancel(absl::AnyInvocable<void()> drop) {
    {
      absl::MutexLock lock(&mu_);
      if (!cancelled_) {
        drop_ = std::move(drop);
        return;
      }
    }
    drop();
  }
  void Cancel() {
    absl::AnyInvocable<void()> drop;
    {
      absl::MutexLock lock(&mu_);
      if (cancelled_) return;
      cancelled_ = true;
      drop = std::move(drop_);
    }
    if (drop) drop();
  }

 private:
  absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  absl::AnyInvocable<void()> drop_ ABSL_GUARDED_BY(mu_);
};

struct PlanRequest {
  routing::RouteProblem problem;  // well formed (api::ToRouteProblem accepted it)
  // options.num_alternatives: other routes wanted beside the best; the response may hold fewer
  // (the classical solver proposes none).
  int num_alternatives = 0;
  absl::Time deadline = absl::InfiniteFuture();
  // True once the caller has gone away. Empty: never cancelled. Planners may call it from any
  // of their threads with their own locks held: it must be quick, and must not block on a lock
  // that its caller holds around Submit().
  absl::AnyInvocable<bool()> is_cancelled;
  // Null: the caller's going away is seen through `is_cancelled` only. The drop a planner
  // registers must not call back into the handler from within Cancel(): `done` comes later,
  // from a planner thread, as ever.
  std::shared_ptr<CallCancellation> cancellation;
};

// Gets the result (route, alternatives, source, model version, timings) or why there is none.
using PlanCallback = absl::AnyInvocable<void(absl::StatusOr<PlanResult>)>;

// OVERLOAD: Submit() never blocks. ResourceExhausted when the planner's queue is full,
//   Unavailable once it is shut down (InvalidArgument for a problem it can never take); `done`
//   is then destroyed without being called and the caller answers.
// DEADLINES: work whose deadline has passed, or whose caller has gone, before it starts is never
//   done: `done` gets DeadlineExceeded or Cancelled (Unavailable when the planner shuts down
//   before the work could start, or has nothing left to run it on).
// ERRORS: `done` gets InvalidArgument for a problem the routing core rejects, Internal for a
//   fault of the server (never an exception: implementations stop them).
// THREADING: Submit() is thread-safe. Once Submit() has accepted a request, `done` is called
//   exactly once, on a planner thread, never from within Submit().
class RoutePlanner {
 public:
  virtual ~RoutePlanner() = default;
  virtual absl::Status Submit(PlanRequest request, PlanCallback done) = 0;
};

}  // namespace routeserve::planning
