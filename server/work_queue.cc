// The bounded FIFO and its workers.
#include "server/work_queue.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace routeserve::server {

absl::StatusOr<std::unique_ptr<WorkQueue>> WorkQueue::Create(WorkQueueOptions options) {
  if (options.num_threads < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("work queue: num_threads must be >= 0, got ", options.num_threads));
  }
  if (options.max_queue_size < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("work queue: max_queue_size must be >= 1, got ", options.max_queue_size));
  }
  if (options.clock == nullptr) {
    return absl::InvalidArgumentError("work queue: clock must not be null");
  }
  return std::unique_ptr<WorkQueue>(new WorkQueue(options));
}

namespace {

int ResolveThreads(int requested) {
  if (requested > 0) return requested;
  const unsigned hardware = std::thread::hardware_concurrency();
  return hardware > 0 ? static_cast<int>(hardware) : 1;  // 0 when the platform cannot tell
}

}  // namespace

WorkQueue::WorkQueue(WorkQueueOptions options)
    : options_(options), num_threads_(ResolveThreads(options.num_threads)) {
  std::lock_guard lock(join_mu_);
  workers_.reserve(num_threads_);
  for (int i = 0; i < num_threads_; ++i) workers_.emplace_back([this] { WorkerLoop(); });
}

WorkQueue::~WorkQueue() {
  Close();
  Join();
}

absl::Status WorkQueue::Submit(Job job) {
  absl::Status refusal;
  int64_t depth = 0;
  {
    std::lock_guard lock(mu_);
    if (closed_) {
      refusal = absl::UnavailableError("server is shutting down");
      refused_closed_.fetch_add(1, std::memory_order_relaxed);
    } else if (queue_.size() >= static_cast<size_t>(options_.max_queue_size)) {
      refusal = absl::ResourceExhaustedError("queue full");
      refused_full_.fetch_add(1, std::memory_order_relaxed);
    } else {
      queue_.push_back(Entry{std::move(job), options_.clock->Now()});
      depth = static_cast<int64_t>(queue_.size());
      depth_.store(depth, std::memory_order_relaxed);
      accepted_.fetch_add(1, std::memory_order_relaxed);
      work_or_closed_.notify_one();
    }
  }
  // The refused job (still in `job`) is destroyed on return, its callbacks never called.
  if (!refusal.ok()) {
    if (options_.observer != nullptr) options_.observer->OnRefused(refusal);
    return refusal;
  }
  if (options_.observer != nullptr) options_.observer->OnAccepted(depth);
  return absl::OkStatus();
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
  WorkQueueStats stats;
  stats.accepted = accepted_.load(std::memory_order_relaxed);
  stats.ran = ran_.load(std::memory_order_relaxed);
  stats.expired_before_start = expired_.load(std::memory_order_relaxed);
  stats.cancelled_before_start = cancelled_.load(std::memory_order_relaxed);
  stats.refused_full = refused_full_.load(std::memory_order_relaxed);
  stats.refused_closed = refused_closed_.load(std::memory_order_relaxed);
  stats.depth = depth_.load(std::memory_order_relaxed);
  stats.num_threads = num_threads_;
  return stats;
}

void WorkQueue::WorkerLoop() {
  for (;;) {
    Entry entry;
    {
      std::unique_lock lock(mu_);
      work_or_closed_.wait(lock, [this] { return closed_ || !queue_.empty(); });
      // Closed and empty: this worker is done. Closed with jobs left: they still run.
      if (queue_.empty()) return;
      entry = std::move(queue_.front());
      queue_.pop_front();
      depth_.store(static_cast<int64_t>(queue_.size()), std::memory_order_relaxed);
    }
    Process(std::move(entry));
  }
}

void WorkQueue::Process(Entry entry) {
  WorkQueueObserver* const observer = options_.observer;
  const absl::Time taken = options_.clock->Now();
  const absl::Duration queued = taken - entry.enqueued;
  Job& job = entry.job;

  // The deadline first: a call whose deadline passed is usually cancelled as well, and
  // DEADLINE_EXCEEDED is the truer answer.
  absl::Status why;
  if (taken >= job.deadline) {
    why = absl::DeadlineExceededError("deadline passed before the work started");
    expired_.fetch_add(1, std::memory_order_relaxed);
  } else if (job.is_cancelled && job.is_cancelled()) {
    why = absl::CancelledError("call cancelled before the work started");
    cancelled_.fetch_add(1, std::memory_order_relaxed);
  }
  if (!why.ok()) {
    if (observer != nullptr) observer->OnDrop(why, queued);
    if (job.drop) job.drop(std::move(why));
    return;
  }

  ran_.fetch_add(1, std::memory_order_relaxed);
  if (observer != nullptr) observer->OnStart(queued);
  if (job.run) job.run(queued);
  if (observer != nullptr) observer->OnFinish(options_.clock->Now() - taken);
}

}  // namespace routeserve::server
