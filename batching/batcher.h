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

template <typename Payload>
absl::StatusOr<std::unique_ptr<Batcher<Payload>>> Batcher<Payload>::Create(BatcherOptions options,
                                                                           RunBatch run,
                                                                           DropTask drop,
                                                                           ExecutorStuck on_stuck) {
  if (absl::Status valid = ValidatePolicy(options.policy, options.bucket_sizes); !valid.ok()) {
    return valid;
  }
  if (options.max_queue_size < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_queue_size: must be >= 1, got ", options.max_queue_size));
  }
  if (options.executors < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("executors: must be >= 1, got ", options.executors));
  }
  if (options.stuck_after < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "stuck_after: must be >= 0, got ", absl::FormatDuration(options.stuck_after)));
  }
  if (options.clock == nullptr) return absl::InvalidArgumentError("clock: must be set");
  if (!run || !drop) return absl::InvalidArgumentError("run and drop: must be set");
  std::unique_ptr<Batcher> batcher(
      new Batcher(std::move(options), std::move(run), std::move(drop), std::move(on_stuck)));
  std::lock_guard lock(batcher->join_mu_);
  for (int i = 0; i < batcher->options_.executors; ++i) {
    batcher->executor_threads_.emplace_back([b = batcher.get(), i] { b->ExecutorLoop(i); });
  }
  batcher->scheduler_ = std::thread([b = batcher.get()] { b->ScheduleLoop(); });
  return batcher;
}

template <typename Payload>
Batcher<Payload>::~Batcher() {
  Shutdown(absl::ZeroDuration());
  // Executors out of service, which Shutdown() left: wait for their `run` to return.
  std::lock_guard join_lock(join_mu_);
  for (std::thread& executor : executor_threads_) {
    if (executor.joinable()) executor.join();
  }
}

template <typename Payload>
absl::Status Batcher<Payload>::Submit(Task<Payload>& task, TaskId* id_out) {
  const int bucket = BucketFor(options_.bucket_sizes, task.size);
  if (bucket < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "size ", task.size, " is above the largest bucket, ", options_.bucket_sizes.back()));
  }
  std::lock_guard lock(mu_);
  if (shutting_down_) {
    ++refused_closed_;
    return absl::UnavailableError("shutting down");
  }
  if (in_service_ == 0) {
    ++refused_no_executor_;
    return absl::UnavailableError("no executor in service: every one is stuck in a batch");
  }
  std::deque<Entry>& queue = queues_[bucket];
  if (static_cast<int>(queue.size()) >= options_.max_queue_size) {
    ++refused_full_;
    return absl::ResourceExhaustedError(
        absl::StrCat("queue full: ", queue.size(), " tasks wait in bucket ",
                     options_.bucket_sizes[bucket]));
  }
  const uint64_t id = next_id_++;
  queue.push_back(Entry{std::move(task.payload), options_.clock->Now(), task.deadline,
                        std::move(task.is_cancelled), id});
  bucket_of_[id] = bucket;
  if (task.deadline != absl::InfiniteFuture()) deadlines_.emplace(task.deadline, id);
  ++accepted_;
  if (id_out != nullptr) *id_out = id;
  schedule_cv_.notify_one();
  return absl::OkStatus();
}

template <typename Payload>
void Batcher<Payload>::Cancel(TaskId id) {
  std::lock_guard lock(mu_);
  const auto where = bucket_of_.find(id);
  if (where == bucket_of_.end()) return;  // batched, dropped, or never accepted
  std::deque<Entry>& queue = queues_[where->second];
  const auto entry =
      std::find_if(queue.begin(), queue.end(), [id](const Entry& e) { return e.id == id; });
  cancelled_by_caller_.push_back(
      {std::move(entry->payload), absl::CancelledError("caller went away")});
  queue.erase(entry);
  bucket_of_.erase(where);
  ++cancelled_;
  schedule_cv_.notify_one();
}

template <typename Payload>
void Batcher<Payload>::Shutdown(absl::Duration grace) {
  std::lock_guard join_lock(join_mu_);
  if (joined_) return;
  {
    std::lock_guard lock(mu_);
    shutting_down_ = true;
    grace_deadline_ = options_.clock->Now() + grace;
    schedule_cv_.notify_one();
  }
  scheduler_.join();  // returns once every queue is empty and no batch runs in service
  std::vector<bool> stuck;
  {
    std::lock_guard lock(mu_);
    executors_exit_ = true;
    executor_cv_.notify_all();
    stuck = stuck_;
  }
  // Executors out of service are left to the destructor.
  for (size_t i = 0; i < executor_threads_.size(); ++i) {
    if (!stuck[i]) executor_threads_[i].join();
  }
  joined_ = true;
}

template <typename Payload>
BatcherStats Batcher<Payload>::stats() const {
  BatcherStats stats;
  stats.accepted = accepted_;
  stats.refused_full = refused_full_;
  stats.refused_closed = refused_closed_;
  stats.expired = expired_;
  stats.cancelled = cancelled_;
  stats.shut_down = shut_down_;
  stats.batches = batches_;
  stats.executed = executed_;
  stats.refused_no_executor = refused_no_executor_;
  stats.stuck_executors = stuck_executors_;
  stats.late_returns = late_returns_;
  std::lock_guard lock(mu_);
  for (const std::deque<Entry>& queue : queues_) stats.depth.push_back(queue.size());
  return stats;
}

template <typename Payload>
std::vector<BucketState> Batcher<Payload>::BucketStates() const {
  std::vector<BucketState> states(queues_.size());
  for (size_t i = 0; i < queues_.size(); ++i) {
    const std::deque<Entry>& queue = queues_[i];
    states[i].size = static_cast<int>(queue.size());
    if (!queue.empty()) states[i].oldest_enqueued = queue.front().enqueued;
    if (states[i].size >= options_.policy.max_batch_size) {
      states[i].filled = queue[options_.policy.max_batch_size - 1].enqueued;
    }
  }
  return states;
}

template <typename Payload>
bool Batcher<Payload>::AllQueuesEmpty() const {
  return std::all_of(queues_.begin(), queues_.end(),
                     [](const std::deque<Entry>& queue) { return queue.empty(); });
}

template <typename Payload>
void Batcher<Payload>::ExpireDue(absl::Time now, std::vector<Dropped>& dropped) {
  while (!deadlines_.empty() && deadlines_.top().first <= now) {
    const uint64_t id = deadlines_.top().second;
    deadlines_.pop();
    const auto where = bucket_of_.find(id);
    if (where == bucket_of_.end()) continue;  // batched or dropped already
    std::deque<Entry>& queue = queues_[where->second];
    const auto entry = std::find_if(queue.begin(), queue.end(),
                                    [id](const Entry& e) { return e.id == id; });
    dropped.push_back({std::move(entry->payload), absl::DeadlineExceededError(
                                                      "deadline passed while queued")});
    queue.erase(entry);
    bucket_of_.erase(where);
    ++expired_;
  }
}

template <typename Payload>
Batch<Payload> Batcher<Payload>::FormBatch(int bucket, absl::Time now,
                                           std::vector<Dropped>& dropped) {
  Batch<Payload> batch;
  batch.bucket = bucket;
  batch.padded_size = options_.bucket_sizes[bucket];
  const BucketState state = BucketStates()[bucket];
  batch.executor_wait = std::max(absl::ZeroDuration(), now - ReadyAt(state, options_.policy));
  std::deque<Entry>& queue = queues_[bucket];
  while (!queue.empty() &&
         static_cast<int>(batch.payloads.size()) < options_.policy.max_batch_size) {
    Entry entry = std::move(queue.front());
    queue.pop_front();
    bucket_of_.erase(entry.id);
    if (entry.is_cancelled && entry.is_cancelled()) {
      dropped.push_back({std::move(entry.payload), absl::CancelledError("caller went away")});
      ++cancelled_;
      continue;
    }
    batch.payloads.push_back(std::move(entry.payload));
    batch.queued.push_back(now - entry.enqueued);
  }
  // The heap keeps the deadlines of batched tasks until they pass; when those outnumber the
  // queued ones, rebuild it so that memory follows the queues, not the traffic.
  if (deadlines_.size() > 2 * bucket_of_.size() + 64) {
    DeadlineHeap live;
    for (const std::deque<Entry>& waiting : queues_) {
      for (const Entry& entry : waiting) {
        if (entry.deadline != absl::InfiniteFuture()) live.emplace(entry.deadline, entry.id);
      }
    }
    deadlines_.swap(live);
  }
  return batch;
}

template <typename Payload>
absl::Time Batcher<Payload>::NextWake(absl::Time now) const {
  absl::Time wake = absl::InfiniteFuture();
  if (!deadlines_.empty()) wake = deadlines_.top().first;
  if (shutting_down_ && !AllQueuesEmpty()) wake = std::min(wake, grace_deadline_);
  if (idle_executors_ > 0) {
    for (const BucketState& state : BucketStates()) {
      wake = std::min(wake, ReadyAt(state, options_.policy));
    }
  }
  if (options_.stuck_after > absl::ZeroDuration()) {
    for (size_t i = 0; i < running_since_.size(); ++i) {
      if (!stuck_[i] && running_since_[i] != absl::InfiniteFuture()) {
        wake = std::min(wake, running_since_[i] + options_.stuck_after);
      }
    }
  }
  return std::max(wake, now);
}

template <typename Payload>
void Batcher<Payload>::CheckExecutors(absl::Time now,
                                      std::vector<std::pair<int, absl::Duration>>& stuck,
                                      std::vector<Dropped>& dropped) {
  if (options_.stuck_after <= absl::ZeroDuration() || in_service_ == 0) return;
  for (size_t i = 0; i < running_since_.size(); ++i) {
    if (stuck_[i] || running_since_[i] == absl::InfiniteFuture()) continue;
    if (now - running_since_[i] < options_.stuck_after) continue;
    stuck_[i] = true;
    --in_service_;
    ++stuck_executors_;
    stuck.emplace_back(static_cast<int>(i), now - running_since_[i]);
  }
  if (in_service_ > 0) return;
  for (std::deque<Entry>& queue : queues_) {
    for (Entry& entry : queue) {
      dropped.push_back({std::move(entry.payload),
                         absl::UnavailableError(
                             "no executor in service: every one is stuck in a batch")});
      bucket_of_.erase(entry.id);
      ++shut_down_;
    }
    queue.clear();
  }
}

template <typename Payload>
bool Batcher<Payload>::BatchesInService() const {
  if (!ready_.empty()) return true;
  for (size_t i = 0; i < running_since_.size(); ++i) {
    if (!stuck_[i] && running_since_[i] != absl::InfiniteFuture()) return true;
  }
  return false;
}

template <typename Payload>
void Batcher<Payload>::ScheduleLoop() {
  std::vector<Dropped> dropped;
  std::vector<std::pair<int, absl::Duration>> stuck;
  std::unique_lock lock(mu_);
  for (;;) {
    const absl::Time now = options_.clock->Now();
    for (Dropped& task : cancelled_by_caller_) dropped.push_back(std::move(task));
    cancelled_by_caller_.clear();
    ExpireDue(now, dropped);
    CheckExecutors(now, stuck, dropped);
    if (shutting_down_ && now >= grace_deadline_) {
      for (std::deque<Entry>& queue : queues_) {
        for (Entry& entry : queue) {
          dropped.push_back({std::move(entry.payload),
                             absl::UnavailableError("shut down before it could run")});
          bucket_of_.erase(entry.id);
          ++shut_down_;
        }
        queue.clear();
      }
    }
    while (idle_executors_ > 0) {
      const std::vector<BucketState> states = BucketStates();
      const int bucket = ChooseBucket(states, options_.policy, now, shutting_down_);
      if (bucket < 0) break;
      Batch<Payload> batch = FormBatch(bucket, now, dropped);
      if (batch.payloads.empty()) continue;  // all of it was cancelled
      ready_.push_back(std::move(batch));
      --idle_executors_;
      executor_cv_.notify_one();
    }
    if (!dropped.empty() || !stuck.empty()) {
      // Answer outside the lock: `drop` may be slow, and Submit() must not wait for it.
      std::vector<Dropped> answering;
      answering.swap(dropped);
      std::vector<std::pair<int, absl::Duration>> taken_out;
      taken_out.swap(stuck);
      const int in_service = in_service_;
      lock.unlock();
      for (const auto& [executor, running] : taken_out) {
        if (on_stuck_) on_stuck_(executor, running, in_service);
      }
      for (Dropped& task : answering) drop_(task.payload, task.why);
      lock.lock();
      continue;
    }
    // The watchdog's duty lasts as long as batches run in service.
    if (shutting_down_ && AllQueuesEmpty() && !BatchesInService()) return;
    options_.clock->WaitUntil(schedule_cv_, lock, NextWake(now));
  }
}

template <typename Payload>
void Batcher<Payload>::ExecutorLoop(int index) {
  std::unique_lock lock(mu_);
  for (;;) {
    executor_cv_.wait(lock, [this] { return !ready_.empty() || executors_exit_; });
    if (ready_.empty()) return;  // exiting, nothing left
    Batch<Payload> batch = std::move(ready_.front());
    ready_.pop_front();
    batch.executor = index;
    ++batches_;
    executed_ += static_cast<int64_t>(batch.payloads.size());
    running_since_[index] = options_.clock->Now();
    if (options_.stuck_after > absl::ZeroDuration()) schedule_cv_.notify_one();  // to watch it
    lock.unlock();
    run_(batch);
    lock.lock();
    running_since_[index] = absl::InfiniteFuture();
    schedule_cv_.notify_one();
    if (stuck_[index]) {
      ++late_returns_;
      return;  // out of service for good
    }
    ++idle_executors_;
  }
}

}  // namespace routeserve::batching
