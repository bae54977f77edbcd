// Batcher's member definitions (batching/batcher.h has the class and its contract). Included by
// batcher.h only, at its end: a template's definitions must be visible where it is used.
#pragma once

#include <algorithm>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "batching/batcher.h"

namespace routeserve::batching {

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
