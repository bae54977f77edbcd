// DeadlineAdmission: refuses at once a call whose deadline the calls ahead of it would outlast
// (batching.admit_by_deadline), rather than letting it queue and expire.
//
// WHY: under overload a queue of calls that will expire is worse than useless: the server
//   spends its time on answers nobody waits for any more, and every caller times out. Measured
//   at 3x saturation with 1 s deadlines and the default queue, no call at all was answered in
//   time. Refusing what cannot be done in time keeps the queue to what can, and tells the
//   caller at once to go elsewhere.
// THE ESTIMATE (Little's law): a call submitted now has N calls ahead of it (accepted by the
//   planner, not yet answered: queued, batched or being finished) and will wait about N times
//   the time between two answers while the server is busy. That interval is measured, a moving
//   average over the intervals between answers during which the server was never empty and
//   after which another call was still in it, so it follows the
//   server's real pace on its real cores, whatever the stages, the buckets' mix or the load
//   beside it. A call with nothing ahead is never refused; a call without a deadline neither.
//   At low load the interval follows the arrivals rather than the server's speed, which can
//   only overstate the wait for the one or two calls ahead: a deadline shorter than that is one
//   the server could hardly meet anyway.
// THREADING: lock-free; every method is thread-safe.
#pragma once

#include <atomic>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "server/moving_average.h"

namespace routeserve::server {

class DeadlineAdmission {
 public:
  // OK when a call with `deadline`, submitted at `now`, can be answered in time as far as the
  // estimate tells; else ResourceExhausted "deadline cannot be met: ...".
  absl::Status Check(absl::Time deadline, absl::Time now) const;
  // A call is being accepted; it was not after all (refused further on); one was answered at
  // `now` (each accepted call exactly once).
  void OnAccepted();
  void OnNotAccepted();
  void OnAnswered(absl::Time now);

  int64_t in_system() const { return in_system_.load(std::memory_order_relaxed); }
  absl::Duration answer_interval() const { return interval_.value(); }

 private:
  std::atomic<int64_t> in_system_{0};
  MovingAverage interval_;
  // The last answer given while another call was in the system, unix nanoseconds; 0 before
  // the first and whenever the server has been empty since.
  std::atomic<int64_t> last_answer_ns_{0};
};

}  // namespace routeserve::server
