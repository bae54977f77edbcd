#include "routing/travel_time.h"

#include <cmath>
#include <numbers>

namespace routeserve::routing {

double HaversineM(LatLng a, LatLng b) {
  constexpr double kRadiansPerDegree = std::numbers::pi / 180.0;
  const double lat1 = a.lat_deg * kRadiansPerDegree;
  const double lat2 = b.lat_deg * kRadiansPerDegree;
  const double sin_dlat = std::sin((lat2 - lat1) / 2);
  const double sin_dlng = std::sin((b.lng_deg - a.lng_deg) * kRadiansPerDegree / 2);
  const double h = sin_dlat * sin_dlat + std::cos(lat1) * std::cos(lat2) * sin_dlng * sin_dlng;
  return 2 * kEarthRadiusM * std::asin(std::sqrt(std::min(1.0, h)));
}

double RoadDistanceM(LatLng a, LatLng b, const ObjectiveParams& params) {
  return HaversineM(a, b) * params.detour_factor;
}

double TravelTimeS(LatLng a, LatLng b, const Courier& courier, const ObjectiveParams& params) {
  const double speed = courier.speed_mps.value_or(params.speed_of(courier.vehicle));
  return RoadDistanceM(a, b, params) / speed;
}

}  // namespace routeserve::routing
