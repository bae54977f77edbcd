// Edge scores and what the search makes of them: starts that follow the scores under the
// feasibility rules, and candidate lists of the best-scored successors.
#include "routing/edge_scores.h"

#include <algorithm>
#include <set>
#include <stdexcept>

#include <catch2/catch.hpp>

#include "routing/evaluator.h"
#include "routing/solver.h"
#include "test_problems.h"

namespace routeserve::routing {
namespace {

using testing::BuildOrFail;
using testing::Regimes;

// Scores that name one order: 0 on its edges, -1 elsewhere.
EdgeScores ScoresOf(const Instance& instance, const std::vector<int>& order) {
  const int nodes = instance.num_stops() + 1;
  std::vector<float> values(static_cast<size_t>(nodes) * nodes, -1.0f);
  int from = 0;
  for (const int stop : order) {
    values[static_cast<size_t>(from) * nodes + stop + 1] = 0.0f;
    from = stop + 1;
  }
  return EdgeScores(nodes, std::move(values));
}

// Scores that prefer the nearest by travel time: -travel(from, to) in minutes, logits of a
// plausible scale for the samples.
EdgeScores NearestScores(const Instance& instance) {
  const int nodes = instance.num_stops() + 1;
  std::vector<float> values(static_cast<size_t>(nodes) * nodes);
  for (int from = 0; from < nodes; ++from) {
    for (int to = 0; to < nodes; ++to) {
      values[static_cast<size_t>(from) * nodes + to] =
          static_cast<float>(-instance.travel_s(from, to) / 60);
    }
  }
  return EdgeScores(nodes, std::move(values));
}

TEST_CASE("the greedy start rebuilds any feasible order its scores name") {
  int rebuilt = 0;
  for (const int stops : {1, 2, 7, 20, 64, 128}) {
    for (const auto& regime : Regimes(stops)) {
      for (uint64_t seed = 0; seed < 3; ++seed) {
        INFO(regime.name << ", " << stops << " stops, seed " << seed);
        const Instance instance = BuildOrFail(GenerateProblem(regime.options, seed));
        const std::vector<int> order = InsertionRoute(instance).order;
        const std::vector<Solution> starts =
            ScoredStarts(instance, ScoresOf(instance, order), 1, 7);
        REQUIRE(starts.size() == 1);
        CHECK(starts[0].order == order);
        ++rebuilt;
      }
    }
  }
  CHECK(rebuilt >= 90);
}

TEST_CASE("scored starts are feasible, costed, seeded, and the samples differ") {
  int differing = 0;
  for (const int stops : {3, 13, 50, 128}) {
    for (const auto& regime : Regimes(stops)) {
      INFO(regime.name << ", " << stops << " stops");
      const Instance instance = BuildOrFail(GenerateProblem(regime.options, 4));
      const EdgeScores scores = NearestScores(instance);
      const std::vector<Solution> starts = ScoredStarts(instance, scores, 6, 11);
      REQUIRE(starts.size() == 6);
      std::set<std::vector<int>> distinct;
      for (const Solution& start : starts) {
        const RouteEvaluation evaluation = Evaluate(instance, start.order);
        REQUIRE(evaluation.feasible());
        CHECK(start.cost == Approx(evaluation.cost).epsilon(1e-12));
        distinct.insert(start.order);
      }
      differing += distinct.size() > 1;
      // The same seed, the same starts; another seed, the same greedy one.
      const std::vector<Solution> again = ScoredStarts(instance, scores, 6, 11);
      for (size_t s = 0; s < starts.size(); ++s) CHECK(again[s].order == starts[s].order);
      CHECK(ScoredStarts(instance, scores, 1, 99)[0].order == starts[0].order);
    }
  }
  CHECK(differing >= 15);  // of 20: the 3-stop problems may leave no choice
}

TEST_CASE("best-scored lists hold each node's k best successors, and the end's nearest") {
  for (const auto& regime : Regimes(30)) {
    INFO(regime.name);
    const Instance instance = BuildOrFail(GenerateProblem(regime.options, 2));
    const EdgeScores scores = NearestScores(instance);
    const int k = 4;
    const CandidateLists lists = BestScored(instance, scores, k);
    const int stops = instance.num_stops();
    REQUIRE(lists.num_nodes() == NumNodes(instance));
    for (int from = 0; from <= stops; ++from) {
      const std::span<const int> list = lists.of(from);
      std::vector<int> scored(list.begin(), list.end());
      if (instance.has_end()) std::erase(scored, instance.end_node());
      REQUIRE(scored.size() == static_cast<size_t>(k));
      // Nothing outside the list scores better than its last.
      for (int to = 1; to <= stops; ++to) {
        if (to == from || std::find(scored.begin(), scored.end(), to) != scored.end()) continue;
        CHECK(scores.at(from, to) <= scores.at(from, scored.back()));
      }
      for (size_t i = 1; i < scored.size(); ++i) {
        CHECK(scores.at(from, scored[i - 1]) >= scores.at(from, scored[i]));
      }
    }
    if (instance.has_end()) {
      const int end = instance.end_node();
      CHECK(lists.predecessors_of(end).size() == static_cast<size_t>(k));
      CHECK(lists.of(end).empty());
    }
    // The granular search runs on them.
    SolverOptions options;
    options.candidates = &lists;
    const Solution solution = Solve(instance, options);
    CHECK(Evaluate(instance, solution.order).feasible());
  }
}

TEST_CASE("edge scores come from the corner of a padded block, and refuse what does not fit") {
  // A 4 x 4 block (3 stops' padding) holding a problem of 2 stops.
  const std::vector<float> block = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  const EdgeScores scores = EdgeScores::FromPadded(block, 4, 2);
  REQUIRE(scores.num_nodes() == 3);
  CHECK(scores.at(0, 2) == 2);
  CHECK(scores.at(1, 0) == 4);
  CHECK(scores.at(2, 2) == 10);
  CHECK_THROWS_AS(EdgeScores::FromPadded(block, 4, 4), std::invalid_argument);
  CHECK_THROWS_AS(EdgeScores::FromPadded(block, 3, 2), std::invalid_argument);
  CHECK_THROWS_AS(EdgeScores(2, {1, 2, 3}), std::invalid_argument);
  const Instance instance =
      BuildOrFail(GenerateProblem(Regimes(5).front().options, 1));
  CHECK_THROWS_AS(ScoredStarts(instance, scores, 1, 0), std::invalid_argument);
  CHECK_THROWS_AS(BestScored(instance, scores, 3), std::invalid_argument);
}

}  // namespace
}  // namespace routeserve::routing
