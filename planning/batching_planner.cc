// BatchingPlanner: creation, submission (admission, the instance's build, the batcher), drops
// and shutdown. The executor stage is in executor_stage.cc, the finishing stage in
// finishing_stage.cc.
#include "planning/batching_planner.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "batching/policy.h"
#include "planning/batching_planner_tasks.h"
#include "routing/instance.h"

namespace routeserve::planning {
namespace {

// Finishing jobs the refine pool holds per executor and task of a full batch: two batches' worth,
// so that an executor can hand on a batch while the pool still works on its previous one.
constexpr int64_t kRefineBatchesPerExecutor = 2;

int OnePerCore() {
  const unsigned hardware = std::thread::hardware_concurrency();
  return hardware > 0 ? static_cast<int>(hardware) : 1;  // 0 when the platform cannot tell
}

// The status Submit() answers for the batcher's refusal `why` of a task of `stops` stops;
// `none_in_service`: every executor is out of service.
absl::Status Refusal(const absl::Status& why, int stops, int largest_bucket,
                     bool none_in_service) {
  switch (why.code()) {
    case absl::StatusCode::kResourceExhausted:
      return absl::ResourceExhaustedError("queue full");
    case absl::StatusCode::kUnavailable:
      if (none_in_service) {
        return absl::UnavailableError(
            "no executor in service: every one is stuck in a batch; the server awaits a "
            "restart");
      }
      return absl::UnavailableError("server is shutting down");
    case absl::StatusCode::kInvalidArgument:
      return absl::InvalidArgumentError(absl::StrCat(
          "stops: ", stops, " stops, more than the largest batching bucket holds (",
          largest_bucket, ")"));
    default:
      return why;
  }
}

}  // namespace

int BatchingPlanner::ExecutorsFor(const config::Config& config) {
  return config.batching.executors > 0 ? config.batching.executors : OnePerCore();
}

int BatchingPlanner::BucketSizeFor(const config::Config& config, int stops) {
  const int bucket = batching::BucketFor(config.batching.buckets, stops);
  return bucket < 0 ? 0 : config.batching.buckets[bucket];
}

absl::StatusOr<std::unique_ptr<BatchingPlanner>> BatchingPlanner::Create(
    const config::Config& config, Options options) {
  if (options.clock == nullptr) return absl::InvalidArgumentError("planner: clock is null");
  if (options.proposer == nullptr) {
    options.proposer = std::make_unique<SolverProposer>(config.solver);
  }
  const int executors = ExecutorsFor(config);

  WorkQueueOptions refine_options;
  refine_options.num_threads = config.server.worker_threads;
  refine_options.max_queue_size = static_cast<int>(std::clamp<int64_t>(
      kRefineBatchesPerExecutor * executors * config.batching.max_batch_size, 1,
      std::numeric_limits<int>::max()));
  absl::StatusOr<std::unique_ptr<WorkQueue>> refine = WorkQueue::Create(refine_options);
  if (!refine.ok()) return refine.status();

  std::unique_ptr<BatchingPlanner> planner(
      new BatchingPlanner(config, std::move(options), std::move(refine).value()));

  batching::BatcherOptions batcher_options;
  batcher_options.bucket_sizes = config.batching.buckets;
  batcher_options.policy.max_batch_size = config.batching.max_batch_size;
  batcher_options.policy.max_queue_delay = config.batching.max_queue_delay;
  batcher_options.max_queue_size = config.batching.max_queue_size;
  batcher_options.executors = executors;
  batcher_options.stuck_after = config.batching.executor_stuck_after;
  batcher_options.clock = planner->clock_;
  BatchingPlanner* const self = planner.get();
  absl::StatusOr<std::unique_ptr<TaskBatcher>> batcher = TaskBatcher::Create(
      std::move(batcher_options),
      [self](batching::Batch<Pending>& batch) { self->RunBatch(batch); },
      [self](Pending& task, const absl::Status& why) { self->Drop(task, why); },
      [self](int executor, absl::Duration running, int in_service) {
        self->ExecutorStuck(executor, running, in_service);
      });
  if (!batcher.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("batching: ", batcher.status().message()));
  }
  planner->batcher_ = std::move(batcher).value();
  return planner;
}

BatchingPlanner::BatchingPlanner(const config::Config& config, Options options,
                                 std::unique_ptr<WorkQueue> refine)
    : objective_(config.objective), proposer_(std::move(options.proposer)),
      stand_in_(config.solver, RouteSource::kFallbackHeuristic),
      clock_(options.clock),
      observer_(options.observer), shadow_(options.shadow),
      on_executor_stuck_(std::move(options.on_executor_stuck)),
      refine_(std::move(refine)), running_(ExecutorsFor(config)),
      admit_by_deadline_(config.batching.admit_by_deadline) {}

BatchingPlanner::~BatchingPlanner() { Shutdown(absl::ZeroDuration()); }

void BatchingPlanner::Shutdown(absl::Duration grace) {
  // The batcher first: its executors hand their last tasks to the pool before it closes.
  if (batcher_ != nullptr) batcher_->Shutdown(grace);
  refine_->Close();
  refine_->Join();
}

batching::BatcherStats BatchingPlanner::stats() const { return batcher_->stats(); }

const std::vector<int>& BatchingPlanner::bucket_sizes() const {
  return batcher_->options().bucket_sizes;
}

int BatchingPlanner::executors() const { return batcher_->options().executors; }

absl::Status BatchingPlanner::Submit(PlanRequest request, PlanCallback done) {
  const int stops = static_cast<int>(request.problem.stops.size());
  const absl::Time now = clock_->Now();
  auto refuse = [this](absl::Status why) {
    if (observer_ != nullptr) observer_->OnRefused(why);
    return why;
  };
  if (admit_by_deadline_) {
    if (absl::Status admitted = admission_.Check(request.deadline, now); !admitted.ok()) {
      return refuse(std::move(admitted));
    }
  }
  auto call = std::make_shared<Call>();
  call->problem = std::make_shared<const routing::RouteProblem>(std::move(request.problem));
  // Once, here: an O(n^2) build of travel times that no executor should pay.
  absl::StatusOr<routing::Instance> instance = routing::Instance::Build(*call->problem, objective_);
  if (!instance.ok()) return refuse(instance.status());
  call->instance = std::make_shared<const routing::Instance>(*std::move(instance));
  call->num_alternatives = request.num_alternatives;
  call->deadline = request.deadline;
  call->submitted = now;
  // Every answer, whichever path gives it, passes here once: admission counts it. The call
  // outlives its `done`, which it owns.
  call->done = [this, call = call.get(),
                done = std::move(done)](absl::StatusOr<PlanResult> result) mutable {
    admission_.OnAnswered(clock_->Now(), /*served=*/call->ran.load(std::memory_order_acquire));
    done(std::move(result));
  };

  batching::Task<Pending> task;
  task.size = stops;
  task.deadline = request.deadline;
  if (request.is_cancelled) {
    // The batcher wants a const probe; the handlers' probes are not.
    auto probe = std::make_shared<absl::AnyInvocable<bool()>>(std::move(request.is_cancelled));
    task.is_cancelled = [probe] { return (*probe)(); };
  }
  task.payload = Pending{std::move(call)};
  TaskBatcher::TaskId id = 0;
  admission_.OnAccepted(now);  // before its answer can come
  const absl::Status submitted = batcher_->Submit(task, &id);
  if (!submitted.ok()) {
    admission_.OnNotAccepted();
    // `task`, and `done` with it, is destroyed on return without being called.
    const bool none_in_service = executors_stuck() >= executors();
    return refuse(Refusal(submitted, stops, bucket_sizes().back(), none_in_service));
  }
  if (observer_ != nullptr) observer_->OnAccepted(batching::BucketFor(bucket_sizes(), stops));
  if (request.cancellation != nullptr) {
    // Cancel() only queues the drop for the scheduling thread: `done` never runs from here.
    request.cancellation->OnCancel([batcher = batcher_.get(), id] { batcher->Cancel(id); });
  }
  return absl::OkStatus();
}

void BatchingPlanner::Drop(Pending& task, const absl::Status& why) {
  Call& call = *task.call;
  if (!call.Claim()) return;  // never so: only a batch's tasks are claimed elsewhere
  if (observer_ != nullptr) {
    const int bucket =
        batching::BucketFor(bucket_sizes(), static_cast<int>(call.problem->stops.size()));
    observer_->OnDropped(bucket, why, clock_->Now() - call.submitted);
  }
  std::exchange(call.done, nullptr)(why);
}

}  // namespace routeserve::planning
