#include "routing/problem.h"

namespace routeserve::routing {

std::string_view VehicleTypeName(VehicleType type) {
  switch (type) {
    case VehicleType::kBike: return "bike";
    case VehicleType::kScooter: return "scooter";
    case VehicleType::kCar: return "car";
    case VehicleType::kVan: return "van";
  }
  return "unknown";
}

}  // namespace routeserve::routing
