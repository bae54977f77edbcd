// WorkQueue: a bounded FIFO of jobs feeding a fixed pool of worker threads: the batching
// planner's refine pool (planning/batching_planner.h), which finishes each batch's tasks off the
// batcher's executors.
//
// LATENCY: a job waits for the jobs ahead of it, then runs; an idle worker takes a job the
//   moment it is queued.
// OVERLOAD: Submit() never blocks. With max_queue_size jobs waiting (jobs being run do not
//   count) it refuses at once, and after Close() too; a refused job is destroyed unrun, and the
//   caller answers for it (the planner then finishes the task itself).
// THREADING: Submit(), Close(), Join() and stats() are thread-safe; jobs run on the workers,
//   each accepted job exactly once, never from within Submit().
// SHUTDOWN: Close() refuses new jobs; those queued still run, in order. Join() waits until the
//   queue is empty and the workers have exited. The destructor does both.
//
// It locks with std::mutex, as the batcher does (batching/clock.h): ThreadSanitizer sees through
// the standard library's locks, not through a prebuilt Abseil's, and the jobs it hands from
// thread to thread are the batching planner's answers.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"

namespace routeserve::planning {

struct WorkQueueOptions {
  // Worker threads; 0 means one per hardware thread (std::thread::hardware_concurrency()).
  int num_threads = 0;
  // Most jobs waiting for a worker (>= 1); more are refused.
  int max_queue_size = 1024;
};

// Counters since creation, each read atomically (the set is not one snapshot).
struct WorkQueueStats {
  int64_t ran = 0;             // jobs run
  int64_t refused_full = 0;    // refused: max_queue_size jobs were waiting
  int64_t refused_closed = 0;  // refused: Close() had been called
};

class WorkQueue {
 public:
  using Job = absl::AnyInvocable<void()>;

  // InvalidArgument for options out of range; starts the workers.
  static absl::StatusOr<std::unique_ptr<WorkQueue>> Create(WorkQueueOptions options);

  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;
  ~WorkQueue();  // Close() and Join()

  // True when queued; false when full or closed. Never blocks.
  bool Submit(Job job);

  void Close();
  void Join();

  WorkQueueStats stats() const;
  int num_threads() const { return num_threads_; }

  // Implementation details follow.
 private:
  WorkQueue(int num_threads, int max_queue_size);
  void WorkerLoop();

  const int num_threads_;
  const int max_queue_size_;
  std::mutex mu_;
  std::condition_variable work_or_closed_;  // workers wait on it
  std::deque<Job> queue_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  std::mutex join_mu_;  // serializes Join()
  std::vector<std::thread> workers_ ABSL_GUARDED_BY(join_mu_);

  std::atomic<int64_t> ran_{0};
  std::atomic<int64_t> refused_full_{0};
  std::atomic<int64_t> refused_closed_{0};
};

}  // namespace routeserve::planning
