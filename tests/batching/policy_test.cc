// The batching policy as a table: when a batch may go, which bucket goes first, where a task
// belongs.
#include "batching/policy.h"

#include <catch2/catch.hpp>

namespace routeserve::batching {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1'700'000'000);

TEST_CASE("a batch may go at max_queue_delay after its oldest task, or at once when full") {
  BatchingPolicy policy;
  policy.max_batch_size = 4;
  policy.max_queue_delay = absl::Microseconds(500);
  struct Row {
    const char* what;
    BucketState bucket;
    absl::Duration now_after_t0;
    bool goes;
  };
  const Row rows[] = {
      {"empty never goes", {0, absl::InfiniteFuture()}, absl::Hours(1), false},
      {"one task holds at delay - 1us", {1, kT0}, absl::Microseconds(499), false},
      {"one task goes at delay", {1, kT0}, absl::Microseconds(500), true},
      {"one task goes after delay", {1, kT0}, absl::Microseconds(900), true},
      {"three of four hold at delay - 1us", {3, kT0}, absl::Microseconds(499), false},
      {"full goes at once", {4, kT0, kT0}, absl::ZeroDuration(), true},
      {"over full goes at once", {9, kT0, kT0}, absl::ZeroDuration(), true},
      {"filled later, goes when full", {4, kT0, kT0 + absl::Microseconds(300)},
       absl::Microseconds(300), true},
      {"filled later, holds before", {4, kT0, kT0 + absl::Microseconds(300)},
       absl::Microseconds(299), false},
  };
  for (const Row& row : rows) {
    INFO(row.what);
    const int chosen = ChooseBucket({&row.bucket, 1}, policy, kT0 + row.now_after_t0,
                                    /*draining=*/false);
    CHECK((chosen == 0) == row.goes);
    CHECK((ReadyAt(row.bucket, policy) <= kT0 + row.now_after_t0) == row.goes);
  }
}

TEST_CASE("a batch is ready from when it filled up or its delay passed, whichever came first") {
  BatchingPolicy policy;
  policy.max_batch_size = 2;
  policy.max_queue_delay = absl::Milliseconds(1);
  CHECK(ReadyAt({2, kT0, kT0 + absl::Microseconds(200)}, policy) == kT0 + absl::Microseconds(200));
  CHECK(ReadyAt({2, kT0, kT0 + absl::Milliseconds(5)}, policy) == kT0 + absl::Milliseconds(1));
  CHECK(ReadyAt({1, kT0}, policy) == kT0 + absl::Milliseconds(1));
  CHECK(ReadyAt({}, policy) == absl::InfiniteFuture());
}

TEST_CASE("a zero delay lets any waiting task go") {
  BatchingPolicy policy;
  policy.max_queue_delay = absl::ZeroDuration();
  const BucketState one{1, kT0};
  CHECK(ChooseBucket({&one, 1}, policy, kT0, false) == 0);
}

TEST_CASE("among buckets that may go, the oldest task's goes first") {
  BatchingPolicy policy;
  policy.max_batch_size = 2;
  policy.max_queue_delay = absl::Milliseconds(1);
  const absl::Time now = kT0 + absl::Milliseconds(5);
  const std::vector<BucketState> buckets = {
      {2, kT0 + absl::Milliseconds(3), kT0 + absl::Milliseconds(4)},  // full, younger
      {1, kT0 + absl::Milliseconds(1)},  // delay passed, oldest
      {1, kT0 + absl::Microseconds(4500)},  // not yet
  };
  CHECK(ChooseBucket(buckets, policy, now, false) == 1);
  // Nothing may go: -1.
  const std::vector<BucketState> waiting = {{1, now}, {0, absl::InfiniteFuture()}};
  CHECK(ChooseBucket(waiting, policy, now, false) == -1);
  // Draining: anything non-empty goes, oldest first.
  CHECK(ChooseBucket(waiting, policy, now, true) == 0);
  CHECK(ChooseBucket(buckets, policy, kT0, true) == 1);
}

TEST_CASE("a task goes to the smallest bucket that holds it") {
  const std::vector<int> sizes = {8, 16, 32};
  CHECK(BucketFor(sizes, 1) == 0);
  CHECK(BucketFor(sizes, 8) == 0);
  CHECK(BucketFor(sizes, 9) == 1);
  CHECK(BucketFor(sizes, 32) == 2);
  CHECK(BucketFor(sizes, 33) == -1);
}

TEST_CASE("policies out of range are refused by name") {
  const std::vector<int> sizes = {8, 16};
  BatchingPolicy policy;
  CHECK(ValidatePolicy(policy, sizes).ok());
  policy.max_batch_size = 0;
  CHECK_THAT(std::string(ValidatePolicy(policy, sizes).message()),
             Catch::StartsWith("max_batch_size"));
  policy = {};
  policy.max_queue_delay = absl::Microseconds(-1);
  CHECK_THAT(std::string(ValidatePolicy(policy, sizes).message()),
             Catch::StartsWith("max_queue_delay"));
  policy = {};
  const std::vector<int> unsorted = {16, 8};
  CHECK_THAT(std::string(ValidatePolicy(policy, unsorted).message()),
             Catch::StartsWith("buckets[1]"));
  const std::vector<int> none;
  CHECK_THAT(std::string(ValidatePolicy(policy, none).message()), Catch::StartsWith("buckets"));
  const std::vector<int> zero = {0, 8};
  CHECK_THAT(std::string(ValidatePolicy(policy, zero).message()),
             Catch::StartsWith("buckets[0]"));
}

}  // namespace
}  // namespace routeserve::batching
