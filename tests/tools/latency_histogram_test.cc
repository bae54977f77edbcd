// LatencyHistogram: quantiles against a sorted vector within the resolution, empty and
// one-value histograms, merging, and values outside the tracked range.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "tools/bench/latency_histogram.h"
#include "tools/bench/random.h"

namespace routeserve::bench {
namespace {

constexpr double kQuantiles[] = {0, 0.001, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 0.9999, 1};

// The header promises quantiles within half a bucket, a bucket being at most 1/128 of its value.
constexpr double kResolution = 1.0 / 256;

// The nearest-rank quantile of `sorted`.
int64_t Exact(const std::vector<int64_t>& sorted, double q) {
  return sorted[static_cast<size_t>(
      LatencyHistogram::QuantileRank(q, static_cast<int64_t>(sorted.size())) - 1)];
}

// `count` values spread log-uniformly over [low_ns, high_ns].
std::vector<int64_t> LogUniform(int count, double low_ns, double high_ns, uint64_t seed) {
  SplitMix64 random(seed);
  std::vector<int64_t> values;
  for (int i = 0; i < count; ++i) {
    const double exponent =
        std::log(low_ns) + random.NextUnit() * (std::log(high_ns) - std::log(low_ns));
    values.push_back(static_cast<int64_t>(std::exp(exponent)));
  }
  return values;
}

TEST_CASE(
    "LatencyHistogram: quantiles of random data agree with the sorted values to within "
    "the resolution") {
  for (const uint64_t seed : {1u, 2u, 3u}) {
    // From 1 us to 10 s, and a narrow band where many values share buckets.
    for (const auto& [low, high] : {std::pair{1e3, 1e10}, std::pair{2e6, 3e6}}) {
      std::vector<int64_t> values = LogUniform(100'000, low, high, seed);
      LatencyHistogram histogram;
      for (const int64_t value : values) histogram.Record(value);
      std::sort(values.begin(), values.end());
      REQUIRE(histogram.count() == static_cast<int64_t>(values.size()));
      CHECK(histogram.min_ns() == values.front());
      CHECK(histogram.max_ns() == values.back());
      for (const double q : kQuantiles) {
        const int64_t exact = Exact(values, q);
        INFO("seed " << seed << ", range " << low << ".." << high << ", q " << q);
        CHECK(std::abs(static_cast<double>(histogram.ValueAtQuantile(q) - exact)) <=
              kResolution * static_cast<double>(exact) + 1);
      }
    }
  }
}

TEST_CASE("LatencyHistogram: below 256 ns every value is its own bucket, so quantiles are exact") {
  std::vector<int64_t> values;
  SplitMix64 random(7);
  for (int i = 0; i < 10'000; ++i) values.push_back(static_cast<int64_t>(random.Next() % 256));
  LatencyHistogram histogram;
  for (const int64_t value : values) histogram.Record(value);
  std::sort(values.begin(), values.end());
  for (const double q : kQuantiles) {
    INFO("q " << q);
    CHECK(histogram.ValueAtQuantile(q) == Exact(values, q));
  }
}

TEST_CASE("LatencyHistogram: an empty histogram reports zeros") {
  const LatencyHistogram histogram;
  CHECK(histogram.count() == 0);
  CHECK(histogram.min_ns() == 0);
  CHECK(histogram.max_ns() == 0);
  CHECK(histogram.mean_ns() == 0);
  for (const double q : kQuantiles) CHECK(histogram.ValueAtQuantile(q) == 0);
}

TEST_CASE("LatencyHistogram: one value is every quantile, exactly") {
  LatencyHistogram histogram;
  histogram.Record(12'345'678);
  CHECK(histogram.count() == 1);
  CHECK(histogram.mean_ns() == 12'345'678);
  for (const double q : kQuantiles) CHECK(histogram.ValueAtQuantile(q) == 12'345'678);
}

TEST_CASE("LatencyHistogram: the mean is exact") {
  LatencyHistogram histogram;
  for (const int64_t value : {1'000, 2'000, 3'000'000, 7}) histogram.Record(value);
  CHECK(histogram.mean_ns() == Approx((1'000 + 2'000 + 3'000'000 + 7) / 4.0));
}

TEST_CASE("LatencyHistogram: merging two halves gives the histogram of the whole") {
  const std::vector<int64_t> values = LogUniform(20'000, 1e3, 1e9, 11);
  LatencyHistogram whole, first, second;
  for (size_t i = 0; i < values.size(); ++i) {
    whole.Record(values[i]);
    (i % 2 == 0 ? first : second).Record(values[i]);
  }
  LatencyHistogram merged;
  merged.Merge(first);
  merged.Merge(second);
  merged.Merge(LatencyHistogram());
  CHECK(merged.count() == whole.count());
  CHECK(merged.min_ns() == whole.min_ns());
  CHECK(merged.max_ns() == whole.max_ns());
  CHECK(merged.mean_ns() == Approx(whole.mean_ns()));
  for (const double q : kQuantiles) CHECK(merged.ValueAtQuantile(q) == whole.ValueAtQuantile(q));
}

TEST_CASE("LatencyHistogram: values outside the tracked range keep an exact min and max") {
  LatencyHistogram histogram;
  histogram.Record(-5);  // counts as 0
  histogram.Record(LatencyHistogram::kMaxTrackableNs * 10);
  histogram.Record(5'000);
  CHECK(histogram.min_ns() == 0);
  CHECK(histogram.max_ns() == LatencyHistogram::kMaxTrackableNs * 10);
  CHECK(histogram.ValueAtQuantile(0) == 0);
  CHECK(std::abs(histogram.ValueAtQuantile(0.5) - 5'000) <= 5'000 * kResolution);
  CHECK(histogram.ValueAtQuantile(1) == LatencyHistogram::kMaxTrackableNs * 10);
}

TEST_CASE("LatencyHistogram::QuantileRank is the nearest rank, 1-based") {
  CHECK(LatencyHistogram::QuantileRank(0.99, 100) == 99);
  CHECK(LatencyHistogram::QuantileRank(0.5, 3) == 2);
  CHECK(LatencyHistogram::QuantileRank(0.5, 4) == 2);
  CHECK(LatencyHistogram::QuantileRank(0, 10) == 1);
  CHECK(LatencyHistogram::QuantileRank(1, 10) == 10);
  CHECK(LatencyHistogram::QuantileRank(0.999, 1000) == 999);
  CHECK(LatencyHistogram::QuantileRank(2, 10) == 10);
  CHECK(LatencyHistogram::QuantileRank(0.5, 0) == 0);
}

}  // namespace
}  // namespace routeserve::bench
