// The instance generator: deterministic, exact in size, and true to its options.
#include "routing/generator.h"

#include <map>

#include <catch2/catch.hpp>

#include "routing/travel_time.h"
#include "test_problems.h"

namespace routeserve::routing {
namespace {

bool SameProblem(const RouteProblem& a, const RouteProblem& b) {
  if (a.stops.size() != b.stops.size() || a.courier.now != b.courier.now ||
      a.courier.position.lat_deg != b.courier.position.lat_deg ||
      a.courier.capacity != b.courier.capacity || a.end_position.has_value() != b.end_position.has_value() ||
      a.travel_times.has_value() != b.travel_times.has_value()) {
    return false;
  }
  for (size_t i = 0; i < a.stops.size(); ++i) {
    const Stop& x = a.stops[i];
    const Stop& y = b.stops[i];
    if (x.id != y.id || x.kind != y.kind || x.order_id != y.order_id || x.load != y.load ||
        x.position.lat_deg != y.position.lat_deg || x.position.lng_deg != y.position.lng_deg ||
        x.window.earliest != y.window.earliest || x.window.latest != y.window.latest ||
        x.service_s != y.service_s) {
      return false;
    }
  }
  return !a.travel_times || a.travel_times->seconds == b.travel_times->seconds;
}

TEST_CASE("the same seed gives the same problem, another seed another") {
  GeneratorOptions options;
  options.num_stops = 30;
  options.caller_matrix = true;
  CHECK(SameProblem(GenerateProblem(options, 42), GenerateProblem(options, 42)));
  CHECK_FALSE(SameProblem(GenerateProblem(options, 42), GenerateProblem(options, 43)));
}

// Pins the numbers themselves, so that a change of arithmetic (and with it every benchmark
// and training set) cannot pass unnoticed.
TEST_CASE("the generator's numbers are pinned") {
  GeneratorOptions options;
  options.num_stops = 5;
  const RouteProblem problem = GenerateProblem(options, 1);
  CHECK(problem.courier.now == 1704343893);
  CHECK(problem.stops[0].position.lat_deg == Approx(27.3292122607).margin(1e-9));
}

TEST_CASE("problems have exactly the stops asked for, well paired") {
  for (const auto& regime : testing::Regimes(1)) {
    for (int stops : {1, 2, 3, 7, 20, 64, 128}) {
      GeneratorOptions options = regime.options;
      options.num_stops = stops;
      for (uint64_t seed = 0; seed < 5; ++seed) {
        const RouteProblem problem = GenerateProblem(options, seed);
        INFO(regime.name << ", " << stops << " stops, seed " << seed);
        REQUIRE(static_cast<int>(problem.stops.size()) == stops);
        std::map<std::string, int> pickups, dropoffs;
        int64_t on_board = 0;
        for (const Stop& stop : problem.stops) {
          if (stop.kind == StopKind::kPickup) ++pickups[stop.order_id];
          if (stop.kind == StopKind::kDropoff) ++dropoffs[stop.order_id];
        }
        for (const auto& [order, count] : pickups) {
          CHECK(count == 1);
          CHECK(dropoffs[order] == 1);
        }
        for (const Stop& stop : problem.stops) {
          if (stop.kind == StopKind::kDropoff && !pickups.count(stop.order_id)) on_board += stop.load;
          CHECK(stop.load <= problem.courier.capacity);
        }
        CHECK(on_board <= problem.courier.capacity);
        // A build succeeds: pairing and matrix are consistent.
        testing::BuildOrFail(problem);
      }
    }
  }
}

TEST_CASE("options shape the problems") {
  GeneratorOptions options;
  options.num_stops = 40;
  SECTION("no windows") {
    options.windows = TimeWindowTightness::kNone;
    for (const Stop& stop : GenerateProblem(options, 3).stops) {
      CHECK_FALSE(stop.window.earliest.has_value());
      CHECK_FALSE(stop.window.latest.has_value());
    }
  }
  SECTION("every dropoff has a promise with windows") {
    options.windows = TimeWindowTightness::kTight;
    const RouteProblem problem = GenerateProblem(options, 3);
    for (const Stop& stop : problem.stops) {
      if (stop.kind == StopKind::kDropoff) {
        REQUIRE(stop.window.latest.has_value());
        CHECK(*stop.window.latest > problem.courier.now);
      }
    }
  }
  SECTION("orders on board") {
    options.on_board_share = 1;
    for (const Stop& stop : GenerateProblem(options, 3).stops) CHECK(stop.kind == StopKind::kDropoff);
    options.on_board_share = 0;
    int pickups = 0;
    for (const Stop& stop : GenerateProblem(options, 3).stops) pickups += stop.kind == StopKind::kPickup;
    CHECK(pickups == 20);
  }
  SECTION("end position and caller matrix") {
    options.end_position_probability = 1;
    options.caller_matrix = true;
    const RouteProblem problem = GenerateProblem(options, 3);
    REQUIRE(problem.end_position.has_value());
    REQUIRE(problem.travel_times.has_value());
    CHECK(problem.travel_times->side == 42);
    CHECK(problem.travel_times->seconds.size() == 42u * 42u);
  }
  SECTION("stops lie in the city") {
    const RouteProblem problem = GenerateProblem(options, 3);
    for (const Stop& stop : problem.stops) {
      CHECK(HaversineM(stop.position, problem.courier.position) < 3 * options.city_radius_m);
    }
  }
}

}  // namespace
}  // namespace routeserve::routing
