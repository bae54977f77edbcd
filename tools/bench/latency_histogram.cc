// LatencyHistogram: log-linear buckets (see the header for the layout).
#include "tools/bench/latency_histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace routeserve::bench {
namespace {

// Buckets per power of two, as a power of two: 2^7 = 128 buckets, width <= 1/128 of the value.
constexpr int kSubBucketBits = 7;
constexpr int64_t kSubBuckets = int64_t{1} << kSubBucketBits;
// Values below 2 x kSubBuckets get one bucket per nanosecond.
constexpr int64_t kLinearLimit = 2 * kSubBuckets;
// Bucket of the largest trackable value, plus one.
constexpr int kNumBuckets = 128 * (37 - kSubBucketBits) + 128;

}  // namespace

LatencyHistogram::LatencyHistogram() : counts_(kNumBuckets, 0) {}

// Value v >= 2^8 with highest bit e: shift = e - 7 and sub = v >> shift in [128, 256); the bucket
// is 128 x shift + sub, so that buckets 128..255 (shift 0) continue the linear ones.
int LatencyHistogram::BucketOf(int64_t ns) {
  const auto value = static_cast<uint64_t>(std::clamp<int64_t>(ns, 0, kMaxTrackableNs));
  if (value < static_cast<uint64_t>(kLinearLimit)) return static_cast<int>(value);
  const int shift = static_cast<int>(std::bit_width(value)) - 1 - kSubBucketBits;
  return static_cast<int>(kSubBuckets * shift + static_cast<int64_t>(value >> shift));
}

int64_t LatencyHistogram::BucketLowNs(int bucket) {
  const int shift = std::max(0, (bucket >> kSubBucketBits) - 1);
  return (bucket - kSubBuckets * shift) << shift;
}

int64_t LatencyHistogram::BucketWidthNs(int bucket) {
  return int64_t{1} << std::max(0, (bucket >> kSubBucketBits) - 1);
}

void LatencyHistogram::Record(int64_t ns) {
  ns = std::max<int64_t>(ns, 0);
  ++counts_[BucketOf(ns)];
  min_ns_ = count_ == 0 ? ns : std::min(min_ns_, ns);
  max_ns_ = std::max(max_ns_, ns);
  sum_ns_ += static_cast<double>(ns);
  ++count_;
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  if (other.count_ == 0) return;
  for (int i = 0; i < kNumBuckets; ++i) counts_[i] += other.counts_[i];
  min_ns_ = count_ == 0 ? other.min_ns_ : std::min(min_ns_, other.min_ns_);
  max_ns_ = std::max(max_ns_, other.max_ns_);
  sum_ns_ += other.sum_ns_;
  count_ += other.count_;
}

int64_t LatencyHistogram::QuantileRank(double q, int64_t count) {
  if (count <= 0) return 0;
  q = std::isnan(q) ? 0 : std::clamp(q, 0.0, 1.0);
  // A product a hair above an integer (0.99 x 100 = 99.00000000000001) is that integer.
  const double product = q * static_cast<double>(count);
  auto rank = static_cast<int64_t>(std::ceil(product - 1e-9 * product));
  return std::clamp<int64_t>(rank, 1, count);
}

int64_t LatencyHistogram::ValueAtQuantile(double q) const {
  const int64_t rank = QuantileRank(q, count_);
  if (rank == 0) return 0;
  if (rank == 1) return min_ns_;
  if (rank == count_) return max_ns_;
  int64_t seen = 0;
  for (int bucket = 0; bucket < kNumBuckets; ++bucket) {
    seen += counts_[bucket];
    if (seen >= rank) {
      const int64_t middle = BucketLowNs(bucket) + (BucketWidthNs(bucket) - 1) / 2;
      return std::clamp(middle, min_ns_, max_ns_);
    }
  }
  return max_ns_;
}

}  // namespace routeserve::bench
