// DeadlineAdmission (planning/deadline_admission.h).
#include "planning/deadline_admission.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace routeserve::planning {
namespace {

// The newest window moves the average by this share of its difference.
constexpr double kNewestWeight = 0.3;
// The share of the time left that the estimate may take. The estimate is an average, and the
// pace under overload swung by a third either way from window to window (measured: 4.5 to
// 8 ms per answer at 3x saturation on 2 cores): calls admitted right at their deadline
// expired one in three.
constexpr double kHeadroom = 0.75;

}  // namespace

absl::Status DeadlineAdmission::Check(absl::Time deadline, absl::Time now) const {
  if (deadline == absl::InfiniteFuture()) return absl::OkStatus();
  std::lock_guard lock(mu_);
  const absl::Duration wait = (in_system_ + 1) * time_per_answer_;
  if (wait <= kHeadroom * (deadline - now)) return absl::OkStatus();
  auto format = [](absl::Duration d) {  // to 10 us: "6.98ms", not "6.98368725ms"
    return absl::FormatDuration(absl::Trunc(std::max(absl::ZeroDuration(), d),
                                            absl::Microseconds(10)));
  };
  return absl::ResourceExhaustedError(absl::StrCat(
      "deadline cannot be met: ", in_system_, " calls ahead, answered in ",
      format(time_per_answer_), " each: about ", format(wait), " to its answer, ",
      format(deadline - now), " left (the estimate may take ", kHeadroom * 100, "% of it)"));
}

void DeadlineAdmission::OnAccepted(absl::Time now) {
  std::lock_guard lock(mu_);
  if (in_system_++ == 0) {  // busy from now: a window opens
    window_start_ = now;
    window_answers_ = 0;
  }
}

void DeadlineAdmission::OnNotAccepted() {
  std::lock_guard lock(mu_);
  if (--in_system_ == 0) window_start_ = absl::InfinitePast();
}

void DeadlineAdmission::OnAnswered(absl::Time now, bool served) {
  std::lock_guard lock(mu_);
  --in_system_;
  if (window_start_ != absl::InfinitePast() && served) {
    ++window_answers_;
    if (now - window_start_ >= kWindow) {
      const absl::Duration sample = (now - window_start_) / window_answers_;
      time_per_answer_ = time_per_answer_ == absl::ZeroDuration()
                             ? sample
                             : time_per_answer_ + kNewestWeight * (sample - time_per_answer_);
      window_start_ = now;
      window_answers_ = 0;
    }
  }
  // Empty: the time until the next call would count idleness, not work.
  if (in_system_ == 0) window_start_ = absl::InfinitePast();
}

int64_t DeadlineAdmission::in_system() const {
  std::lock_guard lock(mu_);
  return in_system_;
}

absl::Duration DeadlineAdmission::time_per_answer() const {
  std::lock_guard lock(mu_);
  return time_per_answer_;
}

}  // namespace routeserve::planning
