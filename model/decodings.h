// What the runner checks of every output of the model before anything uses it (docs/MODEL.md):
// a decoding's order is the problem's stops each once, then its padding rows ascending; the
// route is feasible; and the model's numbers are finite. No LibTorch here: the checks work on
// the outputs' host copies.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "routing/instance.h"

namespace routeserve::model {

// One decoding of one problem.
struct Decoding {
  std::vector<int> order;  // the problem's stop indices in visiting order
  float score = 0;         // the model's log-probability of the decoding
  double cost = 0;         // routing::Evaluate's cost of `order`
};

// OK when every value is finite; else DataLoss "`name`[i] is nan: the model's outputs must be
// finite", naming the first that is not.
absl::Status CheckFinite(std::span<const float> values, absl::string_view name);

// The K decodings of `instance` from its rows of the model's outputs: `orders` [K, N] and
// `scores` [K]. DataLoss naming the first score that is not finite ("scores[k] is nan: ..."),
// else the first decoding whose order breaks the contract or whose route is infeasible
// ("decoding k: ...").
absl::StatusOr<std::vector<Decoding>> CheckedDecodings(const routing::Instance& instance,
                                                       const int64_t* orders,
                                                       const float* scores, int K, int N);

// The decoding of lowest cost, the earliest on a tie (greedy first). `decodings` not empty.
const Decoding& BestDecoding(const std::vector<Decoding>& decodings);

}  // namespace routeserve::model
