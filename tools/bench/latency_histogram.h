// LatencyHistogram: counts durations in log-linear buckets, the layout of HdrHistogram, so that
// memory is fixed and every quantile is known to within a fraction of a percent.
//
// RESOLUTION: values are nanoseconds. Below 256 ns each nanosecond has its own bucket; above,
//   each power of two [2^e, 2^(e+1)) is cut into 128 equal buckets, so a bucket is at most 1/128
//   (0.8%) of its smallest value wide, and a quantile, reported at its bucket's middle, is within
//   0.4% of the true one. Values from 0 to kMaxTrackableNs (about 137 s) are tracked; a larger
//   value counts in the last bucket. min, max, count and mean are exact.
// MEMORY: 3968 counters, whatever the number of values.
// THREADING: not thread-safe; callers that share one guard it.
#pragma once

#include <cstdint>
#include <vector>

namespace routeserve::bench {

class LatencyHistogram {
 public:
  static constexpr int64_t kMaxTrackableNs = (int64_t{1} << 37) - 1;

  LatencyHistogram();

  // Counts one value; a negative one counts as 0.
  void Record(int64_t ns);
  // Adds every value `other` counted.
  void Merge(const LatencyHistogram& other);

  int64_t count() const { return count_; }
  // 0 when empty.
  int64_t min_ns() const { return count_ == 0 ? 0 : min_ns_; }
  int64_t max_ns() const { return max_ns_; }
  double mean_ns() const { return count_ == 0 ? 0 : sum_ns_ / static_cast<double>(count_); }

  // The value at quantile `q` in [0, 1] by nearest rank: the QuantileRank(q, count())-th smallest
  // value, to within the resolution above (the middle of its bucket, kept within [min, max]).
  // Exactly min for the first rank and max for the last; 0 when empty.
  int64_t ValueAtQuantile(double q) const;

  // The nearest rank of quantile `q` among `count` sorted values, 1-based: the smallest rank r
  // with r >= q x count, and at least 1. `q` outside [0, 1] is clamped.
  static int64_t QuantileRank(double q, int64_t count);

  // Implementation details follow.
 private:
  static int BucketOf(int64_t ns);
  static int64_t BucketLowNs(int bucket);
  static int64_t BucketWidthNs(int bucket);

  std::vector<int64_t> counts_;
  int64_t count_ = 0;
  int64_t min_ns_ = 0;
  int64_t max_ns_ = 0;
  double sum_ns_ = 0;
};

}  // namespace routeserve::bench
