// The exact solver against brute force, and what makes it exact with time windows.
#include "routing/exact_solver.h"

#include <algorithm>
#include <limits>
#include <numeric>

#include <catch2/catch.hpp>

#include "routing/evaluator.h"
#include "test_problems.h"

namespace routeserve::routing {
namespace {

using testing::BuildOrFail;
using testing::Regimes;

// The cheapest feasible order by trying every permutation.
double BruteForceCost(const Instance& instance) {
  std::vector<int> order(instance.num_stops());
  std::iota(order.begin(), order.end(), 0);
  double best = std::numeric_limits<double>::infinity();
  do {
    const RouteEvaluation evaluation = Evaluate(instance, order);
    if (evaluation.feasible()) best = std::min(best, evaluation.cost);
  } while (std::next_permutation(order.begin(), order.end()));
  return best;
}

TEST_CASE("the exact solver finds the brute-force optimum on up to 8 stops") {
  for (int stops : {1, 2, 3, 5, 8}) {
    for (const auto& regime : Regimes(stops)) {
      for (uint64_t seed = 0; seed < (stops == 8 ? 6 : 15); ++seed) {
        const Instance instance = BuildOrFail(GenerateProblem(regime.options, seed));
        absl::StatusOr<Solution> exact = SolveExact(instance);
        REQUIRE(exact.ok());
        const RouteEvaluation evaluation = Evaluate(instance, exact->order);
        INFO(regime.name << ", " << stops << " stops, seed " << seed);
        REQUIRE(evaluation.feasible());
        CHECK(exact->cost == Approx(evaluation.cost).epsilon(1e-9));
        CHECK(exact->cost == Approx(BruteForceCost(instance)).epsilon(1e-9));
      }
    }
  }
}

TEST_CASE("the exact solver weighs waiting too") {
  ObjectiveParams params;
  params.waiting_weight = 0.7;
  GeneratorOptions options;
  options.num_stops = 7;
  options.windows = TimeWindowTightness::kTight;
  options.visit_share = 0.3;
  for (uint64_t seed = 0; seed < 10; ++seed) {
    const Instance instance = BuildOrFail(GenerateProblem(options, seed), params);
    absl::StatusOr<Solution> exact = SolveExact(instance);
    REQUIRE(exact.ok());
    CHECK(exact->cost == Approx(BruteForceCost(instance)).epsilon(1e-9));
  }
}

// One cost per (visited set, last stop) is not enough with time windows. Over {a, b, c}
// ending at c, a -> b -> c costs 30 but leaves at 70 (it waits for a to open at 50), while
// b -> a -> c costs 50 and leaves at 60. Only the second reaches d by its promise at 65: the
// optimum extends the dearer partial route.
TEST_CASE("a costlier but earlier partial route can win") {
  RouteProblem problem;
  problem.courier.now = 1000;
  problem.stops = {Stop{.id = "a", .kind = StopKind::kVisit},
                   Stop{.id = "b", .kind = StopKind::kVisit},
                   Stop{.id = "c", .kind = StopKind::kVisit},
                   Stop{.id = "d", .kind = StopKind::kVisit}};
  problem.stops[0].window.earliest = 1000 + 50;
  problem.stops[3].window.latest = 1000 + 65;
  //                         start  a    b    c    d
  problem.travel_times = {5, {0,    10,  30,  100, 100,   // start
                              100,  0,   10,  10,  100,   // a
                              100,  10,  0,   10,  100,   // b
                              100,  100, 100, 0,   5,     // c
                              100,  100, 100, 100, 0}};   // d
  ObjectiveParams params;
  params.lateness_weight = 10;
  const Instance instance = BuildOrFail(problem, params);
  absl::StatusOr<Solution> exact = SolveExact(instance);
  REQUIRE(exact.ok());
  CHECK(exact->order == std::vector<int>{1, 0, 2, 3});
  CHECK(exact->cost == 55);
  CHECK(exact->cost == BruteForceCost(instance));
}

TEST_CASE("the exact solver refuses instances above its size") {
  GeneratorOptions options;
  options.num_stops = kMaxExactStops + 1;
  const Instance instance = BuildOrFail(GenerateProblem(options, 1));
  CHECK(SolveExact(instance).status().code() == absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace routeserve::routing
