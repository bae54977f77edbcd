// ValidateProblem: the well-formedness checks of a RouteProblem (routing/validation.h). The
// checks run in the order of the API's fields (courier, stops one by one, end position, matrix)
// and the first failure is returned, its message starting with the field's path.
#include "routing/validation.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <unordered_map>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace routeserve::routing {
namespace {

constexpr int64_t kMaxServiceS = 24 * 60 * 60;  // one day
// Times are unix seconds up to the end of year 9999 (google.protobuf.Timestamp's range): a
// route's ETAs, a few legs later, still fit in int64 unix seconds.
constexpr int64_t kMaxUnixTime = 253'402'300'799;
// A leg of a caller's matrix takes at most this long (about 317 years): any longer is not a
// travel time, and sums of legs near the largest double overflow to infinity.
constexpr double kMaxLegS = 1e10;

absl::Status FieldError(absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", what));
}

absl::Status CheckDegrees(absl::string_view field, double degrees, double limit) {
  if (!std::isfinite(degrees)) {
    return FieldError(field, absl::StrCat(degrees, " is not a finite number"));
  }
  if (degrees < -limit || degrees > limit) {
    return FieldError(field, absl::StrCat(degrees, " is outside [-", limit, ", ", limit, "]"));
  }
  return absl::OkStatus();
}

absl::Status CheckPosition(absl::string_view field, const LatLng& position) {
  if (absl::Status status = CheckDegrees(absl::StrCat(field, ".lat_deg"), position.lat_deg, 90);
      !status.ok()) {
    return status;
  }
  return CheckDegrees(absl::StrCat(field, ".lng_deg"), position.lng_deg, 180);
}

// Unix seconds in (0, kMaxUnixTime].
absl::Status CheckUnixTime(absl::string_view field, int64_t seconds) {
  if (seconds <= 0 || seconds > kMaxUnixTime) {
    return FieldError(field,
                      absl::StrCat(seconds, " is not a unix time in (0, ", kMaxUnixTime, "]"));
  }
  return absl::OkStatus();
}

absl::Status CheckCourier(const Courier& courier) {
  if (absl::Status status = CheckPosition("courier.position", courier.position); !status.ok()) {
    return status;
  }
  if (absl::Status status = CheckUnixTime("courier.now", courier.now); !status.ok()) {
    return status;
  }
  if (courier.capacity < 0) {
    return FieldError("courier.capacity", absl::StrCat(courier.capacity, " is negative"));
  }
  if (courier.speed_mps.has_value() &&
      !(std::isfinite(*courier.speed_mps) && *courier.speed_mps >= kMinSpeedMps)) {
    return FieldError("courier.speed_mps", absl::StrCat(*courier.speed_mps, " is not a speed (>= ",
                                                        kMinSpeedMps, " m/s, finite)"));
  }
  return absl::OkStatus();
}

// Where each order's pickup and dropoff are (the first of each, when an order has several).
struct OrderStops {
  int pickup = -1;
  int dropoff = -1;
};

const char* KindName(StopKind kind) {
  switch (kind) {
    case StopKind::kPickup: return "pickup";
    case StopKind::kDropoff: return "dropoff";
    case StopKind::kVisit: return "visit";
  }
  return "stop";
}

absl::Status CheckOrderId(const std::string& path, const RouteProblem& problem, int index,
                          const std::unordered_map<std::string_view, OrderStops>& orders) {
  const Stop& stop = problem.stops[index];
  const std::string field = absl::StrCat(path, ".order_id");
  if (stop.kind == StopKind::kVisit) {
    if (!stop.order_id.empty()) {
      return FieldError(field,
                        absl::StrCat("must be empty for a visit, got \"", stop.order_id, "\""));
    }
    return absl::OkStatus();
  }
  if (stop.order_id.empty()) {
    return FieldError(field, absl::StrCat("required for a ", KindName(stop.kind)));
  }
  const OrderStops& order = orders.at(stop.order_id);
  const int first = stop.kind == StopKind::kPickup ? order.pickup : order.dropoff;
  if (first != index) {
    return FieldError(field, absl::StrCat("second ", KindName(stop.kind), " of order \"",
                                          stop.order_id, "\" (the first is stops[", first, "])"));
  }
  if (stop.kind == StopKind::kPickup && order.dropoff < 0) {
    return FieldError(field, absl::StrCat("pickup of order \"", stop.order_id,
                                          "\" has no dropoff (unpaired pickup)"));
  }
  return absl::OkStatus();
}

absl::Status CheckTimeWindow(const std::string& path, const TimeWindow& window) {
  const std::string field = absl::StrCat(path, ".time_window");
  if (window.earliest.has_value()) {
    absl::Status status = CheckUnixTime(absl::StrCat(field, ".earliest"), *window.earliest);
    if (!status.ok()) return status;
  }
  if (window.latest.has_value()) {
    absl::Status status = CheckUnixTime(absl::StrCat(field, ".latest"), *window.latest);
    if (!status.ok()) return status;
  }
  if (window.earliest.has_value() && window.latest.has_value() &&
      *window.earliest > *window.latest) {
    return FieldError(field, absl::StrCat("earliest after latest (", *window.earliest, " > ",
                                          *window.latest, ")"));
  }
  return absl::OkStatus();
}

// The stop's load; `on_board_load` accumulates the orders already on board (dropoffs without
// their pickup), which must fit in the vehicle together; `total_load` every order's load, once
// each, which must fit in an int64: the evaluator and the solvers add loads up.
absl::Status CheckLoad(const std::string& path, const RouteProblem& problem, int index,
                       const std::unordered_map<std::string_view, OrderStops>& orders,
                       int64_t& on_board_load, int64_t& total_load) {
  const Stop& stop = problem.stops[index];
  const int64_t capacity = problem.courier.capacity;
  const std::string field = absl::StrCat(path, ".load");
  if (stop.load < 0) return FieldError(field, absl::StrCat(stop.load, " is negative"));
  if (stop.kind == StopKind::kVisit) {
    if (stop.load != 0) {
      return FieldError(field, absl::StrCat("must be 0 for a visit, got ", stop.load));
    }
    return absl::OkStatus();
  }
  if (stop.load > capacity) {
    return FieldError(field, absl::StrCat("load over capacity: ", stop.load,
                                          " is above the courier's capacity ", capacity));
  }
  const OrderStops& order = orders.at(stop.order_id);
  // A pickup counts its order; a dropoff only when its pickup is not in the problem.
  if ((stop.kind == StopKind::kPickup || order.pickup < 0) &&
      __builtin_add_overflow(total_load, stop.load, &total_load)) {
    return FieldError(field, absl::StrCat("the loads of the orders up to this stop total more "
                                          "than ",
                                          std::numeric_limits<int64_t>::max()));
  }
  if (stop.kind != StopKind::kDropoff) return absl::OkStatus();
  if (order.pickup >= 0) {
    const int64_t pickup_load = problem.stops[order.pickup].load;
    if (stop.load != pickup_load) {
      return FieldError(field, absl::StrCat(stop.load, " differs from ", pickup_load,
                                            ", the load of its pickup stops[", order.pickup, "]"));
    }
    return absl::OkStatus();
  }
  // On board already. Both terms are within [0, capacity], so the subtraction cannot overflow.
  if (stop.load > capacity - on_board_load) {
    return FieldError(field,
                      absl::StrCat("load over capacity: the orders already on board total more "
                                   "than the courier's capacity ",
                                   capacity));
  }
  on_board_load += stop.load;
  return absl::OkStatus();
}

absl::Status CheckStops(const RouteProblem& problem) {
  const int n = static_cast<int>(problem.stops.size());
  if (n == 0) return FieldError("stops", "at least one stop is required");

  // Pairing is known before the stops are checked one by one, so that each error is reported
  // at its own stop, in field order.
  std::unordered_map<std::string_view, OrderStops> orders;
  for (int i = 0; i < n; ++i) {
    const Stop& stop = problem.stops[i];
    if (stop.kind == StopKind::kVisit || stop.order_id.empty()) continue;
    OrderStops& order = orders[stop.order_id];
    int& slot = stop.kind == StopKind::kPickup ? order.pickup : order.dropoff;
    if (slot < 0) slot = i;
  }

  std::unordered_map<std::string_view, int> index_of_id;
  int64_t on_board_load = 0;
  int64_t total_load = 0;
  for (int i = 0; i < n; ++i) {
    const Stop& stop = problem.stops[i];
    const std::string path = absl::StrCat("stops[", i, "]");
    if (stop.id.empty()) return FieldError(absl::StrCat(path, ".id"), "required");
    if (auto [it, inserted] = index_of_id.emplace(stop.id, i); !inserted) {
      return FieldError(absl::StrCat(path, ".id"), absl::StrCat("duplicate of stops[", it->second,
                                                                "].id (\"", stop.id, "\")"));
    }
    absl::Status status = CheckPosition(absl::StrCat(path, ".position"), stop.position);
    if (status.ok()) status = CheckOrderId(path, problem, i, orders);
    if (status.ok()) status = CheckTimeWindow(path, stop.window);
    if (status.ok() && stop.service_s < 0) {
      status = FieldError(absl::StrCat(path, ".service_s"),
                          absl::StrCat(stop.service_s, " is negative"));
    }
    if (status.ok() && stop.service_s > kMaxServiceS) {
      status = FieldError(absl::StrCat(path, ".service_s"),
                          absl::StrCat(stop.service_s, " is above one day (", kMaxServiceS, ")"));
    }
    if (status.ok()) status = CheckLoad(path, problem, i, orders, on_board_load, total_load);
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Status CheckMatrix(const RouteProblem& problem) {
  if (!problem.travel_times.has_value()) return absl::OkStatus();
  const TravelTimeMatrix& matrix = *problem.travel_times;
  constexpr absl::string_view kField = "travel_time_matrix_s";
  const bool has_end = problem.end_position.has_value();
  const int64_t side = 1 + static_cast<int64_t>(problem.stops.size()) + (has_end ? 1 : 0);
  if (matrix.side != side) {
    return FieldError(kField, absl::StrCat("side ", matrix.side, ", expected ", side,
                                           " (the courier, ", problem.stops.size(), " stops",
                                           has_end ? " and the end position)" : ")"));
  }
  const int64_t expected = side * side;
  if (static_cast<int64_t>(matrix.seconds.size()) != expected) {
    return FieldError(kField, absl::StrCat(matrix.seconds.size(), " entries, expected ", expected,
                                           " (", side, " x ", side, ")"));
  }
  for (size_t i = 0; i < matrix.seconds.size(); ++i) {
    const double seconds = matrix.seconds[i];
    if (!std::isfinite(seconds)) {
      return FieldError(absl::StrCat(kField, "[", i, "]"),
                        absl::StrCat(seconds, " is not a finite number"));
    }
    if (seconds < 0) {
      return FieldError(absl::StrCat(kField, "[", i, "]"),
                        absl::StrCat("negative (", seconds, ")"));
    }
    if (seconds > kMaxLegS) {
      return FieldError(absl::StrCat(kField, "[", i, "]"),
                        absl::StrCat(seconds, " is above the longest leg, ", kMaxLegS, " s"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateProblem(const RouteProblem& problem) {
  if (absl::Status status = CheckCourier(problem.courier); !status.ok()) return status;
  if (absl::Status status = CheckStops(problem); !status.ok()) return status;
  if (problem.end_position.has_value()) {
    if (absl::Status status = CheckPosition("end_position", *problem.end_position); !status.ok()) {
      return status;
    }
  }
  return CheckMatrix(problem);
}

}  // namespace routeserve::routing
