// Eventually: waits, in real time and at most `guard`, until a condition holds, for the tests
// that watch another thread or process reach a state (no duration is asserted: `guard` only
// bounds a broken test's wait).
#pragma once

#include <chrono>
#include <thread>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace routeserve::testing {

// True once `condition()` holds; false if `guard` passed first. Polls every millisecond.
template <typename Condition>
bool Eventually(Condition condition, absl::Duration guard) {
  const absl::Time until = absl::Now() + guard;
  while (!condition()) {
    if (absl::Now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace routeserve::testing
