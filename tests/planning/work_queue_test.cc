// WorkQueue: refusal when full and after Close, Close + Join running what was queued, in order,
// and the counters. Deterministic: workers are held on notifications.
#include <catch2/catch.hpp>

#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "planning/work_queue.h"
#include "tests/notification.h"

namespace routeserve::planning {
namespace {

// Generous: only a broken queue makes a test wait this long.
constexpr absl::Duration kGuard = absl::Seconds(30);

// What ran, in the order it ran.
struct Journal {
  std::mutex mu;
  std::vector<std::string> events ABSL_GUARDED_BY(mu);
  void Add(std::string event) {
    std::lock_guard lock(mu);
    events.push_back(std::move(event));
  }
  std::vector<std::string> Events() {
    std::lock_guard lock(mu);
    return events;
  }
};

WorkQueue::Job RecordingJob(Journal* journal, std::string name) {
  return [journal, name] { journal->Add("ran " + name); };
}

// A job that blocks its worker until `release` is notified, after notifying `started`.
WorkQueue::Job BlockingJob(testing::Notification* started, testing::Notification* release) {
  return [started, release] {
    started->Notify();
    release->WaitForNotificationWithTimeout(kGuard);
  };
}

std::unique_ptr<WorkQueue> MakeQueue(int threads, int max_queue_size) {
  absl::StatusOr<std::unique_ptr<WorkQueue>> queue = WorkQueue::Create(
      WorkQueueOptions{.num_threads = threads, .max_queue_size = max_queue_size});
  REQUIRE(queue.ok());
  return std::move(queue).value();
}

TEST_CASE("WorkQueue::Create rejects options out of range", "[work_queue]") {
  CHECK(WorkQueue::Create({.num_threads = 1, .max_queue_size = 0}).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(WorkQueue::Create({.num_threads = -1, .max_queue_size = 1}).status().code() ==
        absl::StatusCode::kInvalidArgument);
  absl::StatusOr<std::unique_ptr<WorkQueue>> queue =
      WorkQueue::Create({.num_threads = 0, .max_queue_size = 1});  // one per hardware thread
  REQUIRE(queue.ok());
  CHECK((*queue)->num_threads() >= 1);
}

TEST_CASE("a full queue refuses at once and the refused job never runs", "[work_queue]") {
  Journal journal;
  auto queue = MakeQueue(/*threads=*/1, /*max_queue_size=*/2);
  testing::Notification started, release;
  REQUIRE(queue->Submit(BlockingJob(&started, &release)));
  REQUIRE(started.WaitForNotificationWithTimeout(kGuard));  // the worker is busy, queue empty

  REQUIRE(queue->Submit(RecordingJob(&journal, "a")));
  REQUIRE(queue->Submit(RecordingJob(&journal, "b")));
  CHECK_FALSE(queue->Submit(RecordingJob(&journal, "c")));
  CHECK(queue->stats().refused_full == 1);

  release.Notify();
  queue->Close();
  queue->Join();
  CHECK(journal.Events() == std::vector<std::string>{"ran a", "ran b"});
  CHECK(queue->stats().ran == 3);
}

TEST_CASE("Close refuses new jobs, runs the queued ones in order, and Join waits for them",
          "[work_queue]") {
  Journal journal;
  auto queue = MakeQueue(/*threads=*/1, /*max_queue_size=*/16);
  testing::Notification started, release;
  REQUIRE(queue->Submit(BlockingJob(&started, &release)));
  REQUIRE(started.WaitForNotificationWithTimeout(kGuard));
  for (int i = 0; i < 10; ++i) REQUIRE(queue->Submit(RecordingJob(&journal, std::to_string(i))));
  queue->Close();
  CHECK_FALSE(queue->Submit(RecordingJob(&journal, "after close")));

  release.Notify();
  queue->Join();
  std::vector<std::string> expected;
  for (int i = 0; i < 10; ++i) expected.push_back("ran " + std::to_string(i));
  CHECK(journal.Events() == expected);
  CHECK(queue->stats().refused_closed == 1);
  CHECK(queue->stats().ran == 11);
}

TEST_CASE("several workers run jobs side by side", "[work_queue]") {
  auto queue = MakeQueue(/*threads=*/3, /*max_queue_size=*/8);
  testing::Notification started[3], release;
  for (testing::Notification& s : started) REQUIRE(queue->Submit(BlockingJob(&s, &release)));
  for (testing::Notification& s : started) CHECK(s.WaitForNotificationWithTimeout(kGuard));
  release.Notify();
  queue->Close();
  queue->Join();
  CHECK(queue->stats().ran == 3);
}

}  // namespace
}  // namespace routeserve::planning
