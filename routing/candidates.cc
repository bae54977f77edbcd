#include "routing/candidates.h"

#include <stdexcept>
#include <string>

namespace routeserve::routing {

int NumNodes(const Instance& instance) {
  return instance.num_stops() + 1 + (instance.has_end() ? 1 : 0);
}

CandidateLists::CandidateLists(const Instance& instance, std::vector<std::vector<int>> lists)
    : lists_(std::move(lists)) {
  const size_t nodes = lists_.size();
  if (static_cast<int>(nodes) != NumNodes(instance)) {
    throw std::invalid_argument("candidate lists: " + std::to_string(nodes) + " lists for " +
                                std::to_string(NumNodes(instance)) + " nodes");
  }
  if (instance.has_end() && !lists_[instance.end_node()].empty()) {
    throw std::invalid_argument("candidate lists: the end has no successors");
  }
  admitted_.assign(nodes * nodes, 0);
  predecessors_.resize(nodes);
  for (size_t from = 0; from < nodes; ++from) {
    for (const int to : lists_[from]) {
      if (to <= 0 || static_cast<size_t>(to) >= nodes || static_cast<size_t>(to) == from ||
          admitted_[from * nodes + to]) {
        throw std::invalid_argument("candidate lists: node " + std::to_string(from) +
                                    " cannot have successor " + std::to_string(to));
      }
      admitted_[from * nodes + to] = 1;
      predecessors_[to].push_back(static_cast<int>(from));
    }
  }
}

CandidateLists NearestByTravelTime(const Instance& instance, int k) {
  if (k < 1) throw std::invalid_argument("candidate lists: k must be >= 1");
  const int nodes = NumNodes(instance);
  const int end = instance.has_end() ? instance.end_node() : -1;
  std::vector<std::vector<int>> lists(nodes);
  std::vector<int> successors;
  for (int from = 0; from < nodes; ++from) {
    if (from == end) continue;
    successors.clear();
    for (int to = 1; to < nodes; ++to) {
      // The start drives to the end only when there are no stops: no move makes that edge.
      if (to != from && !(from == 0 && to == end)) successors.push_back(to);
    }
    KeepLowest(successors, static_cast<size_t>(k),
               [&instance, from](int to) { return instance.travel_s(from, to); });
    lists[from] = successors;
  }
  return CandidateLists(instance, std::move(lists));
}

}  // namespace routeserve::routing
