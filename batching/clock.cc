// The real clock and the fake one.
#include "batching/clock.h"

#include <algorithm>

#include "absl/time/clock.h"

namespace routeserve::batching {
namespace {

class RealClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
  void WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                 absl::Time until) const override {
    if (until == absl::InfiniteFuture()) {
      cv.wait(lock);
    } else {
      cv.wait_until(lock, absl::ToChronoTime(until));
    }
  }
};

}  // namespace

const Clock* Clock::Real() {
  static const RealClock* const kClock = new RealClock();
  return kClock;
}

absl::Time FakeClock::Now() const {
  std::lock_guard lock(mu_);
  return now_;
}

void FakeClock::WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                          absl::Time until) const {
  int64_t number;
  {
    std::lock_guard own(mu_);
    if (until <= now_) return;
    number = ++sleeps_;
    sleeping_.push_back({lock.mutex(), &cv, until, number});
    slept_.notify_all();
  }
  cv.wait(lock);
  std::lock_guard own(mu_);
  sleeping_.erase(std::find_if(sleeping_.begin(), sleeping_.end(),
                               [number](const Sleeper& s) { return s.number == number; }));
}

void FakeClock::Advance(absl::Duration by) { Set(Now() + by); }

void FakeClock::Set(absl::Time now) {
  std::vector<Sleeper> sleeping;
  {
    std::lock_guard lock(mu_);
    now_ = now;
    sleeping = sleeping_;
  }
  // A sleeper holds its mutex from registering until it waits: taking that mutex here means
  // the notification comes after the wait began.
  for (const Sleeper& sleeper : sleeping) {
    std::lock_guard lock(*sleeper.mu);
    sleeper.cv->notify_all();
  }
}

int FakeClock::waiters() const {
  std::lock_guard lock(mu_);
  return static_cast<int>(sleeping_.size());
}

int64_t FakeClock::sleeps() const {
  std::lock_guard lock(mu_);
  return sleeps_;
}

bool FakeClock::AwaitSleep(absl::Time until, int64_t after, absl::Duration guard) const {
  std::unique_lock lock(mu_);
  return slept_.wait_for(lock, absl::ToChronoSeconds(guard), [&] {
    return std::any_of(sleeping_.begin(), sleeping_.end(), [&](const Sleeper& s) {
      return s.number > after && s.until == until;
    });
  });
}

}  // namespace routeserve::batching
