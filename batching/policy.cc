// The batching policy's rules.
#include "batching/policy.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace routeserve::batching {

absl::Time ReadyAt(const BucketState& bucket, const BatchingPolicy& policy) {
  if (bucket.size <= 0) return absl::InfiniteFuture();
  return std::min(bucket.filled, bucket.oldest_enqueued + policy.max_queue_delay);
}

int ChooseBucket(std::span<const BucketState> buckets, const BatchingPolicy& policy,
                 absl::Time now, bool draining) {
  int chosen = -1;
  for (int i = 0; i < static_cast<int>(buckets.size()); ++i) {
    const BucketState& bucket = buckets[i];
    if (bucket.size <= 0) continue;
    if (!draining && ReadyAt(bucket, policy) > now) continue;
    if (chosen < 0 || bucket.oldest_enqueued < buckets[chosen].oldest_enqueued) chosen = i;
  }
  return chosen;
}

int BucketFor(std::span<const int> bucket_sizes, int size) {
  const auto it = std::lower_bound(bucket_sizes.begin(), bucket_sizes.end(), size);
  return it == bucket_sizes.end() ? -1 : static_cast<int>(it - bucket_sizes.begin());
}

absl::Status ValidatePolicy(const BatchingPolicy& policy, std::span<const int> bucket_sizes) {
  if (policy.max_batch_size < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_batch_size: must be >= 1, got ", policy.max_batch_size));
  }
  if (policy.max_queue_delay < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("max_queue_delay: must be >= 0");
  }
  if (bucket_sizes.empty()) return absl::InvalidArgumentError("buckets: at least one");
  for (size_t i = 0; i < bucket_sizes.size(); ++i) {
    if (bucket_sizes[i] < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("buckets[", i, "]: must be >= 1, got ", bucket_sizes[i]));
    }
    if (i > 0 && bucket_sizes[i] <= bucket_sizes[i - 1]) {
      return absl::InvalidArgumentError(
          absl::StrCat("buckets[", i, "]: must be above buckets[", i - 1, "] (",
                       bucket_sizes[i - 1], "), got ", bucket_sizes[i]));
    }
  }
  return absl::OkStatus();
}

}  // namespace routeserve::batching
