// Clock: where the server's code reads the time, so that tests can move it.
//
// Deadlines and queue timings compare against Clock::Now(); production uses Clock::Real(), which
// is absl::Now(). gRPC deadlines are wall-clock times, so every clock here is on that scale.
#pragma once

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace routeserve::server {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;

  // absl::Now(); never destroyed, safe to use from any thread.
  static const Clock* Real();
};

}  // namespace routeserve::server
