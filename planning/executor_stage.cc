// BatchingPlanner's executor stage: one Propose() per batch on the batcher's executor, and the
// watchdog's answers for a batch whose executor is stuck.
#include <algorithm>
#include <exception>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/exception_status.h"
#include "base/log.h"
#include "planning/batching_planner.h"
#include "planning/batching_planner_tasks.h"

namespace routeserve::planning {

void BatchingPlanner::RunBatch(batching::Batch<Pending>& batch) {
  int stops = 0;
  for (const Pending& task : batch.payloads) {
    stops += static_cast<int>(task.call->problem->stops.size());
  }
  const BatchInfo info{.bucket = batch.bucket,
                       .padded_size = batch.padded_size,
                       .batch_size = static_cast<int>(batch.payloads.size()),
                       .stops = stops,
                       .executor = batch.executor,
                       .executor_wait = batch.executor_wait,
                       .queued = batch.queued};
  {
    // What the watchdog answers should this batch never come back.
    absl::MutexLock lock(&running_mu_);
    Running& running = running_[batch.executor];
    running.taken = false;
    running.calls.clear();
    for (const Pending& task : batch.payloads) {
      task.call->ran.store(true, std::memory_order_release);
      running.calls.push_back(task.call);
    }
  }
  if (observer_ != nullptr) observer_->OnBatchStart(info);
  // The wall: an exception answers the tasks that have no answer yet, here on the executor.
  absl::Status failure;
  try {
    Propose(batch, info);
  } catch (...) {
    failure = base::StatusFromException("batch failed", std::current_exception());
  }
  if (!failure.ok()) {
    for (Pending& task : batch.payloads) {
      if (task.call->Claim()) std::exchange(task.call->done, nullptr)(failure);
    }
  }
  absl::MutexLock lock(&running_mu_);
  running_[batch.executor].calls.clear();
}

void BatchingPlanner::Propose(batching::Batch<Pending>& batch, const BatchInfo& info) {
  std::vector<const routing::Instance*> instances;
  instances.reserve(batch.payloads.size());
  for (const Pending& task : batch.payloads) instances.push_back(task.call->instance.get());

  const absl::Time start = clock_->Now();
  std::vector<absl::StatusOr<Proposal>> proposals = proposer_->Propose(
      instances, BatchShape{.padded_size = batch.padded_size, .executor = batch.executor});
  const absl::Duration inference = clock_->Now() - start;
  // Back after the watchdog gave up on it: its tasks have their answers; drop the results,
  // and say nothing to the observer, which may be gone by now.
  if (TakenByWatchdog(batch.executor)) return;
  if (observer_ != nullptr) observer_->OnBatchDone(info, inference);
  const bool one_each = proposals.size() == instances.size();

  for (size_t i = 0; i < batch.payloads.size(); ++i) {
    Pending& task = batch.payloads[i];
    if (!task.call->Claim()) continue;  // the watchdog answered it
    auto finishing = std::make_shared<Finishing>();
    finishing->call = task.call;
    if (!one_each) {
      finishing->status = absl::InternalError(absl::StrCat(
          "proposer returned ", proposals.size(), " results for ", instances.size(),
          " problems"));
    } else if (!proposals[i].ok()) {
      finishing->status = proposals[i].status();
    } else {
      finishing->proposal = *std::move(proposals[i]);
      finishing->queued = batch.queued[i];
      finishing->inference = inference;
      finishing->executor_wait = batch.executor_wait;
      finishing->batch_size = info.batch_size;
    }
    Finish(std::move(finishing));
  }
}

bool BatchingPlanner::TakenByWatchdog(int executor) const {
  absl::MutexLock lock(&running_mu_);
  return running_[executor].taken;
}

void BatchingPlanner::ExecutorStuck(int executor, absl::Duration running, int in_service) {
  std::vector<std::shared_ptr<Call>> calls;
  {
    absl::MutexLock lock(&running_mu_);
    running_[executor].taken = true;
    calls = running_[executor].calls;
  }
  base::Log("batching: executor %d is stuck: its batch of %d has run for %s "
            "(batching.executor_stuck_after_s); it is out of service for good, %d left in "
            "service",
            executor, static_cast<int>(calls.size()), absl::FormatDuration(running), in_service);
  // First, so that by the time a caller has its answer, health and the observer know.
  if (observer_ != nullptr) observer_->OnExecutorStuck(executor, running, in_service);
  if (on_executor_stuck_) on_executor_stuck_(in_service);
  const absl::Time now = clock_->Now();
  const int batch_size = static_cast<int>(calls.size());
  for (const std::shared_ptr<Call>& call : calls) {
    if (!call->Claim()) continue;  // answered already, by the executor's own path
    auto finishing = std::make_shared<Finishing>();
    finishing->call = call;
    if (now >= call->deadline) {
      finishing->status = absl::DeadlineExceededError(
          "the executor running its batch is stuck, and the deadline has passed");
    } else {
      finishing->stand_in = true;
      finishing->inference = running;
      finishing->queued = std::max(absl::ZeroDuration(), now - call->submitted - running);
      finishing->batch_size = batch_size;
    }
    Finish(std::move(finishing));
  }
}

}  // namespace routeserve::planning
