// CandidateLists: for each node, the few successors worth trying next to it, best first; the
// local search's granular neighbourhoods (routing/solver.h, SolverOptions::candidates_k) try
// only moves that create an edge (a, b) with b among a's candidates.
//
// Nodes are the instance's (routing/instance.h): 0 the courier's start, 1..n the stops, n + 1
// the end position when there is one. A successor is a stop or the end; never the node itself
// nor the start, which nothing drives into. The end drives nowhere: its list is empty.
// NearestByTravelTime leaves the end out of the start's list too: no move drives from the
// start straight to the end.
//
// The lists come from travel times (NearestByTravelTime, the classical baseline) or from
// outside (a model's scores of each directed pair), through the constructor.
#pragma once

#include <algorithm>
#include <span>
#include <vector>

#include "routing/instance.h"

namespace routeserve::routing {

class CandidateLists {
 public:
  // Lists over the instance's nodes; lists[node] holds that node's successors, best first. A
  // successor out of range, the node itself, the start, a repeat or a list for the end is an
  // std::invalid_argument: lists made for another instance are a programming error.
  CandidateLists(const Instance& instance, std::vector<std::vector<int>> lists);

  int num_nodes() const { return static_cast<int>(lists_.size()); }
  // The node's successors, best first.
  std::span<const int> of(int node) const { return lists_[node]; }
  // The nodes whose lists hold `node`: the moves that make an edge into it.
  std::span<const int> predecessors_of(int node) const { return predecessors_[node]; }
  // Whether `to` is among `from`'s successors; false when `to` is -1 (no node: past the end of
  // an open route).
  bool Admits(int from, int to) const {
    return to >= 0 && admitted_[static_cast<size_t>(from) * lists_.size() + to];
  }

 private:
  std::vector<std::vector<int>> lists_;
  std::vector<std::vector<int>> predecessors_;
  std::vector<char> admitted_;  // num_nodes x num_nodes, row `from`
};

// The number of nodes of an instance: the start, the stops and the end when there is one.
int NumNodes(const Instance& instance);

// Keeps the `k` nodes of `nodes` with the lowest `key(node)` (a double), lowest first, ties to
// the lower node: the one order of "best" for every way of making lists.
template <typename Key>
void KeepLowest(std::vector<int>& nodes, size_t k, Key key) {
  k = std::min(k, nodes.size());
  std::partial_sort(nodes.begin(), nodes.begin() + k, nodes.end(), [&key](int a, int b) {
    const double key_a = key(a);
    const double key_b = key(b);
    return key_a < key_b || (key_a == key_b && a < b);
  });
  nodes.resize(k);
}

// Each node's k nearest successors by the travel times in use (a caller's matrix when given),
// nearest first, ties to the lower node; fewer where fewer exist. O(n^2 log k). k >= 1.
CandidateLists NearestByTravelTime(const Instance& instance, int k);

}  // namespace routeserve::routing
