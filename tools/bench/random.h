// The benchmark's random numbers: the project's SplitMix64 (base/random.h) and Poisson arrival
// times drawn from it. Own arithmetic, not the standard library's distributions, so that a seed
// means the same requests and the same schedule on every platform.
#pragma once

#include <cmath>
#include <cstdint>

#include "base/random.h"

namespace routeserve::bench {

using base::SplitMix64;

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
