// The classical solver: always feasible, deterministic, and close to the optimum.
#include "routing/solver.h"

#include <cmath>
#include <cstdio>

#include <catch2/catch.hpp>

#include "routing/evaluator.h"
#include "routing/exact_solver.h"
#include "test_problems.h"

namespace routeserve::routing {
namespace {

using testing::BuildOrFail;
using testing::Regimes;

TEST_CASE("solver routes are feasible and their cost is the evaluator's") {
  for (int stops : {1, 2, 5, 13, 30, 64}) {
    for (const auto& regime : Regimes(stops)) {
      for (uint64_t seed = 0; seed < (stops > 30 ? 2 : 10); ++seed) {
        const Instance instance = BuildOrFail(GenerateProblem(regime.options, seed));
        const Solution insertion = InsertionRoute(instance);
        const Solution solution = Solve(instance);
        const RouteEvaluation evaluation = Evaluate(instance, solution.order);
        INFO(regime.name << ", " << stops << " stops, seed " << seed);
        REQUIRE(Evaluate(instance, insertion.order).feasible());
        REQUIRE(evaluation.feasible());
        CHECK(solution.cost == Approx(evaluation.cost).epsilon(1e-9));
        CHECK(solution.cost <= insertion.cost + 1e-6);
      }
    }
  }
}

TEST_CASE("the same instance always gets the same route") {
  GeneratorOptions options;
  options.num_stops = 40;
  options.windows = TimeWindowTightness::kTight;
  const Instance instance = BuildOrFail(GenerateProblem(options, 9));
  const Solution first = Solve(instance);
  for (int run = 0; run < 3; ++run) CHECK(Solve(instance).order == first.order);
}

TEST_CASE("with a caller's matrix, the route depends on its travel times, not on the positions") {
  // A matrix caller may send rough positions: the same matrix with the stops' positions moved
  // about must get the same route, since nothing but reporting reads the positions then.
  GeneratorOptions options;
  options.num_stops = 40;
  options.caller_matrix = true;
  options.windows = TimeWindowTightness::kTight;
  options.end_position_probability = 0;
  for (uint64_t seed = 0; seed < 4; ++seed) {
    const RouteProblem problem = GenerateProblem(options, seed);
    RouteProblem rough = problem;
    for (size_t i = 0; i < rough.stops.size(); ++i) {
      // A coarse grid, with the stops' places shuffled among themselves.
      const Stop& other = problem.stops[(i * 7 + 3) % problem.stops.size()];
      rough.stops[i].position = {std::round(other.position.lat_deg * 100) / 100,
                                 std::round(other.position.lng_deg * 100) / 100};
    }
    INFO("seed " << seed);
    CHECK(Solve(BuildOrFail(rough)).order == Solve(BuildOrFail(problem)).order);
  }
}

TEST_CASE("out_of_time ends the iterated search, with the best route so far") {
  GeneratorOptions options;
  options.num_stops = 30;
  options.windows = TimeWindowTightness::kTight;
  const Instance instance = BuildOrFail(GenerateProblem(options, 3));
  const std::vector<int> start = InsertionRoute(instance).order;
  for (const int allowed : {0, 5}) {
    INFO(allowed << " rounds allowed");
    int asked = 0;
    SolverOptions cut;
    cut.out_of_time = [&asked, allowed] { return asked++ >= allowed; };
    SolverStats stats;
    const Solution solution = SolveFrom(instance, start, cut, &stats);
    CHECK(stats.rounds == allowed);
    // The same as a solve with that many rounds: the deadline only ends it sooner.
    SolverOptions counted;
    counted.perturbation_rounds = allowed;
    CHECK(solution.order == SolveFrom(instance, start, counted).order);
    CHECK(Evaluate(instance, solution.order).feasible());
  }
}

TEST_CASE("solving from the insertion route is solving") {
  for (const auto& regime : Regimes(25)) {
    const Instance instance = BuildOrFail(GenerateProblem(regime.options, 4));
    CHECK(SolveFrom(instance, InsertionRoute(instance).order).order == Solve(instance).order);
  }
}

TEST_CASE("the budget bounds the work") {
  GeneratorOptions options;
  options.num_stops = 60;
  const Instance instance = BuildOrFail(GenerateProblem(options, 5));
  SolverOptions small;
  small.max_evaluations = 20'000;
  SolverStats stats;
  const Solution solution = Solve(instance, small, &stats);
  CHECK(Evaluate(instance, solution.order).feasible());
  // A descent may finish its current move after the budget runs out, never much more.
  CHECK(stats.evaluations <= small.max_evaluations + 2 * 60 * 60);

  SolverOptions no_rounds;
  no_rounds.perturbation_rounds = 0;
  SolverStats descent_only;
  Solve(instance, no_rounds, &descent_only);
  CHECK(descent_only.rounds == 0);
}

TEST_CASE("refinement never makes a route worse and keeps it feasible") {
  for (const auto& regime : Regimes(20)) {
    for (uint64_t seed = 0; seed < 10; ++seed) {
      const Instance instance = BuildOrFail(GenerateProblem(regime.options, seed));
      std::vector<int> order = InsertionRoute(instance).order;
      const double before = Evaluate(instance, order).cost;
      const double after = ImproveRoute(instance, order, /*max_moves=*/1000);
      const RouteEvaluation evaluation = Evaluate(instance, order);
      REQUIRE(evaluation.feasible());
      CHECK(after == Approx(evaluation.cost).epsilon(1e-9));
      CHECK(after <= before + 1e-6);
    }
  }
  GeneratorOptions options;
  options.num_stops = 20;
  const Instance instance = BuildOrFail(GenerateProblem(options, 1));
  std::vector<int> order = InsertionRoute(instance).order;
  const std::vector<int> unchanged = order;
  ImproveRoute(instance, order, /*max_moves=*/0);
  CHECK(order == unchanged);
}

// Hundreds of instances at up to 10 stops: the default solver's mean gap to the exact
// optimum must stay under 2%. The figure is printed for the record.
TEST_CASE("the solver is within 2% of the optimum on average at up to 10 stops") {
  double gap_sum = 0;
  double worst_gap = 0;
  int instances = 0;
  int optimal = 0;
  for (int stops = 3; stops <= 10; ++stops) {
    for (const auto& regime : Regimes(stops)) {
      for (uint64_t seed = 100; seed < 110; ++seed) {
        const Instance instance = BuildOrFail(GenerateProblem(regime.options, seed));
        const Solution solution = Solve(instance);
        absl::StatusOr<Solution> exact = SolveExact(instance);
        REQUIRE(exact.ok());
        REQUIRE(Evaluate(instance, solution.order).feasible());
        REQUIRE(solution.cost >= exact->cost - 1e-6);
        const double gap = (solution.cost - exact->cost) / exact->cost;
        gap_sum += gap;
        worst_gap = std::max(worst_gap, gap);
        optimal += gap < 1e-9;
        ++instances;
      }
    }
  }
  const double mean_gap = gap_sum / instances;
  std::printf("solver vs exact, 3-10 stops, %d instances: mean gap %.4f%%, max %.3f%%, optimal %d%%\n",
              instances, 100 * mean_gap, 100 * worst_gap, 100 * optimal / instances);
  CHECK(instances == 400);
  CHECK(mean_gap < 0.02);
}

}  // namespace
}  // namespace routeserve::routing
