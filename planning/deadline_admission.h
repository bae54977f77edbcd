// DeadlineAdmission: refuses at once a call whose deadline the calls ahead of it would outlast
// (batching.admit_by_deadline), rather than letting it queue and expire.
//
// WHY: under overload a queue of calls that will expire is worse than useless: the server
//   spends its time on answers nobody waits for any more, and every caller times out. Measured
//   at 3x saturation with 1 s deadlines and the default queue, not one call was answered in
//   time. Refusing what cannot be done in time keeps the queue to what can, and tells the
//   caller at once to go elsewhere.
// THE ESTIMATE (Little's law): a call submitted now has N calls ahead of it (accepted by the
//   planner and not yet answered: queued, batched or being finished) and is answered about
//   (N + 1) times the server's time per answer from now; it is admitted when that takes at most
//   three quarters of the time its deadline leaves (the headroom for the pace's swings). That
//   time per answer is measured over windows of
//   at least kWindow during which the server was never empty: the window's length over the
//   answers given in it (answers come in bursts, a batch's at once and then none while the
//   next batch runs: a window longer than a batch's cycle sees the pace, where the time
//   between two answers would see the burst), averaged from window to window. Only answers of
//   calls whose work ran count; calls dropped from the queue unserved come in bursts and say
//   nothing of the pace, while still counting among the calls ahead, so under overload the
//   estimate errs on the side of refusing. A call without a deadline is never refused, nor is
//   any before the first window has closed.
// THREADING: thread-safe; one short critical section per call and per answer, under a
//   std::mutex, as the batcher's (batching/clock.h says why: ThreadSanitizer sees through the
//   standard library's locks, not through a prebuilt Abseil's).
#pragma once

#include <cstdint>
#include <mutex>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/time/time.h"

namespace routeserve::planning {

class DeadlineAdmission {
 public:
  // The shortest window the pace is measured over.
  static constexpr absl::Duration kWindow = absl::Milliseconds(250);

  // OK when a call with `deadline`, submitted at `now`, can be answered in time as far as the
  // estimate tells; else ResourceExhausted "deadline cannot be met: ...".
  absl::Status Check(absl::Time deadline, absl::Time now) const;
  // A call is being accepted at `now`; it was not after all (refused further on); one was
  // answered at `now` (each accepted call exactly once), `served`: after its work ran, rather
  // than dropped from the queue (its deadline passed, its caller went away).
  void OnAccepted(absl::Time now);
  void OnNotAccepted();
  void OnAnswered(absl::Time now, bool served);

  int64_t in_system() const;
  // The measured time per answer; zero before the first window has closed.
  absl::Duration time_per_answer() const;

 private:
  mutable std::mutex mu_;
  int64_t in_system_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time window_start_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();  // past: none open
  int64_t window_answers_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Duration time_per_answer_ ABSL_GUARDED_BY(mu_) = absl::ZeroDuration();
};

}  // namespace routeserve::planning
