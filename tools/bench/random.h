// The benchmark's own random numbers: a seeded 64-bit generator and Poisson arrival times.
// Own arithmetic, not the standard library's distributions, so that a seed means the same
// requests and the same schedule on every platform.
#pragma once

#include <cmath>
#include <cstdint>

namespace routeserve::bench {

// SplitMix64: a small, fast generator with a 64-bit state; every seed is a good one.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}

  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1), 53 bits.
  double NextUnit() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

 private:
  uint64_t state_;
};

// Arrivals of a Poisson process: the gaps between them are exponential with mean 1 / rate.
class PoissonArrivals {
 public:
  // `rate_per_s` > 0.
  PoissonArrivals(double rate_per_s, uint64_t seed) : rate_per_s_(rate_per_s), random_(seed) {}

  // Seconds from the previous arrival to the next.
  double NextGapS() { return -std::log1p(-random_.NextUnit()) / rate_per_s_; }

 private:
  double rate_per_s_;
  SplitMix64 random_;
};

}  // namespace routeserve::bench
