// CompletionEstimate: zero before anything is measured, then the tasks ahead at the slower
// stage's pace plus the task's own batch and finishing, with moving averages per bucket.
#include "batching/completion_estimate.h"

#include <catch2/catch.hpp>

namespace routeserve::batching {
namespace {

double Seconds(absl::Duration d) { return absl::ToDoubleSeconds(d); }

TEST_CASE("nothing measured, nothing estimated") {
  const CompletionEstimate estimate(/*buckets=*/3, /*executors=*/2, /*finishing_threads=*/2);
  CHECK(estimate.Estimate(0, 100) == absl::ZeroDuration());
  CHECK(estimate.Estimate(7, 1) == absl::ZeroDuration());  // no such bucket
}

TEST_CASE("the tasks ahead at the slower stage's pace, then the task's own batch and finishing") {
  CompletionEstimate estimate(/*buckets=*/2, /*executors=*/2, /*finishing_threads=*/4);
  // Bucket 0: batches of 4 in 40 ms (10 ms a task over 2 executors: 5 ms), finishing 8 ms a
  // task over 4 threads (2 ms): the executors are the slower stage.
  estimate.OnBatch(0, 4, absl::Milliseconds(40));
  estimate.OnFinishingQueued();
  estimate.OnFinished(0, absl::Milliseconds(8), /*queued=*/true);
  CHECK(Seconds(estimate.Estimate(0, 0)) == Approx(0.048));
  CHECK(Seconds(estimate.Estimate(0, 10)) == Approx(10 * 0.005 + 0.048));
  // Bucket 1 knows nothing yet.
  CHECK(estimate.Estimate(1, 10) == absl::ZeroDuration());

  // Finishing slows to 100 ms a task; the average moves a fifth of the way: 8 + 0.2 x 92 =
  // 26.4 ms, 6.6 ms a task over 4 threads: now the slower stage.
  estimate.OnFinished(0, absl::Milliseconds(100), /*queued=*/false);
  CHECK(Seconds(estimate.Estimate(0, 10)) == Approx(10 * 0.0066 + 0.040 + 0.0264));

  // Tasks waiting for finishing count as ahead of it too.
  estimate.OnFinishingQueued();
  estimate.OnFinishingQueued();
  CHECK(Seconds(estimate.Estimate(0, 10)) == Approx(12 * 0.0066 + 0.040 + 0.0264));
  // An error's finishing leaves the average alone but leaves the backlog.
  estimate.OnFinished(-1, absl::Seconds(5), /*queued=*/true);
  CHECK(Seconds(estimate.Estimate(0, 10)) == Approx(11 * 0.0066 + 0.040 + 0.0264));
}

}  // namespace
}  // namespace routeserve::batching
