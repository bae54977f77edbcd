// The batcher with a fake clock and a puppet executor: no test sleeps, every wait is on a
// condition (bounded by a generous guard that only a broken batcher reaches).
#include "batching/batcher.h"

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

namespace routeserve::batching {
namespace {

constexpr absl::Duration kGuard = absl::Seconds(60);

struct RanBatch {
  int bucket;
  int executor;
  std::vector<int> tasks;
  absl::Duration executor_wait;
};

// Runs the batcher's batches: records each, then holds it until released.
class Puppet {
 public:
  // While holding, every batch waits in `run` until Release().
  void Hold() {
    std::lock_guard lock(mu_);
    holding_ = true;
  }
  void Release() {
    std::lock_guard lock(mu_);
    holding_ = false;
    changed_.notify_all();
  }

  void Run(Batch<int>& batch) {
    std::unique_lock lock(mu_);
    batches_.push_back({batch.bucket, batch.executor, batch.payloads, batch.executor_wait});
    ++running_;
    max_running_ = std::max(max_running_, running_);
    changed_.notify_all();
    changed_.wait(lock, [this] { return !holding_; });
    --running_;
  }

  void Stuck(int executor, int in_service) {
    std::lock_guard lock(mu_);
    stuck_.emplace_back(executor, in_service);
    changed_.notify_all();
  }

  void Drop(int task, const absl::Status& why) {
    std::lock_guard lock(mu_);
    dropped_[task] = why.code();
    changed_.notify_all();
  }

  // Each waits until `count` batches have started, tasks were dropped, batches run at once.
  bool AwaitBatches(int count) {
    return Await([&] { return static_cast<int>(batches_.size()) >= count; });
  }
  bool AwaitDrops(int count) {
    return Await([&] { return static_cast<int>(dropped_.size()) >= count; });
  }
  bool AwaitRunning(int count) { return Await([&] { return running_ >= count; }); }
  bool AwaitStuck(int count) {
    return Await([&] { return static_cast<int>(stuck_.size()) >= count; });
  }
  // (executor, executors left in service) per executor taken out of service.
  std::vector<std::pair<int, int>> stuck() {
    std::lock_guard lock(mu_);
    return stuck_;
  }

  std::vector<RanBatch> batches() {
    std::lock_guard lock(mu_);
    return batches_;
  }
  std::map<int, absl::StatusCode> dropped() {
    std::lock_guard lock(mu_);
    return dropped_;
  }
  int max_running() {
    std::lock_guard lock(mu_);
    return max_running_;
  }

 private:
  template <typename Condition>
  bool Await(Condition condition) {
    std::unique_lock lock(mu_);
    return changed_.wait_for(lock, absl::ToChronoSeconds(kGuard), condition);
  }

  std::mutex mu_;
  std::condition_variable changed_;
  bool holding_ = false;
  int running_ = 0;
  int max_running_ = 0;
  std::vector<RanBatch> batches_;
  std::map<int, absl::StatusCode> dropped_;
  std::vector<std::pair<int, int>> stuck_;
};

struct Fixture {
  explicit Fixture(BatcherOptions options = Defaults()) {
    options.clock = &clock;
    auto created = Batcher<int>::Create(
        options, [this](Batch<int>& batch) { puppet.Run(batch); },
        [this](int& task, const absl::Status& why) { puppet.Drop(task, why); },
        [this](int executor, absl::Duration /*running*/, int in_service) {
          puppet.Stuck(executor, in_service);
        });
    REQUIRE(created.ok());
    batcher = std::move(created).value();
  }
  ~Fixture() {
    puppet.Release();
    batcher->Shutdown(absl::ZeroDuration());
  }

  static BatcherOptions Defaults() {
    BatcherOptions options;
    options.bucket_sizes = {8, 16, 32};
    options.policy.max_batch_size = 4;
    options.policy.max_queue_delay = absl::Milliseconds(1);
    options.max_queue_size = 8;
    options.executors = 1;
    return options;
  }

  absl::Status Submit(int id, int size, absl::Time deadline = absl::InfiniteFuture(),
                      std::shared_ptr<std::atomic<bool>> cancelled = nullptr,
                      Batcher<int>::TaskId* task_id = nullptr) {
    Task<int> task{id, size, deadline, {}};
    if (cancelled) task.is_cancelled = [cancelled] { return cancelled->load(); };
    return batcher->Submit(task, task_id);
  }

  // The scheduler went to sleep after the `after`-th sleep, until `until`: it has seen what
  // came before and waits for that time.
  void AwaitSchedulerSleep(absl::Time until, int64_t after) {
    REQUIRE(clock.AwaitSleep(until, after, kGuard));
  }

  FakeClock clock;
  Puppet puppet;
  std::unique_ptr<Batcher<int>> batcher;
};

TEST_CASE("a full batch goes at once, without the clock moving") {
  Fixture f;
  for (int id = 0; id < 4; ++id) REQUIRE(f.Submit(id, 5).ok());
  REQUIRE(f.puppet.AwaitBatches(1));
  const RanBatch batch = f.puppet.batches()[0];
  CHECK(batch.tasks == std::vector<int>{0, 1, 2, 3});
  CHECK(batch.bucket == 0);
  CHECK(batch.executor_wait == absl::ZeroDuration());
}

TEST_CASE("a partial batch holds at delay - 1us and goes at the delay") {
  Fixture f;
  const absl::Time t0 = f.clock.Now();
  int64_t sleeps = f.clock.sleeps();
  REQUIRE(f.Submit(0, 10).ok());
  REQUIRE(f.Submit(1, 12).ok());
  f.AwaitSchedulerSleep(t0 + absl::Milliseconds(1), sleeps);
  sleeps = f.clock.sleeps();
  f.clock.Advance(absl::Microseconds(999));
  f.AwaitSchedulerSleep(t0 + absl::Milliseconds(1), sleeps);
  CHECK(f.puppet.batches().empty());
  f.clock.Advance(absl::Microseconds(1));
  REQUIRE(f.puppet.AwaitBatches(1));
  const RanBatch batch = f.puppet.batches()[0];
  CHECK(batch.tasks == std::vector<int>{0, 1});
  CHECK(batch.bucket == 1);
}

TEST_CASE("tasks of different buckets never share a batch") {
  Fixture f;
  const int64_t sleeps = f.clock.sleeps();
  REQUIRE(f.Submit(0, 3).ok());
  REQUIRE(f.Submit(1, 20).ok());
  REQUIRE(f.Submit(2, 8).ok());
  f.AwaitSchedulerSleep(f.clock.Now() + absl::Milliseconds(1), sleeps);
  f.clock.Advance(absl::Milliseconds(1));
  REQUIRE(f.puppet.AwaitBatches(2));
  std::map<int, std::vector<int>> by_bucket;
  for (const RanBatch& batch : f.puppet.batches()) by_bucket[batch.bucket] = batch.tasks;
  CHECK(by_bucket[0] == std::vector<int>{0, 2});
  CHECK(by_bucket[2] == std::vector<int>{1});
}

TEST_CASE("a task whose deadline passes while queued is answered at its deadline, never run") {
  Fixture f;
  f.puppet.Hold();
  for (int id = 0; id < 4; ++id) REQUIRE(f.Submit(id, 5).ok());  // occupies the executor
  REQUIRE(f.puppet.AwaitRunning(1));
  const absl::Time deadline = f.clock.Now() + absl::Milliseconds(100);
  int64_t sleeps = f.clock.sleeps();
  REQUIRE(f.Submit(7, 5, deadline).ok());
  f.AwaitSchedulerSleep(deadline, sleeps);
  sleeps = f.clock.sleeps();
  f.clock.Set(deadline - absl::Microseconds(1));
  f.AwaitSchedulerSleep(deadline, sleeps);
  CHECK(f.puppet.dropped().empty());
  // One tick later: dropped with DEADLINE_EXCEEDED while the executor is still busy.
  f.clock.Set(deadline);
  REQUIRE(f.puppet.AwaitDrops(1));
  CHECK(f.puppet.dropped().at(7) == absl::StatusCode::kDeadlineExceeded);
  f.puppet.Release();
  f.batcher->Shutdown(absl::Hours(1));
  for (const RanBatch& batch : f.puppet.batches()) {
    CHECK(std::count(batch.tasks.begin(), batch.tasks.end(), 7) == 0);
  }
  CHECK(f.batcher->stats().expired == 1);
}

TEST_CASE("a cancelled task is dropped with CANCELLED and never run") {
  Fixture f;
  auto cancelled = std::make_shared<std::atomic<bool>>(false);
  f.puppet.Hold();
  for (int id = 0; id < 4; ++id) REQUIRE(f.Submit(id, 5).ok());
  REQUIRE(f.puppet.AwaitRunning(1));
  REQUIRE(f.Submit(10, 5, absl::InfiniteFuture(), cancelled).ok());
  REQUIRE(f.Submit(11, 5).ok());
  cancelled->store(true);
  f.puppet.Release();
  f.clock.Advance(absl::Milliseconds(1));
  REQUIRE(f.puppet.AwaitBatches(2));
  REQUIRE(f.puppet.AwaitDrops(1));
  CHECK(f.puppet.dropped().at(10) == absl::StatusCode::kCancelled);
  CHECK(f.puppet.batches()[1].tasks == std::vector<int>{11});
  CHECK(f.batcher->stats().cancelled == 1);
}

TEST_CASE("Cancel() drops a queued task at once, freeing its slot: a running one is left alone") {
  BatcherOptions options = Fixture::Defaults();
  options.policy.max_batch_size = 1;
  Fixture f(options);
  f.puppet.Hold();
  Batcher<int>::TaskId running = 0;
  REQUIRE(f.Submit(0, 5, absl::InfiniteFuture(), nullptr, &running).ok());
  REQUIRE(f.puppet.AwaitRunning(1));
  Batcher<int>::TaskId queued = 0;
  REQUIRE(f.Submit(10, 5, absl::InfiniteFuture(), nullptr, &queued).ok());
  REQUIRE(f.Submit(11, 5).ok());
  CHECK(f.batcher->stats().depth == std::vector<int64_t>{2, 0, 0});
  // Without the clock moving and with the executor still busy.
  f.batcher->Cancel(queued);
  REQUIRE(f.puppet.AwaitDrops(1));
  CHECK(f.puppet.dropped().at(10) == absl::StatusCode::kCancelled);
  CHECK(f.batcher->stats().depth == std::vector<int64_t>{1, 0, 0});
  f.batcher->Cancel(queued);   // dropped already
  f.batcher->Cancel(running);  // batched: runs to its end
  f.batcher->Cancel(12345);    // never accepted
  f.puppet.Release();
  REQUIRE(f.puppet.AwaitBatches(2));
  f.batcher->Shutdown(absl::Hours(1));
  CHECK(f.puppet.dropped().size() == 1);
  CHECK(f.puppet.batches()[0].tasks == std::vector<int>{0});
  CHECK(f.puppet.batches()[1].tasks == std::vector<int>{11});
  CHECK(f.batcher->stats().cancelled == 1);
}

TEST_CASE("an executor whose batch runs past stuck_after is taken out of service for good") {
  BatcherOptions options = Fixture::Defaults();
  options.executors = 2;
  options.policy.max_batch_size = 1;
  options.stuck_after = absl::Seconds(30);
  Fixture f(options);
  f.puppet.Hold();
  const absl::Time start = f.clock.Now();
  int64_t sleeps = f.clock.sleeps();
  REQUIRE(f.Submit(0, 5).ok());
  REQUIRE(f.puppet.AwaitRunning(1));
  const int stuck_executor = f.puppet.batches()[0].executor;
  // The watchdog waits for the batch's 30 s; a tick before, nothing happens.
  f.AwaitSchedulerSleep(start + absl::Seconds(30), sleeps);
  sleeps = f.clock.sleeps();
  f.clock.Set(start + absl::Seconds(30) - absl::Microseconds(1));
  f.AwaitSchedulerSleep(start + absl::Seconds(30), sleeps);
  CHECK(f.puppet.stuck().empty());
  f.clock.Set(start + absl::Seconds(30));
  REQUIRE(f.puppet.AwaitStuck(1));
  CHECK(f.puppet.stuck()[0] == std::pair<int, int>{stuck_executor, 1});
  // The other executor serves; the stuck one, once its batch returns, takes nothing more.
  REQUIRE(f.Submit(1, 5).ok());
  REQUIRE(f.puppet.AwaitRunning(2));
  f.puppet.Release();
  for (int id = 2; id < 5; ++id) {
    REQUIRE(f.Submit(id, 5).ok());
    REQUIRE(f.puppet.AwaitBatches(id + 1));
  }
  f.batcher->Shutdown(absl::Hours(1));
  const std::vector<RanBatch> batches = f.puppet.batches();
  for (size_t i = 1; i < batches.size(); ++i) CHECK(batches[i].executor != stuck_executor);
  const BatcherStats stats = f.batcher->stats();
  CHECK(stats.stuck_executors == 1);
  CHECK(stats.late_returns == 1);
  CHECK(f.puppet.stuck().size() == 1);
  CHECK(f.puppet.dropped().empty());
}

TEST_CASE("with every executor out of service, queued tasks get UNAVAILABLE and new ones too") {
  BatcherOptions options = Fixture::Defaults();
  options.policy.max_batch_size = 1;
  options.stuck_after = absl::Seconds(30);
  Fixture f(options);
  f.puppet.Hold();
  REQUIRE(f.Submit(0, 5).ok());
  REQUIRE(f.puppet.AwaitRunning(1));
  REQUIRE(f.Submit(1, 5).ok());
  REQUIRE(f.Submit(2, 16).ok());
  f.clock.Advance(absl::Seconds(30));
  REQUIRE(f.puppet.AwaitStuck(1));
  CHECK(f.puppet.stuck()[0] == std::pair<int, int>{0, 0});
  REQUIRE(f.puppet.AwaitDrops(2));
  CHECK(f.puppet.dropped().at(1) == absl::StatusCode::kUnavailable);
  CHECK(f.puppet.dropped().at(2) == absl::StatusCode::kUnavailable);
  const absl::Status refused = f.Submit(3, 5);
  CHECK(refused.code() == absl::StatusCode::kUnavailable);
  CHECK_THAT(std::string(refused.message()), Catch::Contains("no executor in service"));
  // Shutdown does not wait for the stuck executor (the puppet still holds it).
  f.batcher->Shutdown(absl::Hours(1));
  const BatcherStats stats = f.batcher->stats();
  CHECK(stats.refused_no_executor == 1);
  CHECK(stats.shut_down == 2);
  CHECK(stats.executed == 1);
  // The fixture releases the puppet, and the destructor joins the executor.
}

TEST_CASE("stuck_after 0 never takes an executor out of service") {
  BatcherOptions options = Fixture::Defaults();
  options.policy.max_batch_size = 1;
  Fixture f(options);
  f.puppet.Hold();
  REQUIRE(f.Submit(0, 5).ok());
  REQUIRE(f.puppet.AwaitRunning(1));
  f.clock.Advance(absl::Hours(24));
  REQUIRE(f.Submit(1, 5).ok());
  f.puppet.Release();
  REQUIRE(f.puppet.AwaitBatches(2));
  CHECK(f.puppet.stuck().empty());
  CHECK(f.batcher->stats().stuck_executors == 0);
}

TEST_CASE("a full bucket refuses at once, leaves the task with the caller, other buckets accept") {
  Fixture f;
  f.puppet.Hold();
  for (int id = 0; id < 4; ++id) REQUIRE(f.Submit(id, 5).ok());
  REQUIRE(f.puppet.AwaitRunning(1));
  for (int id = 4; id < 12; ++id) REQUIRE(f.Submit(id, 5).ok());  // max_queue_size 8
  Task<int> refused{99, 5, absl::InfiniteFuture(), {}};
  const absl::Status status = f.batcher->Submit(refused);
  CHECK(status.code() == absl::StatusCode::kResourceExhausted);
  CHECK(refused.payload == 99);
  CHECK(f.Submit(12, 16).ok());
  CHECK(f.batcher->stats().refused_full == 1);
  CHECK(f.batcher->stats().depth == std::vector<int64_t>{8, 1, 0});
}

TEST_CASE("a task larger than every bucket is refused by size") {
  Fixture f;
  const absl::Status status = f.Submit(0, 33);
  CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(status.message()), Catch::Contains("33"));
}

TEST_CASE("several executors run batches at the same time, each with its own index") {
  BatcherOptions options = Fixture::Defaults();
  options.executors = 3;
  options.policy.max_batch_size = 1;
  Fixture f(options);
  f.puppet.Hold();
  for (int id = 0; id < 3; ++id) REQUIRE(f.Submit(id, 5).ok());
  REQUIRE(f.puppet.AwaitRunning(3));
  std::vector<int> executors;
  for (const RanBatch& batch : f.puppet.batches()) executors.push_back(batch.executor);
  std::sort(executors.begin(), executors.end());
  CHECK(executors == std::vector<int>{0, 1, 2});
  CHECK(f.puppet.max_running() == 3);
}

TEST_CASE("a bucket that keeps filling up does not starve a quieter one") {
  Fixture f;
  f.puppet.Hold();
  for (int id = 0; id < 4; ++id) REQUIRE(f.Submit(id, 5).ok());
  REQUIRE(f.puppet.AwaitRunning(1));
  REQUIRE(f.Submit(100, 20).ok());  // the quiet bucket's task, oldest
  f.clock.Advance(absl::Milliseconds(2));
  for (int id = 4; id < 8; ++id) REQUIRE(f.Submit(id, 5).ok());  // a full batch, younger
  f.puppet.Release();
  REQUIRE(f.puppet.AwaitBatches(3));
  const std::vector<RanBatch> batches = f.puppet.batches();
  CHECK(batches[1].tasks == std::vector<int>{100});
  CHECK(batches[2].tasks == std::vector<int>{4, 5, 6, 7});
  // The quiet task was ready for 1 ms before the executor freed up.
  CHECK(batches[1].executor_wait == absl::Milliseconds(1));
}

TEST_CASE("shutdown runs queued tasks without waiting for the delay") {
  Fixture f;
  REQUIRE(f.Submit(0, 5).ok());
  REQUIRE(f.Submit(1, 20).ok());
  f.batcher->Shutdown(absl::Hours(1));
  CHECK(f.puppet.batches().size() == 2);
  CHECK(f.puppet.dropped().empty());
  CHECK(f.Submit(2, 5).code() == absl::StatusCode::kUnavailable);
  CHECK(f.batcher->stats().refused_closed == 1);
}

TEST_CASE("past the grace period, what is queued is answered UNAVAILABLE: nothing is lost") {
  Fixture f;
  f.puppet.Hold();
  for (int id = 0; id < 4; ++id) REQUIRE(f.Submit(id, 5).ok());
  REQUIRE(f.puppet.AwaitRunning(1));
  for (int id = 4; id < 7; ++id) REQUIRE(f.Submit(id, 5).ok());
  const absl::Time grace_end = f.clock.Now() + absl::Seconds(5);
  const int64_t sleeps = f.clock.sleeps();
  std::thread shutdown([&] { f.batcher->Shutdown(absl::Seconds(5)); });
  f.AwaitSchedulerSleep(grace_end, sleeps);
  f.clock.Advance(absl::Seconds(5));
  REQUIRE(f.puppet.AwaitDrops(3));
  f.puppet.Release();
  shutdown.join();
  for (int id = 4; id < 7; ++id) CHECK(f.puppet.dropped().at(id) == absl::StatusCode::kUnavailable);
  CHECK(f.puppet.batches().size() == 1);  // the batch in flight finished
  const BatcherStats stats = f.batcher->stats();
  CHECK(stats.accepted == stats.executed + stats.shut_down);
}

TEST_CASE("options out of range are refused by name") {
  auto create = [](BatcherOptions options) {
    return Batcher<int>::Create(
               std::move(options), [](Batch<int>&) {}, [](int&, const absl::Status&) {})
        .status();
  };
  BatcherOptions options;
  options.executors = 0;
  CHECK_THAT(std::string(create(options).message()), Catch::StartsWith("executors"));
  options = {};
  options.max_queue_size = 0;
  CHECK_THAT(std::string(create(options).message()), Catch::StartsWith("max_queue_size"));
  options = {};
  options.policy.max_batch_size = 0;
  CHECK_THAT(std::string(create(options).message()), Catch::StartsWith("max_batch_size"));
  options = {};
  options.stuck_after = absl::Seconds(-1);
  CHECK_THAT(std::string(create(options).message()), Catch::StartsWith("stuck_after"));
}

// With the real clock and many threads: every accepted task is run or dropped exactly once.
TEST_CASE("under concurrent load every accepted task is answered exactly once") {
  BatcherOptions options;
  options.bucket_sizes = {4, 8, 16};
  options.policy.max_batch_size = 8;
  options.policy.max_queue_delay = absl::Microseconds(200);
  options.max_queue_size = 64;
  options.executors = 2;
  std::mutex mu;
  std::map<int, int> answers;  // task -> times answered
  auto answer = [&](int task) {
    std::lock_guard lock(mu);
    ++answers[task];
  };
  auto created = Batcher<int>::Create(
      options,
      [&](Batch<int>& batch) {
        for (int task : batch.payloads) answer(task);
      },
      [&](int& task, const absl::Status&) { answer(task); });
  REQUIRE(created.ok());
  std::unique_ptr<Batcher<int>> batcher = std::move(created).value();

  std::atomic<int> accepted{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&, c] {
      std::mt19937 random(c);
      for (int i = 0; i < 2000; ++i) {
        const int id = c * 100000 + i;
        Task<int> task{id, 1 + static_cast<int>(random() % 16), absl::InfiniteFuture(), {}};
        if (random() % 4 == 0) task.deadline = absl::Now() + absl::Microseconds(random() % 500);
        if (batcher->Submit(task).ok()) ++accepted;
      }
    });
  }
  for (std::thread& client : clients) client.join();
  batcher->Shutdown(absl::Seconds(60));
  std::lock_guard lock(mu);
  CHECK(static_cast<int>(answers.size()) == accepted.load());
  for (const auto& [task, times] : answers) {
    INFO("task " << task);
    CHECK(times == 1);
  }
  const BatcherStats stats = batcher->stats();
  CHECK(stats.accepted == accepted.load());
  CHECK(stats.executed + stats.expired + stats.cancelled + stats.shut_down == stats.accepted);
}

}  // namespace
}  // namespace routeserve::batching
