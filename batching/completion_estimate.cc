// CompletionEstimate (batching/completion_estimate.h).
#include "batching/completion_estimate.h"

#include <algorithm>

namespace routeserve::batching {
namespace {

constexpr double kNewestWeight = 0.2;

}  // namespace

CompletionEstimate::CompletionEstimate(int buckets, int executors, int finishing_threads)
    : executors_(std::max(1, executors)),
      finishing_threads_(std::max(1, finishing_threads)),
      buckets_(new Bucket[std::max(1, buckets)]),
      num_buckets_(std::max(1, buckets)) {}

void CompletionEstimate::Average(std::atomic<double>& average, double sample) {
  double old = average.load(std::memory_order_relaxed);
  // The first sample stands alone; later ones move the average by their weight.
  while (!average.compare_exchange_weak(
      old, old == 0 ? sample : old + kNewestWeight * (sample - old), std::memory_order_relaxed)) {
  }
}

void CompletionEstimate::OnBatch(int bucket, int size, absl::Duration run) {
  if (bucket < 0 || bucket >= num_buckets_ || size < 1) return;
  const double seconds = absl::ToDoubleSeconds(run);
  Average(buckets_[bucket].run_s, seconds);
  Average(buckets_[bucket].run_per_task_s, seconds / size);
}

void CompletionEstimate::OnFinishingQueued() {
  finishing_backlog_.fetch_add(1, std::memory_order_relaxed);
}

void CompletionEstimate::OnFinished(int bucket, absl::Duration finish, bool queued) {
  if (queued) finishing_backlog_.fetch_sub(1, std::memory_order_relaxed);
  if (bucket < 0 || bucket >= num_buckets_) return;
  Average(buckets_[bucket].finish_s, absl::ToDoubleSeconds(finish));
}

absl::Duration CompletionEstimate::Estimate(int bucket, int ahead) const {
  if (bucket < 0 || bucket >= num_buckets_) return absl::ZeroDuration();
  const Bucket& b = buckets_[bucket];
  const double run = b.run_s.load(std::memory_order_relaxed);
  const double finish = b.finish_s.load(std::memory_order_relaxed);
  const double per_task = std::max(b.run_per_task_s.load(std::memory_order_relaxed) / executors_,
                                   finish / finishing_threads_);
  const int waiting = std::max(0, ahead) +
                      std::max(0, finishing_backlog_.load(std::memory_order_relaxed));
  return absl::Seconds(waiting * per_task + run + finish);
}

}  // namespace routeserve::batching
