// The batching planner's own records of a request, shared by its three source files
// (batching_planner.cc: submission and drops; executor_stage.cc; finishing_stage.cc). Not for
// use outside the planner.
#pragma once

#include <atomic>
#include <memory>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "planning/batch_proposer.h"
#include "planning/batching_planner.h"
#include "routing/instance.h"
#include "routing/problem.h"

namespace routeserve::planning {

struct BatchingPlanner::Call {
  std::shared_ptr<const routing::RouteProblem> problem;
  // Built once, by Submit(), on the caller's thread.
  std::shared_ptr<const routing::Instance> instance;
  int num_alternatives = 0;
  absl::Time deadline;
  absl::Time submitted;
  // True for the first caller only, who then calls `done`: the executor's path, the
  // scheduling thread's drop, or the watchdog's, whichever comes first.
  bool Claim() { return !claimed.exchange(true, std::memory_order_acq_rel); }
  std::atomic<bool> claimed{false};
  // Its batch started: its answer took the server's work (admission by deadline counts the
  // pace of those answers only, not of calls dropped from the queue).
  std::atomic<bool> ran{false};
  PlanCallback done;
};

struct BatchingPlanner::Pending {
  std::shared_ptr<Call> call;
};

struct BatchingPlanner::Finishing {
  std::shared_ptr<Call> call;  // claimed: its `done` is this task's to call
  // The watchdog's: the classical solver proposes, here on the pool, in place of the batch
  // that never came back.
  bool stand_in = false;
  // Not OK: the task's answer, with nothing to finish. OK: `proposal` is set (by RunFinishing,
  // for a stand-in).
  absl::Status status;
  Proposal proposal;
  absl::Duration queued;         // from Submit() to its batch's start
  absl::Duration inference;      // its batch's Propose()
  absl::Duration executor_wait;  // of `queued`, its batch's wait for a free executor
  int batch_size = 0;
};

}  // namespace routeserve::planning
