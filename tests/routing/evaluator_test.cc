// The evaluator against fixtures computed by hand: ETAs, waiting, lateness, load, the objective
// and every reason a route is infeasible.
#include "routing/evaluator.h"

#include <catch2/catch.hpp>

#include "routing/travel_time.h"
#include "test_problems.h"

namespace routeserve::routing {
namespace {

using testing::BuildOrFail;

constexpr int64_t kNow = 1'700'000'000;

// Stop 0 picks up order A (2 units, ready at now+100, 20 s service); stop 1 delivers it
// (promised by now+250, 10 s); stop 2 is a visit (30 s). Travel times come from the caller's
// matrix so that every figure below can be checked by hand.
RouteProblem ThreeStops() {
  RouteProblem problem;
  problem.courier.now = kNow;
  problem.courier.capacity = 3;
  Stop pickup{.id = "p", .kind = StopKind::kPickup, .order_id = "A", .service_s = 20, .load = 2};
  pickup.window.earliest = kNow + 100;
  Stop dropoff{.id = "d", .kind = StopKind::kDropoff, .order_id = "A", .service_s = 10, .load = 2};
  dropoff.window.latest = kNow + 250;
  Stop visit{.id = "v", .kind = StopKind::kVisit, .service_s = 30};
  problem.stops = {pickup, dropoff, visit};
  //                        start   p    d    v
  problem.travel_times = {4, {0,     50,  80,  40,     // start
                              50,    0,   60,  30,     // p
                              80,    60,  0,   70,     // d
                              40,    30,  70,  0}};    // v
  return problem;
}

ObjectiveParams Weights(double lateness, double waiting) {
  ObjectiveParams params;
  params.lateness_weight = lateness;
  params.waiting_weight = waiting;
  return params;
}

TEST_CASE("ETAs, waiting and load along a route") {
  const Instance instance = BuildOrFail(ThreeStops(), Weights(10, 0.5));
  const std::vector<int> order{0, 1, 2};
  const RouteEvaluation result = Evaluate(instance, order);
  REQUIRE(result.feasible());
  REQUIRE(result.steps.size() == 3);
  // p: arrive 50, wait for 100, leave 120 with 2 on board.
  CHECK(result.steps[0].arrival == 50);
  CHECK(result.steps[0].waiting_s == 50);
  CHECK(result.steps[0].service_start == 100);
  CHECK(result.steps[0].departure == 120);
  CHECK(result.steps[0].load_after == 2);
  // d: arrive 180, before its promise of 250; leave 190 empty.
  CHECK(result.steps[1].arrival == 180);
  CHECK(result.steps[1].lateness_s == 0);
  CHECK(result.steps[1].departure == 190);
  CHECK(result.steps[1].load_after == 0);
  // v: arrive 260, leave 290.
  CHECK(result.steps[2].arrival == 260);
  CHECK(result.steps[2].departure == 290);
  CHECK(result.travel_time_s == 180);
  CHECK(result.waiting_s == 50);
  CHECK(result.lateness_s == 0);
  CHECK(result.end_time == 290);
  CHECK(result.cost == 180 + 0.5 * 50);
}

TEST_CASE("a better order avoids the wait") {
  const Instance instance = BuildOrFail(ThreeStops(), Weights(10, 0.5));
  const std::vector<int> order{2, 0, 1};
  const RouteEvaluation result = Evaluate(instance, order);
  REQUIRE(result.feasible());
  CHECK(result.steps[1].arrival == 100);  // v leaves at 70, 30 s to p
  CHECK(result.steps[1].waiting_s == 0);
  CHECK(result.travel_time_s == 130);
  CHECK(result.cost == 130);
}

TEST_CASE("lateness is counted from the promised time and weighed") {
  RouteProblem problem = ThreeStops();
  problem.stops[1].window.latest = kNow + 150;
  const Instance instance = BuildOrFail(problem, Weights(10, 0.5));
  const std::vector<int> order{0, 1, 2};
  const RouteEvaluation result = Evaluate(instance, order);
  REQUIRE(result.feasible());
  CHECK(result.steps[1].lateness_s == 30);  // arrives 180
  CHECK(result.lateness_s == 30);
  CHECK(result.cost == 180 + 10 * 30 + 0.5 * 50);
}

TEST_CASE("an end position adds the last leg and ends the route there") {
  RouteProblem problem = ThreeStops();
  problem.end_position = LatLng{};
  problem.travel_times = TravelTimeMatrix{5, {0,  50, 80, 40, 99,
                                              50, 0,  60, 30, 11,
                                              80, 60, 0,  70, 22,
                                              40, 30, 70, 0,  33,
                                              99, 11, 22, 33, 0}};
  const Instance instance = BuildOrFail(problem, Weights(10, 0));
  const std::vector<int> order{2, 0, 1};
  const RouteEvaluation result = Evaluate(instance, order);
  REQUIRE(result.feasible());
  CHECK(result.travel_time_s == 130 + 22);
  CHECK(result.end_time == 190 + 22);
  CHECK(result.cost == 152);
}

TEST_CASE("an order on board counts from the start") {
  RouteProblem problem = ThreeStops();
  // The visit becomes the dropoff of an order already on board, 2 units.
  problem.stops[2] = Stop{.id = "b", .kind = StopKind::kDropoff, .order_id = "B", .load = 2};
  const Instance instance = BuildOrFail(problem);
  CHECK(instance.initial_load() == 2);

  const std::vector<int> deliver_first{2, 0, 1};
  const RouteEvaluation fine = Evaluate(instance, deliver_first);
  CHECK(fine.feasible());
  CHECK(fine.steps[0].load_after == 0);
  CHECK(fine.steps[1].load_after == 2);

  const std::vector<int> pick_up_first{0, 2, 1};  // 2 + 2 on board, capacity 3
  const RouteEvaluation over = Evaluate(instance, pick_up_first);
  CHECK(over.infeasibility == Infeasibility::kOverCapacity);
  CHECK(over.infeasible_stop == 0);
  CHECK(over.steps[0].load_after == 4);
}

TEST_CASE("each reason a route is infeasible") {
  const Instance instance = BuildOrFail(ThreeStops());
  struct Case {
    std::vector<int> order;
    Infeasibility reason;
    int stop;
  };
  const Case cases[] = {
      {{1, 0, 2}, Infeasibility::kDropoffBeforePickup, 1},
      {{0, 1}, Infeasibility::kStopMissing, 2},
      {{0, 1, 2, 2}, Infeasibility::kStopRepeated, 2},
      {{0, 1, 7}, Infeasibility::kStopRepeated, 7},
  };
  for (const Case& c : cases) {
    const RouteEvaluation result = Evaluate(instance, c.order);
    INFO(InfeasibilityName(c.reason));
    CHECK(result.infeasibility == c.reason);
    CHECK(result.infeasible_stop == c.stop);
    CHECK_FALSE(result.feasible());
  }
}

TEST_CASE("without a matrix, travel follows haversine x detour / speed") {
  RouteProblem problem;
  problem.courier.now = kNow;
  problem.courier.vehicle = VehicleType::kCar;
  problem.courier.position = {0, 0};
  problem.stops = {Stop{.id = "a", .position = {0, 0.01}, .kind = StopKind::kVisit}};
  ObjectiveParams params;
  params.detour_factor = 1.25;
  params.speed_mps[static_cast<int>(VehicleType::kCar)] = 10;
  const Instance instance = BuildOrFail(problem, params);
  const std::vector<int> order{0};
  const RouteEvaluation result = Evaluate(instance, order);
  const double metres = 2 * 3.141592653589793 * kEarthRadiusM / 360 * 0.01 * 1.25;
  CHECK(result.distance_m == Approx(metres));
  CHECK(result.travel_time_s == Approx(metres / 10));
}

TEST_CASE("a matrix of the wrong size is an error, not a crash") {
  RouteProblem problem = ThreeStops();
  problem.travel_times->side = 3;
  problem.travel_times->seconds.resize(9);
  CHECK_FALSE(Instance::Build(problem, {}).ok());
}

}  // namespace
}  // namespace routeserve::routing
