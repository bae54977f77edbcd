// Haversine distance and the travel-time model.
#include "routing/travel_time.h"

#include <catch2/catch.hpp>

namespace routeserve::routing {
namespace {

TEST_CASE("one degree of longitude on the equator is 2 pi R / 360") {
  const double expected = 2 * 3.141592653589793 * kEarthRadiusM / 360;
  CHECK(HaversineM({0, 0}, {0, 1}) == Approx(expected).epsilon(1e-12));
  CHECK(HaversineM({0, 1}, {0, 0}) == Approx(expected).epsilon(1e-12));
}

TEST_CASE("a degree of longitude shrinks with the cosine of the latitude") {
  const double at_equator = HaversineM({0, 0}, {0, 1});
  CHECK(HaversineM({60, 0}, {60, 1}) == Approx(at_equator * 0.5).epsilon(1e-4));
}

TEST_CASE("antipodes are half the circumference apart") {
  CHECK(HaversineM({0, 0}, {0, 180}) == Approx(3.141592653589793 * kEarthRadiusM));
  CHECK(HaversineM({90, 0}, {-90, 0}) == Approx(3.141592653589793 * kEarthRadiusM));
}

TEST_CASE("travel time is haversine x detour / the vehicle's speed, unless overridden") {
  ObjectiveParams params;
  params.detour_factor = 1.5;
  params.speed_mps = {5, 6, 10, 8};
  Courier courier;
  courier.vehicle = VehicleType::kCar;
  const LatLng a{48.85, 2.35};
  const LatLng b{48.86, 2.36};
  const double road = HaversineM(a, b) * 1.5;
  CHECK(RoadDistanceM(a, b, params) == Approx(road));
  CHECK(TravelTimeS(a, b, courier, params) == Approx(road / 10));
  courier.vehicle = VehicleType::kBike;
  CHECK(TravelTimeS(a, b, courier, params) == Approx(road / 5));
  courier.speed_mps = 2.5;
  CHECK(TravelTimeS(a, b, courier, params) == Approx(road / 2.5));
}

}  // namespace
}  // namespace routeserve::routing
