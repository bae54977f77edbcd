// BatchingPlanner: the RoutePlanner that puts the dynamic batcher (batching/batcher.h) between
// the gRPC handlers and the solving (docs/ARCHITECTURE.md has the picture). Submit() builds the
// request's instance (routing::Instance::Build, its O(n^2) travel times) on the caller's thread,
// once; the request becomes a task in the bucket of its stop count, and each batch is worked in
// two stages:
//   1. on the batcher's executor thread (planning/executor_stage.cc): one
//      BatchProposer::Propose() (planning/batch_proposer.h) for the batch's instances: the
//      classical solver's insertion routes, or the model's batched forward pass;
//   2. on the refine pool, `server.worker_threads` threads (planning/finishing_stage.cc): for
//      each task, BatchProposer::Refine of its proposal within the caller's deadline, its
//      evaluation, the alternatives, the proposal's source, the model version and the timings
//      (a PlanResult, planning/plan_result.h), then `done`. An executor, which may drive a
//      device, thus refines nothing unless the pool is full (see OVERLOAD).
//
// LATENCY: a request waits at most batching.max_queue_delay_us, plus the wait for a free
//   executor, plus its batch's run time (Propose of the whole batch), plus its wait for a refine
//   thread and its own finishing. Its result says so: timings.queued (Submit() to its batch's
//   start), inference (its batch's Propose(), when the model made its route), refine (its
//   finishing), batch_size (tasks in its batch, itself included).
// OVERLOAD: Submit() never blocks. With batching.admit_by_deadline, a task whose deadline the
//   calls ahead of it would outlast (planning/deadline_admission.h) is refused with
//   ResourceExhausted("deadline cannot be met: ..."); a bucket holding batching.max_queue_size
//   tasks refuses the next with ResourceExhausted("queue full"); after Shutdown(), Unavailable;
//   `done` is then destroyed without being called (RoutePlanner's contract). The refine pool
//   holds executors x max_batch_size x 2 finishing jobs; when it is full, the executor finishes
//   its batch's tasks itself rather than lose an answer (refine_stats().refused_full counts
//   them): the executors slow down, the buckets fill up, and Submit() refuses.
// DEADLINES: a task whose deadline passes while it waits is answered DeadlineExceeded as the
//   deadline passes; one whose caller has gone, Cancelled when its batch forms. Neither is
//   proposed; one whose caller says so through PlanRequest::cancellation, Cancelled at once
//   (its queue slot freed). Once its batch has started, a task is finished whatever the time,
//   its refinement cut short at its deadline.
// STUCK EXECUTORS: with batching.executor_stuck_after_s > 0, a batch that runs that long (a
//   forward pass that never returns cannot be interrupted) takes its executor out of service
//   for good (batching/batcher.h), and its tasks are answered without it, each once: a task
//   whose deadline allows gets the classical solver's route on the refine pool (source
//   kFallbackHeuristic, counted by executor_stuck_fallbacks()), the others DeadlineExceeded.
//   Should the batch return later, its results are dropped: nothing is answered twice and the
//   observer hears nothing more of it. Options::on_executor_stuck hears how many executors
//   are left; with none, Submit() refuses with Unavailable ("no executor in service") and the
//   queued tasks are answered Unavailable at once.
// ERRORS: Submit() refuses with InvalidArgument a problem Instance::Build rejects, and one with
//   more stops than the largest bucket (the config's check across keys keeps the server's
//   requests within the buckets). An exception thrown while a batch is proposed answers the
//   tasks of the batch not yet answered Internal; one thrown while a task is finished, that
//   task. A proposal that is not an order of the task's stops, or has no source, is answered
//   Internal.
// THREADING: Submit(), Shutdown() and the accessors are thread-safe. `done` is called exactly
//   once for every accepted task, never from within Submit(): on a refine thread; on the
//   executor when the pool is full or the batch failed; on the batcher's scheduling thread for a
//   task dropped before its batch formed. The observer's hooks run on those same threads.
// SHUTDOWN: Shutdown(grace) refuses new tasks; queued ones still go, in batches that no longer
//   wait for company, and those still queued when `grace` has passed are answered Unavailable;
//   the executors finish the batches they hold; then the refine pool finishes every task handed
//   to it and its threads are joined. When it returns, every accepted task has been answered.
//   Later calls return at once; the destructor calls Shutdown(0) if nobody did. Executors out
//   of service are not waited for by Shutdown(), but are by the destructor: an owner whose
//   executor is stuck for good keeps the planner (executors_stuck() says so).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "batching/batcher.h"
#include "batching/clock.h"
#include "config/config.h"
#include "planning/batch_proposer.h"
#include "planning/deadline_admission.h"
#include "planning/route_planner.h"
#include "planning/shadow_runner.h"
#include "planning/work_queue.h"
#include "routing/objective.h"

namespace routeserve::planning {

// A batch, as the observer hears of it.
struct BatchInfo {
  int bucket = 0;       // index into BatchingPlanner::bucket_sizes()
  int padded_size = 0;  // the bucket's stop count
  int batch_size = 0;   // tasks in the batch
  int stops = 0;        // the tasks' stops, summed: padding is batch_size x padded_size - stops
  int executor = 0;     // the executor running it, 0 .. executors()-1
  absl::Duration executor_wait;  // how long the batch could have gone before an executor took it
  // Per task, from Submit() to the batch's start. Valid during the hook's call only.
  std::span<const absl::Duration> queued;
};

// A batched task's answer, as the observer hears of it.
struct FinishedTask {
  absl::Status status;     // OK: a route; else the task's own error
  absl::Duration refine;   // its finishing time (refinement, evaluation, alternatives)
  // With a route: the routing cost (objective units) of the order proposed (as its proposer
  // costed it) and of the route answered, after refinement; and that route's lateness summed
  // over its stops, in seconds.
  double proposed_cost = 0;
  double route_cost = 0;
  double lateness_s = 0;
  // The model version that proposed the route (PlanResult::model_version); empty when the
  // classical solver did.
  std::string model_version;
};

// Hooks for metrics and tests; every method has an empty default. Called on the threads named
// below, without the planner's locks; they must be thread-safe, and quick unless said otherwise.
class BatchingObserver {
 public:
  virtual ~BatchingObserver() = default;
  // Submit() accepted a task into `bucket`; on the submitting thread, once the batcher holds it
  // (its batch may already be running).
  virtual void OnAccepted(int /*bucket*/) {}
  // Submit() refused a task with `why`: ResourceExhausted, Unavailable or InvalidArgument (a
  // problem too large, or one Instance::Build rejects); on the submitting thread.
  virtual void OnRefused(const absl::Status& /*why*/) {}
  // An executor took `batch`: on its thread, before it is proposed. It may block: the executor
  // waits (tests hold it this way).
  virtual void OnBatchStart(const BatchInfo& /*batch*/) {}
  // The proposer answered `batch` after `inference`; on the executor. Not called when the
  // proposer threw.
  virtual void OnBatchDone(const BatchInfo& /*batch*/, absl::Duration /*inference*/) {}
  // Executor `executor` was taken out of service, its batch having run for `running`;
  // `in_service` executors are left. On the batcher's scheduling thread.
  virtual void OnExecutorStuck(int /*executor*/, absl::Duration /*running*/,
                               int /*in_service*/) {}
  // A task of `bucket` left its queue without running, with `why` (DeadlineExceeded,
  // Cancelled, Unavailable), having waited `queued`; on the batcher's scheduling thread, before
  // its `done`.
  virtual void OnDropped(int /*bucket*/, const absl::Status& /*why*/,
                         absl::Duration /*queued*/) {}
  // A batched task's answer is ready; on the thread that finishes it, just before its `done`.
  virtual void OnFinished(const FinishedTask& /*task*/) {}
};

class BatchingPlanner final : public RoutePlanner {
 public:
  struct Options {
    // Proposes the orders of each batch; null: a SolverProposer with `config.solver`.
    std::unique_ptr<BatchProposer> proposer;

    // Hears, after the observer, that an executor was taken out of service, with the number
    // left (0: the planner can serve nothing more); on the scheduling thread. May be empty.
    std::function<void(int in_service)> on_executor_stuck;

    // Tries a share of the routes the model answered on a shadow model (model.shadow_*); null:
    // none. Not owned; must take Offer() calls until Shutdown() returns.
    ShadowRunner* shadow = nullptr;

    // Affect testing and metrics.
    const batching::Clock* clock = batching::Clock::Real();  // never null
    BatchingObserver* observer = nullptr;  // not owned; outlives the planner
  };

  // Starts the executors (`batching.executors`, 0 = one per core) and the refine pool
  // (`server.worker_threads`, 0 = one per core). InvalidArgument for settings out of range.
  static absl::StatusOr<std::unique_ptr<BatchingPlanner>> Create(const config::Config& config,
                                                                 Options options);
  // The executors `config` asks for, resolved: batching.executors, or one per core for 0.
  static int ExecutorsFor(const config::Config& config);
  // The stop count of the bucket a problem of `stops` stops is batched in (what its batch is
  // padded to); 0 when no bucket holds it.
  static int BucketSizeFor(const config::Config& config, int stops);
  BatchingPlanner(const BatchingPlanner&) = delete;
  BatchingPlanner& operator=(const BatchingPlanner&) = delete;
  ~BatchingPlanner() override;

  absl::Status Submit(PlanRequest request, PlanCallback done) override;

  // See SHUTDOWN above. Blocks until every accepted task is answered.
  void Shutdown(absl::Duration grace);

  // The batcher's counters: accepted, refused, expired, cancelled, shut down, batches, tasks
  // executed, and the tasks waiting now per bucket.
  batching::BatcherStats stats() const;
  // The refine pool's counters; refused_full counts the tasks finished on their executor.
  WorkQueueStats refine_stats() const { return refine_->stats(); }
  // Calls accepted and not yet answered: queued, in a batch or being finished.
  int64_t in_flight() const { return admission_.in_system(); }
  const std::vector<int>& bucket_sizes() const;
  int executors() const;
  int refine_threads() const { return refine_->num_threads(); }
  // Executors taken out of service (STUCK EXECUTORS above), and the tasks of their batches
  // answered by the classical solver instead.
  int executors_stuck() const { return static_cast<int>(stats().stuck_executors); }
  int64_t executor_stuck_fallbacks() const { return stuck_fallbacks_.load(); }

  // Implementation details follow.
 private:
  struct Call;       // a request's instance and its `done`, answered once (shared)
  struct Pending;    // a request waiting for its batch
  struct Finishing;  // a task of a proposed batch, on its way to `done`
  using TaskBatcher = batching::Batcher<Pending>;

  BatchingPlanner(const config::Config& config, Options options,
                  std::unique_ptr<WorkQueue> refine);

  // The executor stage (executor_stage.cc). RunBatch is the wall that turns an exception into
  // Internal answers.
  void RunBatch(batching::Batch<Pending>& batch);
  void Propose(batching::Batch<Pending>& batch, const BatchInfo& info);
  // Scheduling thread: `executor` is out of service; answers its batch's tasks.
  void ExecutorStuck(int executor, absl::Duration running, int in_service);
  // True once the watchdog has answered the batch `executor` runs.
  bool TakenByWatchdog(int executor) const;

  // The finishing stage (finishing_stage.cc). Finish hands a task to the refine pool, or
  // finishes it here when the pool is full; RunFinishing answers it.
  void Finish(std::shared_ptr<Finishing> task);
  void RunFinishing(Finishing& task);
  // The result; fills `outcome`'s costs and lateness.
  absl::StatusOr<PlanResult> Respond(Finishing& task, FinishedTask& outcome) const;
  // Up to `num_alternatives` of the proposal's other feasible orders, each refined by `refiner`
  // (BatchProposer::RefineAlternative, with the proposal's `candidates`), cheapest first:
  // refined in the order of their proposed costs until that many are distinct from the route
  // `best` and from one another (refinement brings many to the same local optimum), so possibly
  // fewer than asked, and at most one refinement per proposed order.
  static std::vector<routing::RouteEvaluation> Alternatives(
      const routing::Instance& instance, std::vector<CostedOrder> alternatives,
      const std::vector<int>& best, int num_alternatives, const BatchProposer& refiner,
      const routing::CandidateLists* candidates);

  // Scheduling thread: a task dropped before its batch formed.
  void Drop(Pending& task, const absl::Status& why);

  const routing::ObjectiveParams objective_;
  const std::unique_ptr<BatchProposer> proposer_;
  const SolverProposer stand_in_;  // answers the tasks of a stuck executor's batch
  const batching::Clock* const clock_;
  BatchingObserver* const observer_;
  ShadowRunner* const shadow_;
  const std::function<void(int)> on_executor_stuck_;
  const std::unique_ptr<WorkQueue> refine_;
  // Per executor, the calls of the batch it runs (empty while idle), and whether the watchdog
  // took them.
  struct Running {
    std::vector<std::shared_ptr<Call>> calls;
    bool taken = false;
  };
  mutable absl::Mutex running_mu_;
  std::vector<Running> running_ ABSL_GUARDED_BY(running_mu_);
  std::atomic<int64_t> stuck_fallbacks_{0};
  // Admission by deadline (batching.admit_by_deadline): the calls in the system and the pace of
  // their answers.
  const bool admit_by_deadline_;
  DeadlineAdmission admission_;
  // Declared after refine_: its executors hand their tasks to the pool.
  std::unique_ptr<TaskBatcher> batcher_;
};

}  // namespace routeserve::planning
