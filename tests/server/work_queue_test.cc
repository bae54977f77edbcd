// WorkQueue: refusal when full and after Close, deadlines and cancellation before start, close
// + join running what was queued, counters. Deterministic: workers are held on notifications,
// time comes from a fake clock.
#include <catch2/catch.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "absl/base/thread_annotations.h"
#include "batching/clock.h"
#include "server/work_queue.h"
#include "tests/notification.h"

namespace routeserve::server {
namespace {

// Generous: only a broken queue makes a test wait this long.
constexpr absl::Duration kGuard = absl::Seconds(30);

using batching::FakeClock;

// What happened to each job, in the order it happened.
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

Job RecordingJob(Journal* journal, std::string name, absl::Time deadline = absl::InfiniteFuture()) {
  Job job;
  job.deadline = deadline;
  job.run = [journal, name](absl::Duration) { journal->Add("ran " + name); };
  job.drop = [journal, name](absl::Status why) {
    journal->Add("dropped " + name + ": " + std::string(absl::StatusCodeToString(why.code())));
  };
  return job;
}

// A job that blocks its worker until `release` is notified, after notifying `started`.
Job BlockingJob(testing::Notification* started, testing::Notification* release) {
  Job job;
  job.run = [started, release](absl::Duration) {
    started->Notify();
    release->WaitForNotificationWithTimeout(kGuard);
  };
  return job;
}

std::unique_ptr<WorkQueue> MakeQueue(int threads, int max_queue_size,
                                     const batching::Clock* clock,
                                     WorkQueueObserver* observer = nullptr) {
  WorkQueueOptions options;
  options.num_threads = threads;
  options.max_queue_size = max_queue_size;
  options.clock = clock;
  options.observer = observer;
  absl::StatusOr<std::unique_ptr<WorkQueue>> queue = WorkQueue::Create(options);
  REQUIRE(queue.ok());
  return std::move(queue).value();
}

TEST_CASE("WorkQueue::Create rejects options out of range", "[work_queue]") {
  WorkQueueOptions options;
  options.max_queue_size = 0;
  CHECK(WorkQueue::Create(options).status().code() == absl::StatusCode::kInvalidArgument);
  options.max_queue_size = 1;
  options.num_threads = -1;
  CHECK(WorkQueue::Create(options).status().code() == absl::StatusCode::kInvalidArgument);
  options.num_threads = 0;  // one per hardware thread
  absl::StatusOr<std::unique_ptr<WorkQueue>> queue = WorkQueue::Create(options);
  REQUIRE(queue.ok());
  CHECK((*queue)->num_threads() >= 1);
}

TEST_CASE("a full queue refuses at once and the refused job's callbacks never run",
          "[work_queue]") {
  FakeClock clock;
  Journal journal;
  auto queue = MakeQueue(/*threads=*/1, /*max_queue_size=*/2, &clock);
  testing::Notification started, release;
  REQUIRE(queue->Submit(BlockingJob(&started, &release)).ok());
  REQUIRE(started.WaitForNotificationWithTimeout(kGuard));  // the worker is busy, queue empty

  REQUIRE(queue->Submit(RecordingJob(&journal, "a")).ok());
  REQUIRE(queue->Submit(RecordingJob(&journal, "b")).ok());
  const absl::Status refused = queue->Submit(RecordingJob(&journal, "c"));
  CHECK(refused.code() == absl::StatusCode::kResourceExhausted);
  CHECK(refused.message() == "queue full");
  CHECK(queue->stats().depth == 2);
  CHECK(queue->stats().refused_full == 1);

  release.Notify();
  queue->Close();
  queue->Join();
  CHECK(journal.Events() == std::vector<std::string>{"ran a", "ran b"});
  const WorkQueueStats stats = queue->stats();
  CHECK(stats.accepted == 3);
  CHECK(stats.ran == 3);
  CHECK(stats.depth == 0);
}

TEST_CASE("a job whose deadline passed in the queue never runs, is dropped and counted",
          "[work_queue]") {
  FakeClock clock;
  Journal journal;
  auto queue = MakeQueue(/*threads=*/1, /*max_queue_size=*/8, &clock);
  testing::Notification started, release;
  REQUIRE(queue->Submit(BlockingJob(&started, &release)).ok());
  REQUIRE(started.WaitForNotificationWithTimeout(kGuard));

  REQUIRE(queue->Submit(RecordingJob(&journal, "late", clock.Now() + absl::Seconds(1))).ok());
  REQUIRE(queue->Submit(RecordingJob(&journal, "in time", clock.Now() + absl::Seconds(10))).ok());
  clock.Advance(absl::Seconds(5));  // past "late"'s deadline, before "in time"'s
  release.Notify();
  queue->Close();
  queue->Join();

  CHECK(journal.Events() ==
        std::vector<std::string>{"dropped late: DEADLINE_EXCEEDED", "ran in time"});
  const WorkQueueStats stats = queue->stats();
  CHECK(stats.ran == 2);  // the blocking job and "in time"
  CHECK(stats.expired_before_start == 1);
  CHECK(stats.cancelled_before_start == 0);
}

TEST_CASE("a cancelled job never runs, and the deadline is looked at first", "[work_queue]") {
  FakeClock clock;
  Journal journal;
  auto queue = MakeQueue(/*threads=*/1, /*max_queue_size=*/8, &clock);
  testing::Notification started, release;
  REQUIRE(queue->Submit(BlockingJob(&started, &release)).ok());
  REQUIRE(started.WaitForNotificationWithTimeout(kGuard));

  std::atomic<bool> gone{false};
  Job cancelled = RecordingJob(&journal, "cancelled");
  cancelled.is_cancelled = [&gone] { return gone.load(); };
  Job both = RecordingJob(&journal, "both", clock.Now() + absl::Seconds(1));
  both.is_cancelled = [&gone] { return gone.load(); };
  REQUIRE(queue->Submit(std::move(cancelled)).ok());
  REQUIRE(queue->Submit(std::move(both)).ok());
  gone = true;
  clock.Advance(absl::Seconds(2));
  release.Notify();
  queue->Close();
  queue->Join();

  CHECK(journal.Events() == std::vector<std::string>{"dropped cancelled: CANCELLED",
                                                     "dropped both: DEADLINE_EXCEEDED"});
  CHECK(queue->stats().cancelled_before_start == 1);
  CHECK(queue->stats().expired_before_start == 1);
  CHECK(queue->stats().ran == 1);
}

TEST_CASE("Close refuses new jobs, runs the queued ones in order, and Join waits for them",
          "[work_queue]") {
  FakeClock clock;
  Journal journal;
  auto queue = MakeQueue(/*threads=*/1, /*max_queue_size=*/16, &clock);
  testing::Notification started, release;
  REQUIRE(queue->Submit(BlockingJob(&started, &release)).ok());
  REQUIRE(started.WaitForNotificationWithTimeout(kGuard));
  for (int i = 0; i < 10; ++i) {
    REQUIRE(queue->Submit(RecordingJob(&journal, std::to_string(i))).ok());
  }
  queue->Close();
  const absl::Status refused = queue->Submit(RecordingJob(&journal, "after close"));
  CHECK(refused.code() == absl::StatusCode::kUnavailable);

  release.Notify();
  queue->Join();
  std::vector<std::string> expected;
  for (int i = 0; i < 10; ++i) expected.push_back("ran " + std::to_string(i));
  CHECK(journal.Events() == expected);
  CHECK(queue->stats().refused_closed == 1);
  CHECK(queue->stats().ran == 11);
}

TEST_CASE("queue time is measured with the queue's clock", "[work_queue]") {
  FakeClock clock;
  auto queue = MakeQueue(/*threads=*/1, /*max_queue_size=*/4, &clock);
  testing::Notification started, release;
  REQUIRE(queue->Submit(BlockingJob(&started, &release)).ok());
  REQUIRE(started.WaitForNotificationWithTimeout(kGuard));
  absl::Duration waited = absl::ZeroDuration();
  testing::Notification ran;
  Job job;
  job.run = [&](absl::Duration queued) {
    waited = queued;
    ran.Notify();
  };
  REQUIRE(queue->Submit(std::move(job)).ok());
  clock.Advance(absl::Milliseconds(250));
  release.Notify();
  REQUIRE(ran.WaitForNotificationWithTimeout(kGuard));
  CHECK(waited == absl::Milliseconds(250));
}

// Observer: every event reaches it, on the documented counts.
class CountingObserver final : public WorkQueueObserver {
 public:
  void OnAccepted(int64_t) override { ++accepted; }
  void OnRefused(const absl::Status&) override { ++refused; }
  void OnStart(absl::Duration) override { ++started; }
  void OnFinish(absl::Duration) override { ++finished; }
  void OnDrop(const absl::Status&, absl::Duration) override { ++dropped; }
  std::atomic<int> accepted{0}, refused{0}, started{0}, finished{0}, dropped{0};
};

TEST_CASE("the observer hears every accepted, refused, started, finished and dropped job",
          "[work_queue]") {
  FakeClock clock;
  CountingObserver observer;
  Journal journal;
  auto queue = MakeQueue(/*threads=*/2, /*max_queue_size=*/1, &clock, &observer);
  testing::Notification started_a, started_b, release;
  REQUIRE(queue->Submit(BlockingJob(&started_a, &release)).ok());
  REQUIRE(started_a.WaitForNotificationWithTimeout(kGuard));
  REQUIRE(queue->Submit(BlockingJob(&started_b, &release)).ok());
  REQUIRE(started_b.WaitForNotificationWithTimeout(kGuard));  // both workers busy
  REQUIRE(queue->Submit(RecordingJob(&journal, "expires", clock.Now())).ok());
  CHECK(queue->Submit(RecordingJob(&journal, "refused")).code() ==
        absl::StatusCode::kResourceExhausted);
  release.Notify();
  queue->Close();
  queue->Join();
  CHECK(observer.accepted == 3);
  CHECK(observer.refused == 1);
  CHECK(observer.started == 2);
  CHECK(observer.finished == 2);
  CHECK(observer.dropped == 1);
  CHECK(journal.Events() == std::vector<std::string>{"dropped expires: DEADLINE_EXCEEDED"});
}

}  // namespace
}  // namespace routeserve::server
