// EdgeScores: how likely each node is to follow each other in a good route, as route-v2's edge
// model scores them (docs/MODEL.md, route-v2), and what the search makes of them: starting
// routes built by following the scores under the feasibility rules (ScoredStarts), and
// candidate lists of each node's best-scored successors (BestScored) for the granular search.
//
// Nodes are those of the model's output: 0 the courier's start, 1..n the stops; the end position
// is not scored. Higher is more likely (the model's log-probabilities; any scale works for the
// lists and the greedy start, the samples take the scores as logits).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "routing/candidates.h"
#include "routing/instance.h"
#include "routing/solver.h"

namespace routeserve::routing {

class EdgeScores {
 public:
  // Scores over `num_nodes` nodes, row-major (`values[from * num_nodes + to]`); num_nodes >= 1
  // and values.size() == num_nodes^2, else std::invalid_argument.
  EdgeScores(int num_nodes, std::vector<float> values);
  // The scores in the first (n + 1) x (n + 1) corner of a [side, side] block (the model's
  // output for a problem of n stops padded to side - 1), copied.
  static EdgeScores FromPadded(std::span<const float> block, int side, int num_stops);

  int num_nodes() const { return num_nodes_; }
  float at(int from, int to) const { return values_[static_cast<size_t>(from) * num_nodes_ + to]; }

 private:
  int num_nodes_;
  std::vector<float> values_;
};

// Each node's k best-scored successors among the stops, best first, ties to the lower node;
// into the end (when the instance has one) from the k nodes nearest to it by travel time, the
// end not being scored. `scores` must cover the instance's start and stops
// (std::invalid_argument otherwise). k >= 1.
CandidateLists BestScored(const Instance& instance, const EdgeScores& scores, int k);

// `count` feasible orders built one stop at a time from the start, each time among the stops
// that may come next (a dropoff after its pickup, a pickup within the capacity): start 0 takes
// the best-scored one, start s >= 1 samples with the scores as logits (Gumbel noise from
// `seed` and s, so the same problem and seed give the same starts). Each comes with its cost
// (routing::Evaluate). `scores` must cover the instance's start and stops. count >= 1.
std::vector<Solution> ScoredStarts(const Instance& instance, const EdgeScores& scores, int count,
                                   uint64_t seed);

}  // namespace routeserve::routing
