// Clock: where time is read and waited for, injected, so that tests can move it. Production uses
// Clock::Real(), which is absl::Now(); tests use FakeClock, which stands still until told to
// advance, so that no test sleeps.
//
// gRPC deadlines are wall-clock times, so every clock here is on that scale. The batching code
// locks with std::mutex rather than absl::Mutex: ThreadSanitizer sees through the standard
// library's locks, not through a prebuilt Abseil's.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"

namespace routeserve::batching {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;

  // Waits on `cv`, with `lock` held, until it is notified or this clock reaches `until`.
  // Spurious returns are allowed: callers re-check their condition.
  virtual void WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                         absl::Time until) const = 0;

  // absl::Now(); never destroyed, safe to use from any thread.
  static const Clock* Real();
};

// A clock that moves only when told to. Advance() wakes every thread in WaitUntil(), which then
// re-checks its condition against the new time. Thread-safe; the components waiting on it must
// outlive any Advance() or Set() in progress.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(absl::Time start = absl::FromUnixSeconds(1'700'000'000)) : now_(start) {}

  absl::Time Now() const override;
  void WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                 absl::Time until) const override;

  void Advance(absl::Duration by);
  void Set(absl::Time now);
  // Threads now in WaitUntil().
  int waiters() const;
  // Calls of WaitUntil() that went to sleep so far.
  int64_t sleeps() const;
  // Waits, in real time and at most `guard`, until a thread that went to sleep after the
  // `after`-th sleep sleeps until `until`: lets a test know that a component has seen what the
  // test just did and waits for the time the test expects. False on timeout.
  bool AwaitSleep(absl::Time until, int64_t after, absl::Duration guard) const;

 private:
  struct Sleeper {
    std::mutex* mu;
    std::condition_variable* cv;
    absl::Time until;
    int64_t number;
  };

  mutable std::mutex mu_;
  mutable std::condition_variable slept_;  // a sleeper registered
  absl::Time now_ ABSL_GUARDED_BY(mu_);
  // The sleeping threads' mutex and condition; Set() signals each under its own mutex, so that
  // a wake-up cannot fall between a sleeper's check and its wait.
  mutable std::vector<Sleeper> sleeping_ ABSL_GUARDED_BY(mu_);
  mutable int64_t sleeps_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace routeserve::batching
