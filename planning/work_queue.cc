// The bounded FIFO and its workers.
#include "planning/work_queue.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace routeserve::planning {
namespace {

int ResolveThreads(int requested) {
  if (requested > 0) return requested;
  const unsigned hardware = std::thread::hardware_concurrency();
  return hardware > 0 ? static_cast<int>(hardware) : 1;  // 0 when the platform cannot tell
}

}  // namespace

absl::StatusOr<std::unique_ptr<WorkQueue>> WorkQueue::Create(WorkQueueOptions options) {
  if (options.num_threads < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("work queue: num_threads must be >= 0, got ", options.num_threads));
  }
  if (options.max_queue_size < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("work queue: max_queue_size must be >= 1, got ", options.max_queue_size));
  }
  return std::unique_ptr<WorkQueue>(
      new WorkQueue(ResolveThreads(options.num_threads), options.max_queue_size));
}

WorkQueue::WorkQueue(int num_threads, int max_queue_size)
    : num_threads_(num_threads), max_queue_size_(max_queue_size) {
  std::lock_guard lock(join_mu_);
  workers_.reserve(num_threads_);
  for (int i = 0; i < num_threads_; ++i) workers_.emplace_back([this] { WorkerLoop(); });
}

WorkQueue::~WorkQueue() {
  Close();
  Join();
}

bool WorkQueue::Submit(Job job) {
  std::lock_guard lock(mu_);
  if (closed_) {
    refused_closed_.fetch_add(1, std::memory_order_relaxed);
    return false;  // the job is destroyed on return, unrun
  }
  if (queue_.size() >= static_cast<size_t>(max_queue_size_)) {
    refused_full_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  queue_.push_back(std::move(job));
  work_or_closed_.notify_one();
  return true;
}

void WorkQueue::Close() {
  std::lock_guard lock(mu_);
  closed_ = true;
  work_or_closed_.notify_all();
}

void WorkQueue::Join() {
  std::lock_guard lock(join_mu_);
  for (std::thread& worker : workers_) {
    if (worker.joinable()) worker.join();
  }
}

WorkQueueStats WorkQueue::stats() const {
  return WorkQueueStats{.ran = ran_.load(std::memory_order_relaxed),
                        .refused_full = refused_full_.load(std::memory_order_relaxed),
                        .refused_closed = refused_closed_.load(std::memory_order_relaxed)};
}

void WorkQueue::WorkerLoop() {
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mu_);
      work_or_closed_.wait(lock, [this] { return closed_ || !queue_.empty(); });
      // Closed and empty: this worker is done. Closed with jobs left: they still run.
      if (queue_.empty()) return;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    ran_.fetch_add(1, std::memory_order_relaxed);
    job();
  }
}

}  // namespace routeserve::planning
