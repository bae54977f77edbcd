// The problem one Suggest request poses (docs/ARCHITECTURE.md, The problem), independent of
// protobuf: one courier, one vehicle, one route from its current position through every stop.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace routeserve::routing {

// WGS84 degrees.
struct LatLng {
  double lat_deg = 0;
  double lng_deg = 0;
};

enum class VehicleType { kBike, kScooter, kCar, kVan };
inline constexpr int kNumVehicleTypes = 4;
std::string_view VehicleTypeName(VehicleType type);  // "bike", "scooter", ...

enum class StopKind {
  kPickup,   // the order's load goes on board
  kDropoff,  // the order's load leaves; without its pickup in the problem, it is on board already
  kVisit,    // moves no load
};

// Unix seconds; an absent side is unbounded.
struct TimeWindow {
  std::optional<int64_t> earliest;  // arrive-not-before: arriving earlier waits
  std::optional<int64_t> latest;    // promised time: arriving later is lateness
};

struct Stop {
  std::string id;        // unique in the problem
  LatLng position;
  StopKind kind = StopKind::kVisit;
  std::string order_id;  // ties a pickup to its dropoff; empty for a visit
  TimeWindow window;
  int64_t service_s = 0;  // seconds spent at the stop
  int64_t load = 0;       // the order's load; 0 for a visit
};

struct Courier {
  std::string id;
  LatLng position;
  int64_t now = 0;  // unix seconds: the route starts here and now
  VehicleType vehicle = VehicleType::kBike;
  int64_t capacity = 0;
  std::optional<double> speed_mps;  // overrides the vehicle type's speed
};

// Travel times from the caller's road network, seconds, row-major over a square whose side is
// 1 + stops (+ 1 with an end position): courier position, stops in problem order, end position.
struct TravelTimeMatrix {
  int side = 0;
  std::vector<double> seconds;
};

struct RouteProblem {
  Courier courier;
  std::vector<Stop> stops;
  std::optional<LatLng> end_position;  // absent: the route is open and ends at its last stop
  std::optional<TravelTimeMatrix> travel_times;  // absent: the travel-time model decides
};

}  // namespace routeserve::routing
