// SplitMix64 (Steele, Lea and Flood, 2014): the project's one small seeded generator, and its
// mixing function. Its own arithmetic, never the standard library's distributions, so that a
// seed means the same numbers on every platform: the classical solver's perturbations, the
// generator's problems (it seeds their xoshiro256** with it) and the model's decoding noise
// (model/training/features.py holds a Python twin of Mix, tested bit for bit) all rest on it.
//
// THREADING: a SplitMix64 is a value: one per thread, or a lock around it.
#pragma once

#include <cstdint>
#include <random>

namespace routeserve::base {

class SplitMix64 {
 public:
  // The state's increment: 2^64 divided by the golden ratio, odd.
  static constexpr uint64_t kGamma = 0x9e3779b97f4a7c15ULL;

  // The output function: a bijection of 64-bit words that mixes every bit of `x` into every
  // bit of the result. Mix(x) is what SplitMix64(x).Next() draws first; the model's problem
  // hash and its Gumbel noise are built from it.
  static constexpr uint64_t Mix(uint64_t x) {
    x += kGamma;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
  }

  // Every seed is a good one, 0 included.
  explicit constexpr SplitMix64(uint64_t seed) : state_(seed) {}

  constexpr uint64_t Next() {
    const uint64_t out = Mix(state_);
    state_ += kGamma;
    return out;
  }

  // In [0, bound), for 1 <= bound: the remainder of Next(), whose bias (below 2^-32 for bounds
  // under 2^32) no caller can see.
  constexpr int Below(int bound) {
    return static_cast<int>(Next() % static_cast<uint64_t>(bound));
  }

  // Uniform in [0, 1), from the top 53 bits of Next().
  constexpr double NextUnit() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

 private:
  uint64_t state_;
};

// True with probability `p` (0..1), from a generator of the calling thread's own, seeded once
// from std::random_device: for sampling live traffic (captures, shadow runs), where no seed
// should make the same requests drawn on every server. Not reproducible, by design.
inline bool DrawWithProbability(double p) {
  thread_local SplitMix64 random(
      (static_cast<uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}());
  return random.NextUnit() < p;
}

}  // namespace routeserve::base
