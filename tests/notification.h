// Notification: absl::Notification's interface for the tests, on std::mutex and
// std::condition_variable. ThreadSanitizer sees through the standard library's locks but not
// through a prebuilt Abseil's (Debian's is built without its annotations): a value written before
// absl::Notification::Notify() and read after a wait looked like a data race under
// `make test-tsan`. The code under test locks with std::mutex for the same reason
// (batching/clock.h).
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"

namespace routeserve::testing {

// Thread-safe. Notify() at most once; waits return once it has been called.
class Notification {
 public:
  void Notify() {
    std::lock_guard lock(mu_);
    notified_ = true;
    changed_.notify_all();
  }
  bool HasBeenNotified() const {
    std::lock_guard lock(mu_);
    return notified_;
  }
  void WaitForNotification() const {
    std::unique_lock lock(mu_);
    changed_.wait(lock, [this] { return notified_; });
  }
  // True when notified within `timeout`.
  bool WaitForNotificationWithTimeout(absl::Duration timeout) const {
    std::unique_lock lock(mu_);
    return changed_.wait_for(lock, absl::ToChronoNanoseconds(timeout),
                             [this] { return notified_; });
  }

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable changed_;
  bool notified_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace routeserve::testing
