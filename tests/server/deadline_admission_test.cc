// DeadlineAdmission: nothing refused before the server's pace is known or with nothing ahead;
// then the calls ahead times the measured interval between answers, against the deadline.
#include "server/deadline_admission.h"

#include <catch2/catch.hpp>

namespace routeserve::server {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1'800'000'000);

TEST_CASE("nothing ahead, no deadline or no pace measured: admitted", "[admission]") {
  DeadlineAdmission admission;
  CHECK(admission.Check(kStart, kStart).ok());  // nothing ahead: even a deadline of now
  for (int i = 0; i < 100; ++i) admission.OnAccepted();
  CHECK(admission.Check(kStart + absl::Milliseconds(1), kStart).ok());  // no pace yet
  CHECK(admission.Check(absl::InfiniteFuture(), kStart).ok());
}

TEST_CASE("the calls ahead times the interval between answers given while busy",
          "[admission]") {
  DeadlineAdmission admission;
  for (int i = 0; i < 3; ++i) admission.OnAccepted();
  admission.OnAnswered(kStart);                              // the first: no interval yet
  admission.OnAnswered(kStart + absl::Milliseconds(10));     // one more was waiting: 10 ms
  admission.OnAnswered(kStart + absl::Milliseconds(500));    // the last, alone: no sample
  CHECK(admission.in_system() == 0);
  CHECK(admission.answer_interval() == absl::Milliseconds(10));

  const absl::Time now = kStart + absl::Seconds(1);
  for (int i = 0; i < 5; ++i) admission.OnAccepted();
  CHECK(admission.Check(now + absl::Milliseconds(50), now).ok());  // 5 x 10 ms: just in time
  const absl::Status refused = admission.Check(now + absl::Milliseconds(49), now);
  CHECK(refused.code() == absl::StatusCode::kResourceExhausted);
  CHECK(refused.message() == "deadline cannot be met: 5 calls ahead, answered one every 10ms: "
                             "about 50ms to wait, 49ms left");

  // A call refused further on leaves no trace.
  admission.OnAccepted();
  admission.OnNotAccepted();
  CHECK(admission.in_system() == 5);

  // The server was empty from the last answer to these calls' arrival: the first answer after
  // that starts afresh. Then the pace moves a fifth of the way to each new sample:
  // 10 + (60 - 10) / 5 = 20 ms.
  admission.OnAnswered(now + absl::Milliseconds(3));
  admission.OnAnswered(now + absl::Milliseconds(63));
  CHECK(admission.answer_interval() == absl::Milliseconds(20));
}

}  // namespace
}  // namespace routeserve::server
