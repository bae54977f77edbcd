// StopsSpec: how many stops generated requests have, as the tools' `--stops` gives it.
//
//   "20"        every request has 20 stops
//   "8-50"      uniform among 8, 9, ..., 50
//   "10,20,50"  the listed sizes in turn (request i has the (i mod 3)-th), so each has its share
//
// Sizes are 1 to kMaxStops. The server refuses requests above its `limits.max_stops` (128 by
// default) with INVALID_ARGUMENT; the benchmark sends what it is told and counts the refusals.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace routeserve::tools {

class StopsSpec {
 public:
  static constexpr int kMaxStops = 10'000;

  // 20 stops.
  StopsSpec() = default;

  // InvalidArgument naming the text when it is none of the forms above, or a size is out of
  // range, or a range runs backwards.
  static absl::StatusOr<StopsSpec> Parse(const std::string& text);

  // The size of the pool's request `index`; `random` is a uniform 64-bit draw (used by ranges).
  int SizeOf(int64_t index, uint64_t random) const;

  int min_stops() const;
  int max_stops() const;
  // The spec as Parse accepts it: "20", "8-50", "10,20,50".
  std::string ToString() const;

 private:
  // A range [low_, high_] when list_ is empty (low_ == high_: one size); else the list.
  int low_ = 20;
  int high_ = 20;
  std::vector<int> list_;
};

}  // namespace routeserve::tools
