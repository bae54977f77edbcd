// What the runner checks of every output of the model before anything uses it (docs/MODEL.md):
// a decoding's order is the problem's stops each once, then its padding rows ascending; the
// route is feasible; and the model's numbers are finite; and what it makes of route-v2's edge
// scores (the starts). No LibTorch here: the checks work on the outputs' host copies.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "routing/edge_scores.h"
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

// One problem's answer from a route-v2 (edges) model.
struct ScoredProblem {
  routing::EdgeScores scores;    // its start and stops: an (n + 1) x (n + 1) block
  std::vector<Decoding> starts;  // routes built from the scores, start 0 greedy (see below)
};

// `instance`'s answer from its [side, side] block of the model's scores (side >= n + 1): the
// scores of its start and stops, and `starts` routes built from them by routing::ScoredStarts
// (start 0 greedy, the others sampled) seeded by the problem's hash, so that the same problem
// gets the same starts in any batch; each start's score is the sum of its edges' scores, its
// cost routing::Evaluate's. DataLoss naming the first score of the problem's block that is not
// finite ("scores[2][5] is nan: ..."). starts >= 1.
absl::StatusOr<ScoredProblem> ScoredProblemOf(const routing::Instance& instance,
                                              std::span<const float> block, int side,
                                              int starts);

// The decoding of lowest cost, the earliest on a tie (greedy first). `decodings` not empty.
const Decoding& BestDecoding(const std::vector<Decoding>& decodings);

}  // namespace routeserve::model
