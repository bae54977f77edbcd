// CompletionEstimate: how long a task submitted now will take to be done, from the measured
// times of the tasks before it. The batcher's admission by deadline asks it (BatcherOptions::
// completion_estimate): a task whose deadline the estimate overshoots is refused at once, not
// queued to expire.
//
// MODEL: a task waits for the `ahead` tasks of its bucket and for those of the finishing stage
//   (work after the batch, e.g. refinement, on its own threads), each taking the bucket's
//   per-task time at the slower of the two stages spread over its threads; then its own batch
//   runs and it is finished. Times are moving averages (weight 1/5 for the newest) per bucket.
//   A bucket with no measurement yet estimates zero: nothing is refused before the server has
//   seen its own speed. The estimate ignores the other buckets' queues (they share the
//   executors), so it errs on the side of admitting; the queue bound stays the backstop.
// THREADING: every method is thread-safe and lock-free (Estimate() runs under the batcher's
//   lock).
#pragma once

#include <atomic>
#include <memory>

#include "absl/time/time.h"

namespace routeserve::batching {

class CompletionEstimate {
 public:
  // `executors` run batches; `finishing_threads` finish their tasks (both >= 1).
  CompletionEstimate(int buckets, int executors, int finishing_threads);

  // A batch of `size` tasks of `bucket` ran on its executor for `run`.
  void OnBatch(int bucket, int size, absl::Duration run);
  // A task was handed to the finishing stage's queue.
  void OnFinishingQueued();
  // A task of `bucket` was finished after `finish` of work (bucket -1: a task whose time says
  // nothing, e.g. an error; only the backlog counts it); `queued`: it came through the
  // finishing stage's queue (OnFinishingQueued), rather than being finished in place.
  void OnFinished(int bucket, absl::Duration finish, bool queued);

  // How long a task of `bucket` submitted now, with `ahead` tasks waiting before it in its
  // bucket, takes until it is finished.
  absl::Duration Estimate(int bucket, int ahead) const;

 private:
  struct Bucket {
    std::atomic<double> run_s{0};             // a batch's run on its executor
    std::atomic<double> run_per_task_s{0};    // the same, per task of the batch
    std::atomic<double> finish_s{0};          // a task's finishing
  };
  static void Average(std::atomic<double>& average, double sample);

  const int executors_;
  const int finishing_threads_;
  std::unique_ptr<Bucket[]> buckets_;
  const int num_buckets_;
  std::atomic<int> finishing_backlog_{0};  // handed to the finishing stage, not yet finished
};

}  // namespace routeserve::batching
