// Batcher groups tasks of similar size into batches for a fixed set of executors
// (docs/ARCHITECTURE.md, Dynamic batching). It is generic: a task is any payload with a size, a
// deadline and a cancellation probe; it knows nothing of gRPC, protobuf or torch.
//
// BUCKETS: a task goes to the smallest bucket whose size holds it (e.g. stop counts 8, 16, 32,
//   64, 128); a batch holds tasks of one bucket only, so that the executor pads them to one
//   shape.
// BATCHING: a bucket's batch may go when it holds max_batch_size tasks, or once its oldest task
//   has waited max_queue_delay, whichever comes first; an idle executor takes it at once. When
//   several buckets may go, the one whose oldest task came first goes first, so none starves.
//   With no idle executor, tasks keep arriving and batches grow (up to max_batch_size): load
//   batches itself.
// LATENCY: a task waits at most max_queue_delay, plus the wait for a free executor (reported per
//   batch as `executor_wait`), plus its batch's run time.
// OVERLOAD: Submit() never blocks. A bucket holding max_queue_size tasks refuses the next with
//   ResourceExhausted at once; the task stays with the caller (Submit() moves from it only when
//   it accepts it).
// DEADLINES: a task whose deadline passes while it waits is dropped and handed to `drop` with
//   DeadlineExceeded when its deadline passes, not when an executor frees up; a task whose
//   cancellation probe says its caller has gone is dropped with Cancelled when it would have
//   been batched, or at once when the caller says so with Cancel(). A dropped task is never
//   executed.
// STUCK EXECUTORS: with stuck_after > 0, an executor whose batch has run that long is taken out
//   of service for good (a running batch cannot be interrupted): `on_stuck` hears of it, once,
//   on the scheduling thread, and must answer for the batch's tasks itself; the executor takes
//   no more batches, even if `run` returns later (its thread then exits). Once every executor
//   is out of service, Submit() refuses with Unavailable and the queued tasks are dropped with
//   Unavailable: nothing would ever run them. The check needs no thread of its own: the
//   scheduling thread wakes when the oldest running batch reaches stuck_after.
// SHUTDOWN: Shutdown(grace) refuses new tasks (Unavailable) and lets every bucket go without
//   waiting for the delay; what is still queued when `grace` has passed is dropped with
//   Unavailable; then the executors finish their batches and exit. Every accepted task is
//   executed or dropped, exactly once. Shutdown() does not wait for executors out of service;
//   the destructor does (their `run` may yet return into the batcher): an owner whose executor
//   is stuck for good must not destroy the batcher (the process is about to exit anyway).
// THREADING: Submit(), Shutdown() and stats() are thread-safe. `run` is called on executor
//   threads, concurrently when there are several executors; `drop` on the batcher's scheduling
//   thread. Neither is ever called from within Submit(), and neither may call back into the
//   batcher. Both must answer for their tasks: the batcher forgets a task once it has handed
//   it over.
//
// Tune: max_batch_size to the largest batch the executor runs efficiently; max_queue_delay to
//   the latency a caller may lose waiting for company (0 batches only what piles up while the
//   executors are busy); executors to the number of batches the device runs at once.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <queue>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "batching/clock.h"
#include "batching/policy.h"

namespace routeserve::batching {

struct BatcherOptions {
  // Affect behaviour.
  std::vector<int> bucket_sizes = {8, 16, 32, 64, 128};  // ascending, each >= 1
  BatchingPolicy policy;                                 // max_batch_size, max_queue_delay
  int max_queue_size = 1024;                             // tasks waiting per bucket, >= 1
  int executors = 1;                                     // threads running batches, >= 1
  // How long a batch may run before its executor is taken out of service (STUCK EXECUTORS
  // above); zero: never. Set it well above the slowest batch expected.
  absl::Duration stuck_after = absl::ZeroDuration();

  // Affect testing and metrics.
  const Clock* clock = Clock::Real();  // never null
};

template <typename Payload>
struct Task {
  Payload payload;
  int size = 1;  // picks the bucket
  absl::Time deadline = absl::InfiniteFuture();
  // True once the caller has gone away. Empty: never cancelled. Called with the batcher's lock
  // held: it must be quick and must not call back into the batcher.
  absl::AnyInvocable<bool() const> is_cancelled;
};

template <typename Payload>
struct Batch {
  int bucket = 0;       // index into bucket_sizes
  int padded_size = 0;  // bucket_sizes[bucket]: what every task of the batch fits in
  int executor = 0;     // 0 .. executors-1: which executor runs it (its stream, its scratch)
  std::vector<Payload> payloads;
  std::vector<absl::Duration> queued;  // per task: from Submit() to the batch's start
  absl::Duration executor_wait;        // how long the batch could have gone before it did
};

// Counters since creation.
struct BatcherStats {
  int64_t accepted = 0;
  int64_t refused_full = 0;
  int64_t refused_closed = 0;
  int64_t expired = 0;    // dropped: the deadline passed while queued
  int64_t cancelled = 0;  // dropped: the caller went away
  // Dropped with Unavailable: still queued when the grace period ended, or when the last
  // executor in service was taken out of it.
  int64_t shut_down = 0;
  int64_t batches = 0;
  int64_t executed = 0;   // tasks handed to `run`
  int64_t refused_no_executor = 0;  // Submit() refused: every executor out of service
  int64_t stuck_executors = 0;      // executors taken out of service
  int64_t late_returns = 0;         // of those, the ones whose `run` returned after all
  std::vector<int64_t> depth;  // tasks waiting now, per bucket
};

template <typename Payload>
class Batcher {
 public:
  using RunBatch = std::function<void(Batch<Payload>& batch)>;
  using DropTask = std::function<void(Payload& payload, const absl::Status& why)>;
  // Executor `executor` was taken out of service, its batch having run for `running`;
  // `in_service` executors are left. Its batch's tasks are the callee's to answer.
  using ExecutorStuck =
      std::function<void(int executor, absl::Duration running, int in_service)>;
  // Identifies an accepted task, for Cancel().
  using TaskId = uint64_t;

  // InvalidArgument naming the option when one is out of range; starts the threads.
  // `on_stuck` may be empty.
  static absl::StatusOr<std::unique_ptr<Batcher>> Create(BatcherOptions options, RunBatch run,
                                                         DropTask drop,
                                                         ExecutorStuck on_stuck = nullptr);

  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;
  ~Batcher();

  // OK: accepted (moved from); `id`, when given, gets its id. InvalidArgument: its size fits no
  // bucket. ResourceExhausted: its bucket is full. Unavailable: shutting down, or no executor
  // is in service. On error `task` is left as it was.
  absl::Status Submit(Task<Payload>& task, TaskId* id = nullptr);

  // The caller of task `id` has gone: if it still waits in its queue, it is dropped with
  // Cancelled (its slot freed at once; `drop` runs on the scheduling thread, as ever). A task
  // batched, dropped or unknown is left alone. Thread-safe; never calls `drop` itself.
  void Cancel(TaskId id);

  // See SHUTDOWN above. Blocks until the executors have exited; later calls return at once.
  void Shutdown(absl::Duration grace);

  BatcherStats stats() const;
  const BatcherOptions& options() const { return options_; }

  // Implementation details follow.
 private:
  struct Entry {
    Payload payload;
    absl::Time enqueued;
    absl::Time deadline;
    absl::AnyInvocable<bool() const> is_cancelled;
    uint64_t id = 0;
  };
  struct Dropped {
    Payload payload;
    absl::Status why;
  };
  using DeadlineHeap = std::priority_queue<std::pair<absl::Time, uint64_t>,
                                           std::vector<std::pair<absl::Time, uint64_t>>,
                                           std::greater<>>;

  Batcher(BatcherOptions options, RunBatch run, DropTask drop, ExecutorStuck on_stuck)
      : options_(std::move(options)), run_(std::move(run)), drop_(std::move(drop)),
        on_stuck_(std::move(on_stuck)), queues_(options_.bucket_sizes.size()),
        idle_executors_(options_.executors), in_service_(options_.executors),
        running_since_(options_.executors, absl::InfiniteFuture()),
        stuck_(options_.executors, false) {}

  void ScheduleLoop();
  void ExecutorLoop(int index);
  // The rest is called with mu_ held.
  std::vector<BucketState> BucketStates() const;
  // Moves tasks whose deadline has passed into `dropped`.
  void ExpireDue(absl::Time now, std::vector<Dropped>& dropped);
  // Takes up to max_batch_size tasks of one bucket; cancelled ones go to `dropped`.
  Batch<Payload> FormBatch(int bucket, absl::Time now, std::vector<Dropped>& dropped);
  absl::Time NextWake(absl::Time now) const;
  bool AllQueuesEmpty() const;
  // Takes executors whose batch has run stuck_after out of service (appended to `stuck`, with
  // how long they ran); with none left, moves every queued task into `dropped`.
  void CheckExecutors(absl::Time now, std::vector<std::pair<int, absl::Duration>>& stuck,
                      std::vector<Dropped>& dropped);
  // True while an executor in service runs a batch or a formed batch waits for one.
  bool BatchesInService() const;

  const BatcherOptions options_;
  const RunBatch run_;
  const DropTask drop_;
  const ExecutorStuck on_stuck_;

  mutable std::mutex mu_;
  std::condition_variable schedule_cv_;  // the scheduler waits on it: a task came, an executor freed
  std::condition_variable executor_cv_;  // executors wait on it: a batch is ready, or exit
  std::vector<std::deque<Entry>> queues_ ABSL_GUARDED_BY(mu_);  // per bucket, oldest first
  // Finite deadlines of queued tasks, soonest first; entries of tasks gone already are skipped.
  DeadlineHeap deadlines_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<uint64_t, int> bucket_of_ ABSL_GUARDED_BY(mu_);  // queued task id -> bucket
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<Batch<Payload>> ready_ ABSL_GUARDED_BY(mu_);  // formed, waiting for an executor
  int idle_executors_ ABSL_GUARDED_BY(mu_);
  int in_service_ ABSL_GUARDED_BY(mu_);  // executors not taken out of service
  // Per executor: when its batch started (InfiniteFuture while idle), and whether it is out of
  // service.
  std::vector<absl::Time> running_since_ ABSL_GUARDED_BY(mu_);
  std::vector<bool> stuck_ ABSL_GUARDED_BY(mu_);
  std::vector<Dropped> cancelled_by_caller_ ABSL_GUARDED_BY(mu_);  // Cancel()ed, to drop
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time grace_deadline_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  bool executors_exit_ ABSL_GUARDED_BY(mu_) = false;

  std::mutex join_mu_;  // serializes Shutdown()
  std::thread scheduler_ ABSL_GUARDED_BY(join_mu_);
  std::vector<std::thread> executor_threads_ ABSL_GUARDED_BY(join_mu_);
  bool joined_ ABSL_GUARDED_BY(join_mu_) = false;

  std::atomic<int64_t> accepted_{0}, refused_full_{0}, refused_closed_{0}, expired_{0},
      cancelled_{0}, shut_down_{0}, batches_{0}, executed_{0}, refused_no_executor_{0},
      stuck_executors_{0}, late_returns_{0};
};

}  // namespace routeserve::batching

// The member definitions of the template.
#include "batching/batcher_impl.h"  // IWYU pragma: export
