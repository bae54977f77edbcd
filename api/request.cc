// ToRouteProblem and ToSuggestRequest (api/request.h): the checks only the proto can fail
// (presence, enums, the stop limit, options), the conversion, then the domain's own checks in
// routing::ValidateProblem.
#include "api/request.h"

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "routing/validation.h"

namespace routeserve::api {
namespace {

constexpr int kMaxAlternatives = 8;

absl::Status FieldError(absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", what));
}

std::optional<routing::VehicleType> FromProto(v1::VehicleType type) {
  switch (type) {
    case v1::VEHICLE_TYPE_BIKE: return routing::VehicleType::kBike;
    case v1::VEHICLE_TYPE_SCOOTER: return routing::VehicleType::kScooter;
    case v1::VEHICLE_TYPE_CAR: return routing::VehicleType::kCar;
    case v1::VEHICLE_TYPE_VAN: return routing::VehicleType::kVan;
    default: return std::nullopt;
  }
}

std::optional<routing::StopKind> FromProto(v1::StopKind kind) {
  switch (kind) {
    case v1::STOP_KIND_PICKUP: return routing::StopKind::kPickup;
    case v1::STOP_KIND_DROPOFF: return routing::StopKind::kDropoff;
    case v1::STOP_KIND_VISIT: return routing::StopKind::kVisit;
    default: return std::nullopt;
  }
}

v1::VehicleType ToProto(routing::VehicleType type) {
  switch (type) {
    case routing::VehicleType::kBike: return v1::VEHICLE_TYPE_BIKE;
    case routing::VehicleType::kScooter: return v1::VEHICLE_TYPE_SCOOTER;
    case routing::VehicleType::kCar: return v1::VEHICLE_TYPE_CAR;
    case routing::VehicleType::kVan: return v1::VEHICLE_TYPE_VAN;
  }
  return v1::VEHICLE_TYPE_UNSPECIFIED;
}

v1::StopKind ToProto(routing::StopKind kind) {
  switch (kind) {
    case routing::StopKind::kPickup: return v1::STOP_KIND_PICKUP;
    case routing::StopKind::kDropoff: return v1::STOP_KIND_DROPOFF;
    case routing::StopKind::kVisit: return v1::STOP_KIND_VISIT;
  }
  return v1::STOP_KIND_UNSPECIFIED;
}

// An enum field that is unset or carries a number this build does not know (proto3 keeps
// unknown enum numbers).
absl::Status EnumError(absl::string_view field, int value) {
  if (value == 0) return FieldError(field, "must be set");
  return FieldError(field, absl::StrCat("unknown value ", value));
}

routing::LatLng FromProto(const v1::LatLng& position) {
  return {position.lat_deg(), position.lng_deg()};
}

void ToProto(const routing::LatLng& position, v1::LatLng* out) {
  out->set_lat_deg(position.lat_deg);
  out->set_lng_deg(position.lng_deg);
}

// The checks that need the proto itself: presence of messages, enums, sizes, options. Cheap
// and size-bound checks come first, so that an oversized request costs nothing more.
absl::Status CheckProtoOnly(const v1::SuggestRequest& request, const RequestLimits& limits) {
  if (request.stops_size() > limits.max_stops) {
    return FieldError("stops", absl::StrCat(request.stops_size(), " stops, above the limit of ",
                                            limits.max_stops));
  }
  if (!request.has_courier()) return FieldError("courier", "required");
  const v1::Courier& courier = request.courier();
  if (!courier.has_position()) return FieldError("courier.position", "required");
  if (!FromProto(courier.vehicle_type())) {
    return EnumError("courier.vehicle_type", courier.vehicle_type());
  }
  for (int i = 0; i < request.stops_size(); ++i) {
    const v1::Stop& stop = request.stops(i);
    if (!stop.has_position()) {
      return FieldError(absl::StrCat("stops[", i, "].position"), "required");
    }
    if (!FromProto(stop.kind())) return EnumError(absl::StrCat("stops[", i, "].kind"), stop.kind());
  }
  if (request.travel_time_matrix_s_size() > 0) {
    const int64_t side =
        1 + static_cast<int64_t>(request.stops_size()) + (request.has_end_position() ? 1 : 0);
    if (request.travel_time_matrix_s_size() != side * side) {
      return FieldError("travel_time_matrix_s",
                        absl::StrCat(request.travel_time_matrix_s_size(), " entries, expected ",
                                     side * side, " (", side, " x ", side, ")"));
    }
  }
  const int alternatives = request.options().num_alternatives();
  if (alternatives < 0 || alternatives > kMaxAlternatives) {
    return FieldError("options.num_alternatives",
                      absl::StrCat(alternatives, " is outside [0, ", kMaxAlternatives, "]"));
  }
  if (request.has_timeout_s() &&
      !(std::isfinite(request.timeout_s()) && request.timeout_s() >= 0)) {
    return FieldError("timeout_s",
                      absl::StrCat(request.timeout_s(), " is not a duration (finite, >= 0)"));
  }
  return absl::OkStatus();
}

// Proto's 0 is an unbounded side of the window.
std::optional<int64_t> WindowSide(int64_t seconds) {
  return seconds == 0 ? std::nullopt : std::optional<int64_t>(seconds);
}

}  // namespace

absl::StatusOr<routing::RouteProblem> ToRouteProblem(const v1::SuggestRequest& request,
                                                     const RequestLimits& limits) {
  if (absl::Status status = CheckProtoOnly(request, limits); !status.ok()) return status;

  routing::RouteProblem problem;
  const v1::Courier& courier = request.courier();
  problem.courier.id = courier.id();
  problem.courier.position = FromProto(courier.position());
  problem.courier.now = courier.now();
  problem.courier.vehicle = *FromProto(courier.vehicle_type());
  problem.courier.capacity = courier.capacity();
  if (courier.has_speed_mps()) problem.courier.speed_mps = courier.speed_mps();

  problem.stops.reserve(request.stops_size());
  for (const v1::Stop& proto_stop : request.stops()) {
    routing::Stop& stop = problem.stops.emplace_back();
    stop.id = proto_stop.id();
    stop.position = FromProto(proto_stop.position());
    stop.kind = *FromProto(proto_stop.kind());
    stop.order_id = proto_stop.order_id();
    if (proto_stop.has_time_window()) {
      stop.window.earliest = WindowSide(proto_stop.time_window().earliest());
      stop.window.latest = WindowSide(proto_stop.time_window().latest());
    }
    stop.service_s = proto_stop.service_s();
    stop.load = proto_stop.load();
  }
  if (request.has_end_position()) problem.end_position = FromProto(request.end_position());
  if (request.travel_time_matrix_s_size() > 0) {
    routing::TravelTimeMatrix& matrix = problem.travel_times.emplace();
    matrix.side = 1 + request.stops_size() + (request.has_end_position() ? 1 : 0);
    matrix.seconds.assign(request.travel_time_matrix_s().begin(),
                          request.travel_time_matrix_s().end());
  }

  if (absl::Status status = routing::ValidateProblem(problem); !status.ok()) return status;
  return problem;
}

v1::SuggestRequest ToSuggestRequest(const routing::RouteProblem& problem) {
  v1::SuggestRequest request;
  v1::Courier& courier = *request.mutable_courier();
  courier.set_id(problem.courier.id);
  ToProto(problem.courier.position, courier.mutable_position());
  courier.set_now(problem.courier.now);
  courier.set_vehicle_type(ToProto(problem.courier.vehicle));
  courier.set_capacity(problem.courier.capacity);
  if (problem.courier.speed_mps.has_value()) courier.set_speed_mps(*problem.courier.speed_mps);

  request.mutable_stops()->Reserve(static_cast<int>(problem.stops.size()));
  for (const routing::Stop& stop : problem.stops) {
    v1::Stop& proto_stop = *request.add_stops();
    proto_stop.set_id(stop.id);
    ToProto(stop.position, proto_stop.mutable_position());
    proto_stop.set_kind(ToProto(stop.kind));
    proto_stop.set_order_id(stop.order_id);
    if (stop.window.earliest.has_value() || stop.window.latest.has_value()) {
      v1::TimeWindow& window = *proto_stop.mutable_time_window();
      window.set_earliest(stop.window.earliest.value_or(0));
      window.set_latest(stop.window.latest.value_or(0));
    }
    proto_stop.set_service_s(stop.service_s);
    proto_stop.set_load(stop.load);
  }
  if (problem.end_position.has_value()) {
    ToProto(*problem.end_position, request.mutable_end_position());
  }
  if (problem.travel_times.has_value()) {
    const std::vector<double>& seconds = problem.travel_times->seconds;
    request.mutable_travel_time_matrix_s()->Add(seconds.begin(), seconds.end());
  }
  return request;
}

}  // namespace routeserve::api
