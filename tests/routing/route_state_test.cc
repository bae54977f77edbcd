// The incremental costing of RouteState must agree with the evaluator on every replacement:
// the same cost when the new order is feasible, a rejection when it is not.
#include "routing/route_state.h"

#include <random>
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

TEST_CASE("costing a replacement agrees with evaluating the new order") {
  std::mt19937 random(7);  // only picks moves: the generator's numbers do not depend on it
  int feasible = 0;
  int rejected = 0;
  // 60 stops too: enough for the costing to skip whole blocks of stops a shift moves alike.
  for (const auto& [stops, seeds] : {std::pair{14, 20}, std::pair{60, 5}}) {
    for (const auto& regime : Regimes(stops)) {
      for (uint64_t seed = 0; seed < static_cast<uint64_t>(seeds); ++seed) {
        const Instance instance = BuildOrFail(GenerateProblem(regime.options, seed));
        RouteState state(instance);
        state.Assign(InsertionRoute(instance).order);
        REQUIRE(state.cost() == Approx(Evaluate(instance, state.order()).cost));
        const int size = state.size();
        for (int trial = 0; trial < 200; ++trial) {
          const int begin = std::uniform_int_distribution<int>(0, size - 1)(random);
          const int end = std::uniform_int_distribution<int>(begin + 1, size)(random);
          std::vector<int> region(state.order().begin() + begin, state.order().begin() + end);
          std::shuffle(region.begin(), region.end(), random);

          std::vector<int> moved = state.order();
          std::copy(region.begin(), region.end(), moved.begin() + begin);
          const RouteEvaluation truth = Evaluate(instance, moved);
          const double cost = state.CostOfReplacement(begin, end, region);
          INFO(regime.name << " seed " << seed << " [" << begin << ", " << end << ")");
          if (truth.feasible()) {
            ++feasible;
            REQUIRE(cost == Approx(truth.cost).epsilon(1e-9));
            // The O(1) bound never exceeds the true cost.
            double inner = 0;
            for (size_t k = 1; k < region.size(); ++k) {
              inner += instance.travel_s(region[k - 1] + 1, region[k] + 1);
            }
            CHECK(state.LowerBound(begin, end, region.front() + 1, region.back() + 1, inner) <=
                  truth.cost + 1e-6);
            // A bound the new cost does not beat rejects it; one it beats by a hair does not:
            // the walk's early exits (the shifted schedule's bounds on the rest) never
            // overestimate.
            CHECK(state.CostOfReplacement(begin, end, region, truth.cost - 1e-3) ==
                  RouteState::kRejected);
            CHECK(state.CostOfReplacement(begin, end, region, truth.cost + 1e-3) ==
                  Approx(truth.cost).epsilon(1e-9));
          } else {
            ++rejected;
            REQUIRE(cost == RouteState::kRejected);
          }
          // Travel along the order and back, edge by edge.
          double along = 0, back = 0;
          for (int k = begin + 1; k < end; ++k) {
            along += instance.travel_s(state.NodeAt(k - 1), state.NodeAt(k));
            back += instance.travel_s(state.NodeAt(k), state.NodeAt(k - 1));
          }
          CHECK(state.TravelAlong(begin, end - 1) == Approx(along).margin(1e-6));
          CHECK(state.TravelBack(begin, end - 1) == Approx(back).margin(1e-6));
          if (trial % 10 == 0 && truth.feasible()) {
            state.Replace(begin, end, region);
            REQUIRE(state.cost() == Approx(truth.cost).epsilon(1e-9));
            for (int k = 0; k < size; ++k) REQUIRE(state.position(state.order()[k]) == k);
          }
        }
      }
    }
  }
  // Both outcomes were exercised.
  CHECK(feasible > 1000);
  CHECK(rejected > 1000);
}

// Whether `order` drives an edge into or out of `stop` that the lists admit: the granular
// insertion's rule for a lone stop and for an order's pickup, `stop`.
bool MakesCandidateEdge(const Instance& instance, const CandidateLists& lists,
                        const std::vector<int>& order, int stop) {
  int node = 0;
  auto touches = [&](int n) { return n == stop + 1; };
  for (size_t k = 0; k <= order.size(); ++k) {
    const int next = k < order.size() ? order[k] + 1 : (instance.has_end() ? instance.end_node() : -1);
    if (next >= 0 && (touches(node) || touches(next)) && lists.Admits(node, next)) return true;
    node = next;
  }
  return false;
}

TEST_CASE("the best insertion is the cheapest feasible longer order") {
  int units = 0;
  int granular_differs = 0;
  for (const auto& regime : Regimes(10)) {
    for (uint64_t seed = 0; seed < 10; ++seed) {
      const Instance instance = BuildOrFail(GenerateProblem(regime.options, seed));
      const CandidateLists lists = NearestByTravelTime(instance, 2);
      const std::vector<int> order = InsertionRoute(instance).order;
      // Take each unit (an order, or a lone stop) out in turn, then put it back.
      for (int stop : order) {
        const int partner = instance.partner(stop);
        if (partner >= 0 && !instance.is_pickup(stop)) continue;
        ++units;
        std::vector<int> rest;
        for (int other : order) {
          if (other != stop && other != partner) rest.push_back(other);
        }
        RouteState state(instance);
        state.Assign(rest);
        double cheapest = RouteState::kRejected;
        double cheapest_admitted = RouteState::kRejected;  // among places making a candidate edge
        const int size = state.size();
        for (int first = 0; first <= size; ++first) {
          for (int second = first; second <= (partner >= 0 ? size : first); ++second) {
            std::vector<int> longer(rest.begin(), rest.begin() + first);
            longer.push_back(stop);
            longer.insert(longer.end(), rest.begin() + first, rest.begin() + second);
            if (partner >= 0) longer.push_back(partner);
            longer.insert(longer.end(), rest.begin() + second, rest.end());
            const RouteEvaluation truth = Evaluate(instance, longer);
            if (!truth.feasible()) continue;
            cheapest = std::min(cheapest, truth.cost);
            if (MakesCandidateEdge(instance, lists, longer, stop)) {
              cheapest_admitted = std::min(cheapest_admitted, truth.cost);
            }
          }
        }
        INFO(regime.name << " seed " << seed << " stop " << stop);
        const RouteState::Insertion best = state.BestInsertion(stop, partner);
        REQUIRE(cheapest != RouteState::kRejected);
        REQUIRE(best.cost == Approx(cheapest).epsilon(1e-9));
        CHECK(state.BestInsertion(stop, partner, cheapest - 1e-3).cost == RouteState::kRejected);
        const RouteState::Insertion granular =
            state.BestInsertion(stop, partner, RouteState::kRejected, &lists);
        if (cheapest_admitted == RouteState::kRejected) {
          CHECK(granular.cost == RouteState::kRejected);
        } else {
          CHECK(granular.cost == Approx(cheapest_admitted).epsilon(1e-9));
        }
        granular_differs += granular.cost != best.cost;
        state.Insert(stop, partner, best);
        const RouteEvaluation inserted = Evaluate(instance, state.order());
        REQUIRE(inserted.feasible());
        CHECK(state.cost() == Approx(inserted.cost).epsilon(1e-9));
      }
    }
  }
  CHECK(units > 200);
  // The lists ruled out the cheapest place now and then.
  CHECK(granular_differs > 10);
}

}  // namespace
}  // namespace routeserve::routing
