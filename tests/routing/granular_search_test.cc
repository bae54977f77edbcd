// The local search with candidate lists (granular neighbourhoods): feasible, deterministic,
// never worse than the insertion route, restricted to moves that make a candidate edge, and
// the exhaustive search itself when the lists admit every edge.
#include <set>
#include <utility>

#include <catch2/catch.hpp>

#include "routing/candidates.h"
#include "routing/evaluator.h"
#include "routing/solver.h"
#include "test_problems.h"

namespace routeserve::routing {
namespace {

using testing::BuildOrFail;
using testing::Regimes;

SolverOptions Granular(int k) {
  SolverOptions options;
  options.candidates_k = k;
  return options;
}

// The directed edges a route drives, the start's and the end's included.
std::set<std::pair<int, int>> EdgesOf(const Instance& instance, const std::vector<int>& order) {
  std::set<std::pair<int, int>> edges;
  int node = 0;
  for (const int stop : order) {
    edges.insert({node, stop + 1});
    node = stop + 1;
  }
  if (instance.has_end()) edges.insert({node, instance.end_node()});
  return edges;
}

// A poor but feasible order: on-board dropoffs first, then each order's pickup and dropoff
// one after the other, in problem order; visits where they come.
std::vector<int> NaiveOrder(const Instance& instance) {
  std::vector<int> order;
  for (int stop = 0; stop < instance.num_stops(); ++stop) {
    if (instance.partner(stop) < 0 && instance.load_delta(stop) < 0) order.push_back(stop);
  }
  for (int stop = 0; stop < instance.num_stops(); ++stop) {
    if (instance.partner(stop) < 0 && instance.load_delta(stop) >= 0) order.push_back(stop);
    if (instance.is_pickup(stop)) {
      order.push_back(stop);
      order.push_back(instance.partner(stop));
    }
  }
  return order;
}

TEST_CASE("granular routes are feasible, deterministic and never worse than insertion") {
  for (const int stops : {1, 2, 5, 13, 30, 64, 128}) {
    for (const auto& regime : Regimes(stops)) {
      for (uint64_t seed = 0; seed < (stops > 30 ? 1 : 4); ++seed) {
        const Instance instance = BuildOrFail(GenerateProblem(regime.options, seed));
        const Solution insertion = InsertionRoute(instance);
        for (const int k : {5, 8}) {
          INFO(regime.name << ", " << stops << " stops, seed " << seed << ", k " << k);
          const Solution solution = Solve(instance, Granular(k));
          const RouteEvaluation evaluation = Evaluate(instance, solution.order);
          REQUIRE(evaluation.feasible());
          CHECK(solution.cost == Approx(evaluation.cost).epsilon(1e-9));
          CHECK(solution.cost <= insertion.cost + 1e-6);
          CHECK(Solve(instance, Granular(k)).order == solution.order);
        }
      }
    }
  }
}

// With lists that admit every edge, the granular neighbourhoods are the exhaustive ones, tried
// in another order: a granular descent must end where no exhaustive move improves.
TEST_CASE("with lists that admit every edge, the granular descent ends at an exhaustive optimum") {
  int descents = 0;
  for (const int stops : {1, 5, 13, 30, 64}) {
    for (const auto& regime : Regimes(stops)) {
      for (uint64_t seed = 0; seed < (stops > 30 ? 1 : 3); ++seed) {
        INFO(regime.name << ", " << stops << " stops, seed " << seed);
        const Instance instance = BuildOrFail(GenerateProblem(regime.options, seed));
        const CandidateLists all = NearestByTravelTime(instance, stops + 1);
        std::vector<int> order = NaiveOrder(instance);
        ImproveRoute(instance, order, /*max_moves=*/1'000'000, INT64_MAX, nullptr, &all);
        REQUIRE(Evaluate(instance, order).feasible());
        const std::vector<int> descended = order;
        ImproveRoute(instance, order, /*max_moves=*/1);
        CHECK(order == descended);
        ++descents;
      }
    }
  }
  CHECK(descents > 50);
}

// One move at a time from a poor route: each move the search makes must drive at least one
// edge (a, b) it did not drive before with b among a's candidates.
TEST_CASE("every granular move makes a candidate edge") {
  int moves = 0;
  int exhaustive_non_candidate_moves = 0;
  for (const auto& regime : Regimes(30)) {
    for (uint64_t seed = 0; seed < 3; ++seed) {
      const Instance instance = BuildOrFail(GenerateProblem(regime.options, seed));
      const CandidateLists lists = NearestByTravelTime(instance, 3);
      auto makes_candidate_edge = [&](const std::vector<int>& before,
                                      const std::vector<int>& after) {
        const std::set<std::pair<int, int>> old_edges = EdgesOf(instance, before);
        for (const auto& [from, to] : EdgesOf(instance, after)) {
          if (!old_edges.contains({from, to}) && lists.Admits(from, to)) return true;
        }
        return false;
      };
      std::vector<int> order = NaiveOrder(instance);
      std::vector<int> exhaustive_order = order;
      for (int step = 0; step < 40; ++step) {
        INFO(regime.name << ", seed " << seed << ", move " << step);
        const std::vector<int> before = order;
        ImproveRoute(instance, order, /*max_moves=*/1, INT64_MAX, nullptr, &lists);
        REQUIRE(Evaluate(instance, order).feasible());
        if (order != before) {
          ++moves;
          CHECK(makes_candidate_edge(before, order));
        }
        // The exhaustive search, for contrast, makes moves the lists would not admit.
        const std::vector<int> exhaustive_before = exhaustive_order;
        ImproveRoute(instance, exhaustive_order, /*max_moves=*/1);
        if (exhaustive_order != exhaustive_before &&
            !makes_candidate_edge(exhaustive_before, exhaustive_order)) {
          ++exhaustive_non_candidate_moves;
        }
      }
    }
  }
  CHECK(moves > 100);
  CHECK(exhaustive_non_candidate_moves > 0);
}

TEST_CASE("lists that admit nothing leave the route as it is") {
  for (const auto& regime : Regimes(20)) {
    const Instance instance = BuildOrFail(GenerateProblem(regime.options, 1));
    const CandidateLists none(instance, std::vector<std::vector<int>>(NumNodes(instance)));
    std::vector<int> order = NaiveOrder(instance);
    const std::vector<int> start = order;
    SolverStats stats;
    ImproveRoute(instance, order, 1000, INT64_MAX, &stats, &none);
    CHECK(order == start);
    CHECK(stats.moves == 0);
    // Whereas the exhaustive search improves it.
    ImproveRoute(instance, order, 1000);
    CHECK(order != start);
  }
}

}  // namespace
}  // namespace routeserve::routing
