// The checks of the model's outputs: order contract, feasibility, finite numbers.
#include "model/decodings.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "model/features.h"
#include "routing/evaluator.h"

namespace routeserve::model {
namespace {

// Checks row `order` (N entries) of a decoding of a problem of `n` stops against the contract
// (its stops each once, then its padding rows ascending) and copies the stops into `out`.
absl::Status CheckOrder(const int64_t* order, int n, int N, std::vector<int>& out) {
  out.assign(n, -1);
  std::vector<char> seen(n, 0);
  for (int i = 0; i < n; ++i) {
    const int64_t stop = order[i];
    if (stop < 0 || stop >= n) {
      return absl::DataLossError(
          absl::StrCat("position ", i, " holds ", stop, ", not one of the ", n, " stops"));
    }
    if (seen[stop]) {
      return absl::DataLossError(absl::StrCat("stop ", stop, " comes twice"));
    }
    seen[stop] = 1;
    out[i] = static_cast<int>(stop);
  }
  for (int i = n; i < N; ++i) {
    if (order[i] != i) {
      return absl::DataLossError(
          absl::StrCat("position ", i, " holds ", order[i], ", expected padding row ", i));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckFinite(std::span<const float> values, absl::string_view name) {
  for (size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) {
      return absl::DataLossError(absl::StrCat(name, "[", i, "] is ", values[i],
                                              ": the model's outputs must be finite"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Decoding>> CheckedDecodings(const routing::Instance& instance,
                                                       const int64_t* orders,
                                                       const float* scores, int K, int N) {
  const int n = instance.num_stops();
  if (absl::Status finite = CheckFinite({scores, static_cast<size_t>(K)}, "scores");
      !finite.ok()) {
    return finite;
  }
  std::vector<Decoding> decoded(K);
  for (int k = 0; k < K; ++k) {
    auto refused = [k](const absl::Status& why) {
      return absl::DataLossError(absl::StrCat("decoding ", k, ": ", why.message()));
    };
    Decoding& decoding = decoded[k];
    if (absl::Status order = CheckOrder(orders + static_cast<size_t>(k) * N, n, N, decoding.order);
        !order.ok()) {
      return refused(order);
    }
    const routing::RouteEvaluation evaluation = routing::Evaluate(instance, decoding.order);
    if (!evaluation.feasible()) {
      return refused(absl::DataLossError(absl::StrCat(
          "infeasible, ", std::string(routing::InfeasibilityName(evaluation.infeasibility)),
          " at stop ", evaluation.infeasible_stop)));
    }
    decoding.cost = evaluation.cost;
    decoding.score = scores[k];
  }
  return decoded;
}

const Decoding& BestDecoding(const std::vector<Decoding>& decodings) {
  const Decoding* best = &decodings.front();
  for (const Decoding& decoding : decodings) {
    if (decoding.cost < best->cost) best = &decoding;
  }
  return *best;
}

absl::StatusOr<ScoredProblem> ScoredProblemOf(const routing::Instance& instance,
                                              std::span<const float> block, int side,
                                              int starts) {
  const int nodes = instance.num_stops() + 1;
  for (int from = 0; from < nodes; ++from) {
    if (absl::Status finite = CheckFinite(block.subspan(static_cast<size_t>(from) * side, nodes),
                                          absl::StrCat("scores[", from, "]"));
        !finite.ok()) {
      return finite;
    }
  }
  ScoredProblem scored{.scores = routing::EdgeScores::FromPadded(block, side, nodes - 1),
                       .starts = {}};
  for (routing::Solution& start :
       routing::ScoredStarts(instance, scored.scores, starts, ProblemHash(instance))) {
    double score = 0;
    int node = 0;
    for (const int stop : start.order) {
      score += scored.scores.at(node, stop + 1);
      node = stop + 1;
    }
    scored.starts.push_back({.order = std::move(start.order),
                             .score = static_cast<float>(score),
                             .cost = start.cost});
  }
  return scored;
}

}  // namespace routeserve::model
