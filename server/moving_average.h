// MovingAverage: an exponentially weighted moving average of durations, lock-free (admission by
// deadline, server/deadline_admission.h): the newest sample moves it by a fifth of its
// difference; the first sample stands alone; until then it is zero.
#pragma once

#include <atomic>

#include "absl/time/time.h"

namespace routeserve::server {

class MovingAverage {
 public:
  void Add(absl::Duration sample) {
    const double seconds = absl::ToDoubleSeconds(sample);
    double old = seconds_.load(std::memory_order_relaxed);
    while (!seconds_.compare_exchange_weak(
        old, samples_seen() ? old + kNewestWeight * (seconds - old) : seconds,
        std::memory_order_relaxed)) {
    }
    seen_.store(true, std::memory_order_relaxed);
  }
  absl::Duration value() const { return absl::Seconds(seconds_.load(std::memory_order_relaxed)); }
  bool samples_seen() const { return seen_.load(std::memory_order_relaxed); }

 private:
  static constexpr double kNewestWeight = 0.2;
  std::atomic<double> seconds_{0};
  std::atomic<bool> seen_{false};
};

}  // namespace routeserve::server
