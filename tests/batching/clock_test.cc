// The fake clock: it moves only when told to, and wakes those waiting on it.
#include "batching/clock.h"

#include <condition_variable>
#include <mutex>
#include <thread>

#include <catch2/catch.hpp>

#include "tests/notification.h"

namespace routeserve::batching {
namespace {

TEST_CASE("the fake clock stands still until advanced") {
  FakeClock clock;
  const absl::Time start = clock.Now();
  CHECK(clock.Now() == start);
  clock.Advance(absl::Milliseconds(3));
  CHECK(clock.Now() == start + absl::Milliseconds(3));
  clock.Set(start);
  CHECK(clock.Now() == start);
}

TEST_CASE("a thread waiting on the fake clock wakes when it reaches the time") {
  FakeClock clock;
  const absl::Time until = clock.Now() + absl::Seconds(1);
  std::mutex mu;
  std::condition_variable cv;
  testing::Notification woke;
  std::thread waiter([&] {
    std::unique_lock lock(mu);
    while (clock.Now() < until) clock.WaitUntil(cv, lock, until);
    woke.Notify();
  });
  REQUIRE(clock.AwaitSleep(until, 0, absl::Seconds(30)));
  clock.Advance(absl::Milliseconds(999));
  CHECK_FALSE(woke.WaitForNotificationWithTimeout(absl::Milliseconds(20)));
  clock.Advance(absl::Milliseconds(1));
  CHECK(woke.WaitForNotificationWithTimeout(absl::Seconds(30)));
  waiter.join();
  CHECK(clock.waiters() == 0);
}

TEST_CASE("waiting for a time already passed returns at once") {
  FakeClock clock;
  std::mutex mu;
  std::condition_variable cv;
  std::unique_lock lock(mu);
  clock.WaitUntil(cv, lock, clock.Now());
  CHECK(clock.waiters() == 0);
}

}  // namespace
}  // namespace routeserve::batching
