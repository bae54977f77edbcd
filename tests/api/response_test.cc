// ToRouteProto against an instance small enough to compute by hand: stop ids in route order,
// ETAs as unix seconds rounded to the nearest second, waiting, lateness, load and the summary.
#include "api/response.h"

#include <cmath>
#include <numbers>
#include <vector>

#include <catch2/catch.hpp>

#include "routing/instance.h"
#include "routing/travel_time.h"

namespace routeserve::api {
namespace {

constexpr int64_t kNow = 1'700'000'000;

// On the equator, 0.01 degree of longitude apart: courier, p, d, b, end. Travel times come from
// the caller's matrix; distances from haversine x detour.
//   p: pickup of o1 (2), ready at now+100, 30 s service
//   d: dropoff of o1 (2), promised by now+150, 60 s service
//   b: dropoff of o2 (1), already on board
routing::RouteProblem SmallProblem() {
  routing::RouteProblem problem;
  problem.courier = {.id = "c",
                     .position = {0, 0},
                     .now = kNow,
                     .vehicle = routing::VehicleType::kCar,
                     .capacity = 5};
  routing::Stop pickup{.id = "p",
                       .position = {0, 0.01},
                       .kind = routing::StopKind::kPickup,
                       .order_id = "o1",
                       .service_s = 30,
                       .load = 2};
  pickup.window.earliest = kNow + 100;
  routing::Stop dropoff{.id = "d",
                        .position = {0, 0.02},
                        .kind = routing::StopKind::kDropoff,
                        .order_id = "o1",
                        .service_s = 60,
                        .load = 2};
  dropoff.window.latest = kNow + 150;
  routing::Stop on_board{.id = "b",
                         .position = {0, 0.03},
                         .kind = routing::StopKind::kDropoff,
                         .order_id = "o2",
                         .load = 1};
  problem.stops = {pickup, dropoff, on_board};
  problem.end_position = routing::LatLng{0, 0.04};
  //                           start  p     d     b     end
  problem.travel_times = {5, {0,  40.4, 90,   90,   90,    // start
                              40, 0,    50.2, 90,   90,    // p
                              90, 90,   0,    20.6, 90,    // d
                              90, 90,   90,   0,    10.5,  // b
                              90, 90,   90,   90,   0}};   // end
  return problem;
}

routing::Instance BuildInstance(const routing::RouteProblem& problem) {
  absl::StatusOr<routing::Instance> instance =
      routing::Instance::Build(problem, routing::ObjectiveParams{});
  REQUIRE(instance.ok());
  return *std::move(instance);
}

TEST_CASE("api response: ToRouteProto writes a hand-computed route") {
  const routing::RouteProblem problem = SmallProblem();
  const routing::Instance instance = BuildInstance(problem);
  const std::vector<int> order = {0, 1, 2};
  const routing::RouteEvaluation evaluation = routing::Evaluate(instance, order);

  v1::Route route;
  route.add_steps()->set_stop_id("left over from before");
  ToRouteProto(problem, evaluation, &route);

  REQUIRE(route.steps_size() == 3);
  // p: arrive 40.4, wait 59.6 for 100, leave 130 with 1 + 2 on board.
  const v1::RouteStep& p = route.steps(0);
  CHECK(p.stop_id() == "p");
  CHECK(p.arrival_time() == kNow + 40);
  CHECK(p.service_start_time() == kNow + 100);
  CHECK(p.departure_time() == kNow + 130);
  CHECK(p.waiting_s() == 60);
  CHECK(p.lateness_s() == 0);
  CHECK(p.load_after() == 3);
  // d: arrive 180.2, 30.2 after its promise; leave 240.2 with 1 on board.
  const v1::RouteStep& d = route.steps(1);
  CHECK(d.stop_id() == "d");
  CHECK(d.arrival_time() == kNow + 180);
  CHECK(d.service_start_time() == kNow + 180);
  CHECK(d.departure_time() == kNow + 240);
  CHECK(d.waiting_s() == 0);
  CHECK(d.lateness_s() == 30);
  CHECK(d.load_after() == 1);
  // b: arrive 260.8 (rounds up), no service, empty after.
  const v1::RouteStep& b = route.steps(2);
  CHECK(b.stop_id() == "b");
  CHECK(b.arrival_time() == kNow + 261);
  CHECK(b.service_start_time() == kNow + 261);
  CHECK(b.departure_time() == kNow + 261);
  CHECK(b.lateness_s() == 0);
  CHECK(b.load_after() == 0);

  // End: 260.8 + 10.5 = 271.3. Travel 40.4 + 50.2 + 20.6 + 10.5; cost = travel + 10 x lateness.
  const v1::RouteSummary& summary = route.summary();
  CHECK(summary.end_time() == kNow + 271);
  CHECK(summary.travel_time_s() == Approx(121.7));
  CHECK(summary.lateness_s() == Approx(30.2));
  CHECK(summary.waiting_s() == Approx(59.6));
  CHECK(summary.cost() == Approx(121.7 + 10 * 30.2));
  CHECK(summary.feasible());
  // Four legs of 0.01 degree on the equator, x the default detour factor 1.3.
  const double leg_m = 0.01 * std::numbers::pi / 180 * routing::kEarthRadiusM;
  CHECK(summary.distance_m() == Approx(4 * leg_m * 1.3));
}

TEST_CASE("api response: an infeasible order is reported as such, with its steps") {
  const routing::RouteProblem problem = SmallProblem();
  const routing::Instance instance = BuildInstance(problem);
  const std::vector<int> order = {1, 0, 2};  // the dropoff before its pickup
  const routing::RouteEvaluation evaluation = routing::Evaluate(instance, order);

  v1::Route route;
  ToRouteProto(problem, evaluation, &route);
  REQUIRE(route.steps_size() == 3);
  CHECK(route.steps(0).stop_id() == "d");
  CHECK(route.steps(1).stop_id() == "p");
  CHECK(route.steps(0).arrival_time() == kNow + 90);
  CHECK_FALSE(route.summary().feasible());
}

}  // namespace
}  // namespace routeserve::api
