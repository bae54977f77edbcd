// DeadlineAdmission (server/deadline_admission.h).
#include "server/deadline_admission.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace routeserve::server {

absl::Status DeadlineAdmission::Check(absl::Time deadline, absl::Time now) const {
  if (deadline == absl::InfiniteFuture()) return absl::OkStatus();
  const int64_t ahead = in_system();
  const absl::Duration interval = answer_interval();
  const absl::Duration wait = ahead * interval;
  if (now + wait <= deadline) return absl::OkStatus();
  return absl::ResourceExhaustedError(absl::StrCat(
      "deadline cannot be met: ", ahead, " calls ahead, answered one every ",
      absl::FormatDuration(interval), ": about ", absl::FormatDuration(wait), " to wait, ",
      absl::FormatDuration(std::max(absl::ZeroDuration(), deadline - now)), " left"));
}

void DeadlineAdmission::OnAccepted() { in_system_.fetch_add(1, std::memory_order_relaxed); }

void DeadlineAdmission::OnNotAccepted() { in_system_.fetch_sub(1, std::memory_order_relaxed); }

void DeadlineAdmission::OnAnswered(absl::Time now) {
  const int64_t before = in_system_.fetch_sub(1, std::memory_order_relaxed);
  const int64_t now_ns = absl::ToUnixNanos(now);
  // The last call out leaves the server idle: the next interval would count the idle time.
  const int64_t last_ns =
      last_answer_ns_.exchange(before >= 2 ? now_ns : 0, std::memory_order_relaxed);
  // Busy since the last answer (never empty since), and another call still waits.
  if (before >= 2 && last_ns != 0 && now_ns >= last_ns) {
    interval_.Add(absl::Nanoseconds(now_ns - last_ns));
  }
}

}  // namespace routeserve::server
