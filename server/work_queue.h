// WorkQueue: a bounded FIFO of jobs feeding a fixed pool of worker threads. The batching
// planner's refine pool (server/batching_planner.h) is one: it finishes each batch's tasks off
// the batcher's executors.
//
// LATENCY: a job waits for the jobs ahead of it: at most ceil(max_queue_size / num_threads)
//   run times of other jobs, plus its own run time. Nothing is batched and nothing waits on a
//   timer: an idle worker takes a job the moment it is queued.
// OVERLOAD: Submit() never blocks. When max_queue_size jobs are waiting (jobs being run do not
//   count), it returns ResourceExhausted at once; after Close(), Unavailable. A refused job is
//   destroyed without any of its callbacks running: the caller answers for it.
// DEADLINES: each job carries its deadline and a cancellation probe, both looked at once, when a
//   worker takes the job. A job whose deadline has passed, or whose probe says its caller has
//   gone, is never run: its `drop` callback gets DeadlineExceeded or Cancelled (the deadline is
//   looked at first) and the counters say which. A job that has started runs to the end; what it
//   runs bounds its own time.
// THREADING: Submit(), Close(), Join() and stats() are thread-safe. `run` and `drop` run on a
//   worker thread; each accepted job gets exactly one of them, exactly once, and never from
//   within Submit(). The observer's callbacks run on the submitting thread (OnAccepted,
//   OnRefused) or on a worker (the others); they must be thread-safe and should be quick.
// SHUTDOWN: Close() refuses new jobs; jobs already queued are still taken in order (and run, or
//   dropped as above). Join() waits until the queue is empty and the workers have exited. The
//   destructor does both.
//
// It locks with std::mutex, as the batcher does (batching/clock.h): ThreadSanitizer sees through
// the standard library's locks, not through a prebuilt Abseil's, and the jobs it hands from
// thread to thread are the batching planner's answers.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "batching/clock.h"

namespace routeserve::server {

struct Job {
  // The caller's deadline; InfiniteFuture() for none.
  absl::Time deadline = absl::InfiniteFuture();
  // The cancellation probe: true once the caller has gone away. Empty: never cancelled.
  absl::AnyInvocable<bool()> is_cancelled;
  // The work. `queued` is how long the job waited for a worker.
  absl::AnyInvocable<void(absl::Duration queued)> run;
  // Called instead of `run` with DeadlineExceeded or Cancelled.
  absl::AnyInvocable<void(absl::Status why)> drop;
};

// Hooks for metrics and tests; every method has an empty default. See THREADING above.
class WorkQueueObserver {
 public:
  virtual ~WorkQueueObserver() = default;
  // A job was queued; `depth` is the number waiting just after (this one included).
  virtual void OnAccepted(int64_t /*depth*/) {}
  // Submit() refused a job with `why` (ResourceExhausted or Unavailable).
  virtual void OnRefused(const absl::Status& /*why*/) {}
  // A worker is about to run a job that waited `queued`.
  virtual void OnStart(absl::Duration /*queued*/) {}
  // A job ran for `ran`.
  virtual void OnFinish(absl::Duration /*ran*/) {}
  // A worker dropped a job that waited `queued`, with `why` (DeadlineExceeded or Cancelled).
  virtual void OnDrop(const absl::Status& /*why*/, absl::Duration /*queued*/) {}
};

struct WorkQueueOptions {
  // Worker threads; 0 means one per hardware thread (std::thread::hardware_concurrency()).
  int num_threads = 0;
  // Most jobs waiting for a worker (>= 1); more are refused with ResourceExhausted.
  int max_queue_size = 1024;

  // Affect testing and metrics.
  // Deadlines and queue times; never null.
  const batching::Clock* clock = batching::Clock::Real();
  WorkQueueObserver* observer = nullptr;  // not owned; outlives the queue
};

// Counters since creation, each read atomically (the set is not one snapshot).
struct WorkQueueStats {
  int64_t accepted = 0;                // jobs queued
  int64_t ran = 0;                     // jobs whose `run` was called
  int64_t expired_before_start = 0;    // dropped: the deadline had passed
  int64_t cancelled_before_start = 0;  // dropped: the caller had gone
  int64_t refused_full = 0;            // refused: max_queue_size jobs were waiting
  int64_t refused_closed = 0;          // refused: Close() had been called
  int64_t depth = 0;                   // jobs waiting now
  int num_threads = 0;
};

class WorkQueue {
 public:
  // InvalidArgument for options out of range; starts the workers.
  static absl::StatusOr<std::unique_ptr<WorkQueue>> Create(WorkQueueOptions options);

  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;
  ~WorkQueue();  // Close() and Join()

  // OK when queued; ResourceExhausted("queue full") or Unavailable after Close(). Never blocks.
  absl::Status Submit(Job job);

  void Close();
  void Join();

  WorkQueueStats stats() const;
  int num_threads() const { return num_threads_; }

  // Implementation details follow.
 private:
  struct Entry {
    Job job;
    absl::Time enqueued;
  };

  explicit WorkQueue(WorkQueueOptions options);
  void WorkerLoop();
  void Process(Entry entry);

  const WorkQueueOptions options_;
  const int num_threads_;
  std::mutex mu_;
  std::condition_variable work_or_closed_;  // workers wait on it
  std::deque<Entry> queue_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  std::mutex join_mu_;  // serializes Join()
  std::vector<std::thread> workers_ ABSL_GUARDED_BY(join_mu_);

  std::atomic<int64_t> accepted_{0};
  std::atomic<int64_t> ran_{0};
  std::atomic<int64_t> expired_{0};
  std::atomic<int64_t> cancelled_{0};
  std::atomic<int64_t> refused_full_{0};
  std::atomic<int64_t> refused_closed_{0};
  std::atomic<int64_t> depth_{0};
};

}  // namespace routeserve::server
