// The batching policy as pure functions (docs/ARCHITECTURE.md, Dynamic batching): when a
// bucket's batch may go, and which bucket an idle executor serves. No threads and no clock of
// their own, so the rules are table tests.
#pragma once

#include <span>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace routeserve::batching {

struct BatchingPolicy {
  // A batch goes as soon as it holds this many tasks (>= 1)...
  int max_batch_size = 64;
  // ...or once its oldest task has waited this long (>= 0; 0 = as soon as an executor is idle).
  absl::Duration max_queue_delay = absl::Microseconds(500);
};

// What the policy needs to know of one bucket's queue.
struct BucketState {
  int size = 0;                                         // tasks waiting
  absl::Time oldest_enqueued = absl::InfiniteFuture();  // when the first of them came
  // When the max_batch_size-th of them came (the batch was full from then on); InfiniteFuture()
  // while fewer wait.
  absl::Time filled = absl::InfiniteFuture();
};

// When the bucket's batch may go: when it filled up or when its oldest task had waited
// max_queue_delay, whichever came first; InfiniteFuture() when it is empty.
absl::Time ReadyAt(const BucketState& bucket, const BatchingPolicy& policy);

// The bucket an idle executor should take a batch from now, or -1 when none may go. Among the
// buckets that may go (all non-empty ones when `draining`), the one whose oldest task came
// first: a bucket that keeps filling up cannot starve a quieter one.
int ChooseBucket(std::span<const BucketState> buckets, const BatchingPolicy& policy,
                 absl::Time now, bool draining);

// The bucket of a task of `size`: the smallest configured size that holds it; -1 when none
// does. `bucket_sizes` is ascending.
int BucketFor(std::span<const int> bucket_sizes, int size);

// InvalidArgument naming the option when the policy or the bucket sizes are out of range.
absl::Status ValidatePolicy(const BatchingPolicy& policy, std::span<const int> bucket_sizes);

}  // namespace routeserve::batching
