// Travel between two points: the great-circle (haversine) distance, and the travel-time model
// that turns it into seconds for a vehicle when the caller gives no matrix.
#pragma once

#include "routing/objective.h"
#include "routing/problem.h"

namespace routeserve::routing {

inline constexpr double kEarthRadiusM = 6371008.8;  // mean radius (IUGG)

// Great-circle distance in metres.
double HaversineM(LatLng a, LatLng b);

// Road distance estimate: haversine x detour factor.
double RoadDistanceM(LatLng a, LatLng b, const ObjectiveParams& params);

// Seconds to drive from a to b: road distance / speed (the courier's override if set, else its
// vehicle type's configured speed).
double TravelTimeS(LatLng a, LatLng b, const Courier& courier, const ObjectiveParams& params);

}  // namespace routeserve::routing
