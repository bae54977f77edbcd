// DeadlineAdmission: nothing refused before the server's pace is known; then (the calls ahead
// + 1) times the time per answer, measured over busy windows of served answers only.
#include "planning/deadline_admission.h"

#include <catch2/catch.hpp>

namespace routeserve::planning {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1'800'000'000);

absl::Time At(int64_t ms) { return kStart + absl::Milliseconds(ms); }

TEST_CASE("before the pace is known, or without a deadline: admitted", "[admission]") {
  DeadlineAdmission admission;
  for (int i = 0; i < 100; ++i) admission.OnAccepted(At(0));
  CHECK(admission.Check(At(1), At(0)).ok());
  CHECK(admission.Check(absl::InfiniteFuture(), At(0)).ok());
}

TEST_CASE("(the calls ahead + 1) times the time per answer over busy windows", "[admission]") {
  DeadlineAdmission admission;
  // Busy from 0 ms: 5 calls; answers at 100, 100, 200 and 300 ms close a window (>= 250 ms)
  // with 4 answers: 75 ms each.
  for (int i = 0; i < 5; ++i) admission.OnAccepted(At(0));
  for (const int64_t ms : {100, 100, 200}) admission.OnAnswered(At(ms), /*served=*/true);
  CHECK(admission.time_per_answer() == absl::ZeroDuration());  // the window is still open
  admission.OnAnswered(At(300), true);
  CHECK(admission.time_per_answer() == absl::Milliseconds(75));
  CHECK(admission.in_system() == 1);

  // 1 ahead: (1 + 1) x 75 ms = 150 ms, which may take 3/4 of the time left: 200 ms.
  CHECK(admission.Check(At(500), At(300)).ok());
  const absl::Status refused = admission.Check(At(499), At(300));
  CHECK(refused.code() == absl::StatusCode::kResourceExhausted);
  CHECK(refused.message() == "deadline cannot be met: 1 calls ahead, answered in 75ms each: "
                             "about 150ms to its answer, 199ms left (the estimate may take 75% "
                             "of it)");

  // A call refused further on leaves no trace.
  admission.OnAccepted(At(300));
  admission.OnNotAccepted();
  CHECK(admission.in_system() == 1);

  // Calls dropped unserved count among those ahead but not in the pace: the next window, from
  // 300 ms, has 2 served answers in 300 ms (150 ms each), and the average moves by 0.3 of the
  // difference: 75 + 0.3 x 75 = 97.5 ms.
  for (int i = 0; i < 3; ++i) admission.OnAccepted(At(310));
  admission.OnAnswered(At(350), /*served=*/false);
  admission.OnAnswered(At(400), true);
  admission.OnAnswered(At(600), true);
  CHECK(admission.time_per_answer() == absl::Microseconds(97'500));

  // The server empties: the idle time until the next call is no window.
  admission.OnAnswered(At(700), true);
  CHECK(admission.in_system() == 0);
  admission.OnAccepted(At(5'000));
  admission.OnAccepted(At(5'000));
  admission.OnAnswered(At(5'260), true);  // one answer in 260 ms of a window opened at 5 s
  CHECK(admission.time_per_answer() ==
        absl::Microseconds(97'500) + 0.3 * (absl::Milliseconds(260) - absl::Microseconds(97'500)));
}

}  // namespace
}  // namespace routeserve::planning
