// Candidate lists: each node's k nearest successors by the travel times in use, and the
// predecessors they imply.
#include "routing/candidates.h"

#include <algorithm>
#include <stdexcept>

#include <catch2/catch.hpp>

#include "routing/generator.h"
#include "test_problems.h"

namespace routeserve::routing {
namespace {

using testing::BuildOrFail;
using testing::Regimes;

// Three visits at one place with a caller's matrix: only the matrix can tell them apart, and it
// is far from symmetric.
RouteProblem ThreeVisitsWithMatrix() {
  RouteProblem problem;
  problem.courier.id = "courier";
  problem.courier.position = {48.85, 2.35};
  problem.courier.capacity = 1;
  for (const char* id : {"a", "b", "c"}) {
    Stop stop;
    stop.id = id;
    stop.position = {48.85, 2.35};
    problem.stops.push_back(stop);
  }
  problem.travel_times = TravelTimeMatrix{4, {0, 30, 20, 10,     // from the start
                                              0, 0, 100, 50,     // from a
                                              0, 10, 0, 90,      // from b
                                              0, 80, 20, 0}};    // from c
  return problem;
}

// Checks that `lists` holds each node's k nearest successors, nearest first, from scratch.
void CheckNearest(const Instance& instance, const CandidateLists& lists, int k) {
  const int nodes = NumNodes(instance);
  const int end = instance.has_end() ? instance.end_node() : -1;
  REQUIRE(lists.num_nodes() == nodes);
  for (int from = 0; from < nodes; ++from) {
    INFO("node " << from << " of " << nodes);
    std::vector<int> possible;
    for (int to = 1; to < nodes; ++to) {
      if (to != from && !(from == 0 && to == end)) possible.push_back(to);
    }
    if (from == end) possible.clear();
    const std::span<const int> list = lists.of(from);
    REQUIRE(list.size() == std::min<size_t>(k, possible.size()));
    for (size_t i = 0; i < list.size(); ++i) {
      CHECK(list[i] != from);
      CHECK(list[i] != 0);
      CHECK(lists.Admits(from, list[i]));
      if (i > 0) CHECK(instance.travel_s(from, list[i - 1]) <= instance.travel_s(from, list[i]));
    }
    for (const int to : possible) {
      const bool listed = std::find(list.begin(), list.end(), to) != list.end();
      CHECK(lists.Admits(from, to) == listed);
      // Whatever is left out is no nearer than the farthest listed.
      if (!listed) CHECK(instance.travel_s(from, to) >= instance.travel_s(from, list.back()));
    }
    CHECK_FALSE(lists.Admits(from, -1));
  }
}

TEST_CASE("candidates are each node's k nearest successors by the matrix in use") {
  const Instance instance = BuildOrFail(ThreeVisitsWithMatrix());
  const CandidateLists one = NearestByTravelTime(instance, 1);
  // Nodes: 0 the start, 1..3 the visits a, b, c.
  CHECK(std::vector<int>(one.of(0).begin(), one.of(0).end()) == std::vector<int>{3});
  CHECK(std::vector<int>(one.of(1).begin(), one.of(1).end()) == std::vector<int>{3});
  CHECK(std::vector<int>(one.of(2).begin(), one.of(2).end()) == std::vector<int>{1});
  CHECK(std::vector<int>(one.of(3).begin(), one.of(3).end()) == std::vector<int>{2});
  const CandidateLists two = NearestByTravelTime(instance, 2);
  CHECK(std::vector<int>(two.of(1).begin(), two.of(1).end()) == std::vector<int>{3, 2});
  CHECK(std::vector<int>(two.of(2).begin(), two.of(2).end()) == std::vector<int>{1, 3});
  CheckNearest(instance, two, 2);
}

TEST_CASE("candidates over every regime, with and without an end, asymmetric matrices included") {
  for (const int stops : {1, 2, 7, 30}) {
    for (const auto& regime : Regimes(stops)) {
      for (uint64_t seed = 0; seed < 3; ++seed) {
        const Instance instance = BuildOrFail(GenerateProblem(regime.options, seed));
        for (const int k : {1, 5, 8, 40}) {
          INFO(regime.name << ", " << stops << " stops, seed " << seed << ", k " << k);
          CheckNearest(instance, NearestByTravelTime(instance, k), k);
        }
      }
    }
  }
}

TEST_CASE("fewer candidates when there are fewer stops") {
  GeneratorOptions options;
  options.num_stops = 1;
  options.end_position_probability = 1;
  const Instance instance = BuildOrFail(GenerateProblem(options, 2));
  REQUIRE(instance.has_end());
  const CandidateLists lists = NearestByTravelTime(instance, 5);
  REQUIRE(lists.num_nodes() == 3);
  CHECK(std::vector<int>(lists.of(0).begin(), lists.of(0).end()) == std::vector<int>{1});
  CHECK(std::vector<int>(lists.of(1).begin(), lists.of(1).end()) == std::vector<int>{2});
  CHECK(lists.of(2).empty());
}

TEST_CASE("a node's predecessors are the nodes whose lists hold it") {
  for (const auto& regime : Regimes(25)) {
    const Instance instance = BuildOrFail(GenerateProblem(regime.options, 5));
    const CandidateLists lists = NearestByTravelTime(instance, 4);
    for (int to = 0; to < lists.num_nodes(); ++to) {
      INFO(regime.name << ", node " << to);
      const std::span<const int> predecessors = lists.predecessors_of(to);
      for (int from = 0; from < lists.num_nodes(); ++from) {
        const bool listed =
            std::find(predecessors.begin(), predecessors.end(), from) != predecessors.end();
        CHECK(listed == lists.Admits(from, to));
      }
    }
  }
}

TEST_CASE("lists that do not fit the instance are refused") {
  const Instance instance = BuildOrFail(ThreeVisitsWithMatrix());
  CHECK_NOTHROW(CandidateLists(instance, {{1}, {2}, {3}, {1}}));
  CHECK_THROWS_AS(CandidateLists(instance, {{1}, {2}, {3}}), std::invalid_argument);
  CHECK_THROWS_AS(CandidateLists(instance, {{1}, {1}, {3}, {1}}), std::invalid_argument);
  CHECK_THROWS_AS(CandidateLists(instance, {{1}, {0}, {3}, {1}}), std::invalid_argument);
  CHECK_THROWS_AS(CandidateLists(instance, {{1}, {4}, {3}, {1}}), std::invalid_argument);
  CHECK_THROWS_AS(CandidateLists(instance, {{1, 1}, {2}, {3}, {1}}), std::invalid_argument);
  CHECK_THROWS_AS(NearestByTravelTime(instance, 0), std::invalid_argument);
}

}  // namespace
}  // namespace routeserve::routing
