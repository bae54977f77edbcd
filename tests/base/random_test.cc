// SplitMix64 against the reference implementation's outputs: the solver's routes, the
// generator's problems and the model's noise all rest on these exact numbers.
#include "base/random.h"

#include <cstdint>

#include <catch2/catch.hpp>

namespace routeserve::base {
namespace {

TEST_CASE("SplitMix64 draws the reference sequence") {
  // splitmix64.c (Vigna) seeded with 1234567.
  SplitMix64 random(1234567);
  CHECK(random.Next() == 6457827717110365317ULL);
  CHECK(random.Next() == 3203168211198807973ULL);
  CHECK(random.Next() == 9817491932198370423ULL);
  CHECK(random.Next() == 4593380528125082431ULL);
  CHECK(random.Next() == 16408922859458223821ULL);
}

TEST_CASE("Mix is the first draw from its argument as the seed") {
  for (uint64_t x : {0ULL, 1ULL, 1234567ULL, 0x726f757465736572ULL, ~0ULL}) {
    CHECK(SplitMix64::Mix(x) == SplitMix64(x).Next());
  }
  CHECK(SplitMix64::Mix(0) == 0xe220a8397b1dcdafULL);
  static_assert(SplitMix64::Mix(1234567) == 6457827717110365317ULL);
}

TEST_CASE("Below and NextUnit stay in their ranges and follow Next") {
  SplitMix64 random(7);
  SplitMix64 twin(7);
  for (int i = 0; i < 1000; ++i) {
    const int bound = 1 + i % 13;
    const int below = random.Below(bound);
    CHECK(below == static_cast<int>(twin.Next() % static_cast<uint64_t>(bound)));
    CHECK(below >= 0);
    CHECK(below < bound);
    const double unit = random.NextUnit();
    CHECK(unit == static_cast<double>(twin.Next() >> 11) * 0x1.0p-53);
    CHECK(unit >= 0.0);
    CHECK(unit < 1.0);
  }
}

}  // namespace
}  // namespace routeserve::base
