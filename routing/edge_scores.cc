#include "routing/edge_scores.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "base/random.h"
#include "routing/evaluator.h"

namespace routeserve::routing {
namespace {

void CheckCovers(const Instance& instance, const EdgeScores& scores) {
  if (scores.num_nodes() != instance.num_stops() + 1) {
    throw std::invalid_argument("edge scores: " + std::to_string(scores.num_nodes()) +
                                " nodes for a problem of " +
                                std::to_string(instance.num_stops()) + " stops");
  }
}

// Gumbel noise, -ln(-ln(u)) with u uniform in (0, 1).
double Gumbel(base::SplitMix64& random) {
  const double u = std::clamp(random.NextUnit(), 1e-12, 1.0 - 1e-12);
  return -std::log(-std::log(u));
}

}  // namespace

EdgeScores::EdgeScores(int num_nodes, std::vector<float> values)
    : num_nodes_(num_nodes), values_(std::move(values)) {
  if (num_nodes < 1 || values_.size() != static_cast<size_t>(num_nodes) * num_nodes) {
    throw std::invalid_argument("edge scores: " + std::to_string(values_.size()) +
                                " values for " + std::to_string(num_nodes) + " nodes");
  }
}

EdgeScores EdgeScores::FromPadded(std::span<const float> block, int side, int num_stops) {
  const int nodes = num_stops + 1;
  if (side < nodes || block.size() != static_cast<size_t>(side) * side) {
    throw std::invalid_argument("edge scores: a block of " + std::to_string(block.size()) +
                                " values, side " + std::to_string(side) + ", for " +
                                std::to_string(num_stops) + " stops");
  }
  std::vector<float> values(static_cast<size_t>(nodes) * nodes);
  for (int from = 0; from < nodes; ++from) {
    std::copy_n(block.begin() + static_cast<size_t>(from) * side, nodes,
                values.begin() + static_cast<size_t>(from) * nodes);
  }
  return EdgeScores(nodes, std::move(values));
}

CandidateLists BestScored(const Instance& instance, const EdgeScores& scores, int k) {
  CheckCovers(instance, scores);
  if (k < 1) throw std::invalid_argument("candidate lists: k must be >= 1");
  const int stops = instance.num_stops();
  std::vector<std::vector<int>> lists(NumNodes(instance));
  std::vector<int> successors;
  for (int from = 0; from <= stops; ++from) {
    successors.clear();
    for (int to = 1; to <= stops; ++to) {
      if (to != from) successors.push_back(to);
    }
    // Best scored first: the lowest negated score.
    KeepLowest(successors, static_cast<size_t>(k),
               [&scores, from](int to) { return -static_cast<double>(scores.at(from, to)); });
    lists[from] = successors;
  }
  if (instance.has_end() && stops > 0) {
    const int end = instance.end_node();
    std::vector<int> nearest_to_end;
    for (int stop = 1; stop <= stops; ++stop) nearest_to_end.push_back(stop);
    KeepLowest(nearest_to_end, static_cast<size_t>(k),
               [&instance, end](int stop) { return instance.travel_s(stop, end); });
    for (const int node : nearest_to_end) lists[node].push_back(end);
  }
  return CandidateLists(instance, std::move(lists));
}

std::vector<Solution> ScoredStarts(const Instance& instance, const EdgeScores& scores, int count,
                                   uint64_t seed) {
  CheckCovers(instance, scores);
  if (count < 1) throw std::invalid_argument("scored starts: count must be >= 1");
  const int stops = instance.num_stops();
  std::vector<Solution> starts;
  std::vector<char> visited(stops);
  for (int start = 0; start < count; ++start) {
    base::SplitMix64 random(seed ^ (0x9e3779b97f4a7c15ULL * static_cast<uint64_t>(start + 1)));
    std::fill(visited.begin(), visited.end(), 0);
    std::vector<int> order;
    order.reserve(stops);
    int64_t load = instance.initial_load();
    int node = 0;
    for (int step = 0; step < stops; ++step) {
      int best = -1;
      double best_value = -std::numeric_limits<double>::infinity();
      for (int stop = 0; stop < stops; ++stop) {
        if (visited[stop]) continue;
        const int partner = instance.partner(stop);
        if (instance.is_pickup(stop)) {
          if (load + instance.load_delta(stop) > instance.capacity()) continue;
        } else if (partner >= 0 && !visited[partner]) {
          continue;  // a dropoff before its pickup
        }
        const double value = scores.at(node, stop + 1) + (start > 0 ? Gumbel(random) : 0.0);
        if (best < 0 || value > best_value) {
          best = stop;
          best_value = value;
        }
      }
      // A well-formed problem always leaves a stop that may come next (an order's pickup fits
      // alone, and what is on board has its dropoff still to come).
      if (best < 0) throw std::logic_error("scored starts: no stop may come next");
      visited[best] = 1;
      order.push_back(best);
      load += instance.load_delta(best);
      node = best + 1;
    }
    const RouteEvaluation evaluation = Evaluate(instance, order);
    starts.push_back({std::move(order), evaluation.cost});
  }
  return starts;
}

}  // namespace routeserve::routing
