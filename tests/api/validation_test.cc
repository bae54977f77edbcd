// The validation table: each bad input the API names (docs/ARCHITECTURE.md, The API), as a
// small mutation of one valid request, must be INVALID_ARGUMENT with a message that starts with
// the field's path; the valid edge cases must pass. Covers api::ToRouteProblem (proto checks)
// and routing::ValidateProblem.
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "api/request.h"
#include "routing/validation.h"

namespace routeserve::api {
namespace {

constexpr int64_t kNow = 1'700'000'000;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
constexpr int64_t kYear9999Ends = 253'402'300'799;  // the latest unix time accepted

v1::Stop MakeStop(const std::string& id, double lat, double lng, v1::StopKind kind,
                  const std::string& order_id, int64_t load) {
  v1::Stop stop;
  stop.set_id(id);
  stop.mutable_position()->set_lat_deg(lat);
  stop.mutable_position()->set_lng_deg(lng);
  stop.set_kind(kind);
  stop.set_order_id(order_id);
  stop.set_load(load);
  stop.set_service_s(60);
  return stop;
}

// Six stops, capacity 6:
//   stops[0] p1  pickup  of o1 (2), ready at now+300 (no promise: latest 0)
//   stops[1] d1  dropoff of o1 (2), promised by now+3600 (no lower bound: earliest 0)
//   stops[2] d2  dropoff of o2 (1): already on board
//   stops[3] v1  visit, window [now+600, now+1800]
//   stops[4] p3  pickup  of o3 (3)
//   stops[5] d3  dropoff of o3 (3)
v1::SuggestRequest ValidRequest() {
  v1::SuggestRequest request;
  request.set_request_id("r1");
  v1::Courier& courier = *request.mutable_courier();
  courier.set_id("c1");
  courier.mutable_position()->set_lat_deg(52.52);
  courier.mutable_position()->set_lng_deg(13.405);
  courier.set_now(kNow);
  courier.set_vehicle_type(v1::VEHICLE_TYPE_BIKE);
  courier.set_capacity(6);
  *request.add_stops() = MakeStop("p1", 52.53, 13.41, v1::STOP_KIND_PICKUP, "o1", 2);
  request.mutable_stops(0)->mutable_time_window()->set_earliest(kNow + 300);
  *request.add_stops() = MakeStop("d1", 52.51, 13.39, v1::STOP_KIND_DROPOFF, "o1", 2);
  request.mutable_stops(1)->mutable_time_window()->set_latest(kNow + 3600);
  *request.add_stops() = MakeStop("d2", 52.50, 13.42, v1::STOP_KIND_DROPOFF, "o2", 1);
  *request.add_stops() = MakeStop("v1", 52.54, 13.38, v1::STOP_KIND_VISIT, "", 0);
  request.mutable_stops(3)->mutable_time_window()->set_earliest(kNow + 600);
  request.mutable_stops(3)->mutable_time_window()->set_latest(kNow + 1800);
  *request.add_stops() = MakeStop("p3", 52.52, 13.44, v1::STOP_KIND_PICKUP, "o3", 3);
  *request.add_stops() = MakeStop("d3", 52.49, 13.40, v1::STOP_KIND_DROPOFF, "o3", 3);
  return request;
}

// A valid matrix for the request as it stands: side 1 + stops (+ 1 with an end position).
void AddMatrix(v1::SuggestRequest& request) {
  const int side = 1 + request.stops_size() + (request.has_end_position() ? 1 : 0);
  request.clear_travel_time_matrix_s();
  for (int from = 0; from < side; ++from) {
    for (int to = 0; to < side; ++to)
      request.add_travel_time_matrix_s(from == to ? 0 : 60 + from + to);
  }
}

void AddVisits(v1::SuggestRequest& request, int count) {
  for (int i = 0; i < count; ++i) {
    *request.add_stops() =
        MakeStop(absl::StrCat("extra", i), 52.5, 13.4, v1::STOP_KIND_VISIT, "", 0);
  }
}

struct BadCase {
  std::string name;
  std::function<void(v1::SuggestRequest&)> mutate;
  std::string field_prefix;  // the message must start with this
};

std::vector<BadCase> BadCases() {
  using R = v1::SuggestRequest;
  return {
      // The proto's own checks.
      {"courier missing", [](R& r) { r.clear_courier(); }, "courier: required"},
      {"courier position missing", [](R& r) { r.mutable_courier()->clear_position(); },
       "courier.position: required"},
      {"vehicle type unspecified",
       [](R& r) { r.mutable_courier()->set_vehicle_type(v1::VEHICLE_TYPE_UNSPECIFIED); },
       "courier.vehicle_type: must be set"},
      {"vehicle type unknown number",
       [](R& r) { r.mutable_courier()->set_vehicle_type(static_cast<v1::VehicleType>(17)); },
       "courier.vehicle_type: unknown value 17"},
      {"stop kind unspecified",
       [](R& r) { r.mutable_stops(2)->set_kind(v1::STOP_KIND_UNSPECIFIED); },
       "stops[2].kind: must be set"},
      {"stop kind unknown number",
       [](R& r) { r.mutable_stops(2)->set_kind(static_cast<v1::StopKind>(9)); },
       "stops[2].kind: unknown value 9"},
      {"stop position missing", [](R& r) { r.mutable_stops(1)->clear_position(); },
       "stops[1].position: required"},
      {"too many stops", [](R& r) { AddVisits(r, 200 - r.stops_size()); },
       "stops: 200 stops, above the limit of 128"},
      {"too many stops is checked before anything else",
       [](R& r) {
         AddVisits(r, 200 - r.stops_size());
         r.clear_courier();
       },
       "stops: 200 stops, above the limit of 128"},
      {"too many alternatives", [](R& r) { r.mutable_options()->set_num_alternatives(9); },
       "options.num_alternatives: 9 is outside [0, 8]"},
      {"negative alternatives", [](R& r) { r.mutable_options()->set_num_alternatives(-1); },
       "options.num_alternatives:"},
      {"negative timeout", [](R& r) { r.set_timeout_s(-1); }, "timeout_s:"},
      {"NaN timeout", [](R& r) { r.set_timeout_s(kNaN); }, "timeout_s:"},
      {"infinite timeout", [](R& r) { r.set_timeout_s(kInf); }, "timeout_s:"},
      {"matrix one entry short",
       [](R& r) {
         AddMatrix(r);
         r.mutable_travel_time_matrix_s()->RemoveLast();
       },
       "travel_time_matrix_s: 48 entries, expected 49 (7 x 7)"},
      {"matrix without the end position's row and column",
       [](R& r) {
         AddMatrix(r);
         r.mutable_end_position()->set_lat_deg(52.5);
       },
       "travel_time_matrix_s: 49 entries, expected 64 (8 x 8)"},
      // The domain's checks, in field order: the courier.
      {"courier latitude above 90",
       [](R& r) { r.mutable_courier()->mutable_position()->set_lat_deg(91); },
       "courier.position.lat_deg: 91 is outside [-90, 90]"},
      {"courier latitude NaN",
       [](R& r) { r.mutable_courier()->mutable_position()->set_lat_deg(kNaN); },
       "courier.position.lat_deg:"},
      {"courier longitude below -180",
       [](R& r) { r.mutable_courier()->mutable_position()->set_lng_deg(-180.5); },
       "courier.position.lng_deg: -180.5 is outside [-180, 180]"},
      {"courier longitude infinite",
       [](R& r) { r.mutable_courier()->mutable_position()->set_lng_deg(-kInf); },
       "courier.position.lng_deg:"},
      {"courier now zero", [](R& r) { r.mutable_courier()->set_now(0); }, "courier.now:"},
      {"courier now negative", [](R& r) { r.mutable_courier()->set_now(-5); }, "courier.now:"},
      // Found with the fuzz target's properties: a now near int64's limit overflowed the
      // response's unix times.
      {"courier now after year 9999",
       [](R& r) { r.mutable_courier()->set_now(kYear9999Ends + 1); },
       "courier.now: 253402300800 is not a unix time in (0, 253402300799]"},
      {"courier now near int64's limit",
       [](R& r) { r.mutable_courier()->set_now(kInt64Max - 1000); }, "courier.now:"},
      {"negative capacity", [](R& r) { r.mutable_courier()->set_capacity(-1); },
       "courier.capacity:"},
      {"zero speed", [](R& r) { r.mutable_courier()->set_speed_mps(0); }, "courier.speed_mps:"},
      {"negative speed", [](R& r) { r.mutable_courier()->set_speed_mps(-3); },
       "courier.speed_mps:"},
      {"NaN speed", [](R& r) { r.mutable_courier()->set_speed_mps(kNaN); }, "courier.speed_mps:"},
      {"infinite speed", [](R& r) { r.mutable_courier()->set_speed_mps(kInf); },
       "courier.speed_mps:"},
      // Found by the fuzzer (corpus: invalid-found-speed-1e-293.bin): a speed near zero made
      // travel times infinite.
      {"speed below 0.01 m/s", [](R& r) { r.mutable_courier()->set_speed_mps(1e-300); },
       "courier.speed_mps: 1e-300 is not a speed (>= 0.01 m/s, finite)"},
      // The stops.
      {"no stops", [](R& r) { r.clear_stops(); }, "stops: at least one stop is required"},
      {"empty stop id", [](R& r) { r.mutable_stops(3)->clear_id(); }, "stops[3].id: required"},
      {"duplicate stop id", [](R& r) { r.mutable_stops(4)->set_id("d1"); },
       "stops[4].id: duplicate of stops[1].id (\"d1\")"},
      {"stop latitude out of range",
       [](R& r) { r.mutable_stops(3)->mutable_position()->set_lat_deg(-91); },
       "stops[3].position.lat_deg: -91 is outside [-90, 90]"},
      {"stop longitude NaN",
       [](R& r) { r.mutable_stops(3)->mutable_position()->set_lng_deg(kNaN); },
       "stops[3].position.lng_deg:"},
      {"pickup without order id", [](R& r) { r.mutable_stops(0)->clear_order_id(); },
       "stops[0].order_id: required for a pickup"},
      {"dropoff without order id", [](R& r) { r.mutable_stops(2)->clear_order_id(); },
       "stops[2].order_id: required for a dropoff"},
      {"visit with an order id", [](R& r) { r.mutable_stops(3)->set_order_id("o1"); },
       "stops[3].order_id: must be empty for a visit"},
      {"second pickup of an order", [](R& r) { r.mutable_stops(4)->set_order_id("o1"); },
       "stops[4].order_id: second pickup of order \"o1\""},
      {"second dropoff of an order", [](R& r) { r.mutable_stops(2)->set_order_id("o1"); },
       "stops[2].order_id: second dropoff of order \"o1\""},
      {"unpaired pickup", [](R& r) { r.mutable_stops(4)->set_order_id("o9"); },
       "stops[4].order_id: pickup of order \"o9\" has no dropoff"},
      {"time window earliest after latest",
       [](R& r) { r.mutable_stops(3)->mutable_time_window()->set_earliest(kNow + 1801); },
       "stops[3].time_window: earliest after latest"},
      {"time window earliest before 1970",
       [](R& r) { r.mutable_stops(0)->mutable_time_window()->set_earliest(-5); },
       "stops[0].time_window.earliest:"},
      {"time window latest before 1970",
       [](R& r) { r.mutable_stops(1)->mutable_time_window()->set_latest(-1); },
       "stops[1].time_window.latest:"},
      // Found with the fuzz target's properties: a window opening near int64's limit
      // overflowed the ETAs.
      {"time window earliest after year 9999",
       [](R& r) { r.mutable_stops(0)->mutable_time_window()->set_earliest(kInt64Max - 1000); },
       "stops[0].time_window.earliest:"},
      {"time window latest after year 9999",
       [](R& r) { r.mutable_stops(1)->mutable_time_window()->set_latest(kYear9999Ends + 1); },
       "stops[1].time_window.latest: 253402300800 is not a unix time"},
      {"negative service time", [](R& r) { r.mutable_stops(5)->set_service_s(-1); },
       "stops[5].service_s:"},
      {"service time above a day", [](R& r) { r.mutable_stops(5)->set_service_s(86'401); },
       "stops[5].service_s:"},
      {"negative load", [](R& r) { r.mutable_stops(2)->set_load(-1); }, "stops[2].load:"},
      {"visit with a load", [](R& r) { r.mutable_stops(3)->set_load(1); }, "stops[3].load:"},
      {"dropoff load differs from its pickup's", [](R& r) { r.mutable_stops(1)->set_load(3); },
       "stops[1].load:"},
      {"pickup load differs from its dropoff's", [](R& r) { r.mutable_stops(0)->set_load(1); },
       "stops[1].load:"},
      {"order load over capacity",
       [](R& r) {
         r.mutable_stops(4)->set_load(7);
         r.mutable_stops(5)->set_load(7);
       },
       "stops[4].load: load over capacity"},
      {"on-board order over capacity", [](R& r) { r.mutable_stops(2)->set_load(7); },
       "stops[2].load: load over capacity"},
      // Found with the fuzz target's properties: loads that each fit in the vehicle but
      // overflow int64 together (undefined behaviour in the solver's load bookkeeping).
      {"orders' loads together above int64's limit",
       [](R& r) {
         r.mutable_courier()->set_capacity(kInt64Max);
         r.mutable_stops(4)->set_load(kInt64Max);
         r.mutable_stops(5)->set_load(kInt64Max);
       },
       "stops[4].load: the loads of the orders up to this stop total more than "
       "9223372036854775807"},
      {"orders on board together over capacity",
       [](R& r) {
         // o3's pickup becomes o4's dropoff: o2 (1) + o4 (3) + o3 (3) = 7 on board, capacity 6.
         r.mutable_stops(4)->set_kind(v1::STOP_KIND_DROPOFF);
         r.mutable_stops(4)->set_order_id("o4");
       },
       "stops[5].load: load over capacity"},
      {"end position out of range", [](R& r) { r.mutable_end_position()->set_lat_deg(-90.5); },
       "end_position.lat_deg: -90.5 is outside [-90, 90]"},
      {"end position longitude NaN",
       [](R& r) {
         r.mutable_end_position()->set_lat_deg(52.5);
         r.mutable_end_position()->set_lng_deg(kNaN);
       },
       "end_position.lng_deg:"},
      // The matrix's entries.
      {"negative matrix entry",
       [](R& r) {
         AddMatrix(r);
         r.set_travel_time_matrix_s(7, -1);
       },
       "travel_time_matrix_s[7]: negative"},
      {"NaN matrix entry",
       [](R& r) {
         AddMatrix(r);
         r.set_travel_time_matrix_s(12, kNaN);
       },
       "travel_time_matrix_s[12]:"},
      {"infinite matrix entry",
       [](R& r) {
         AddMatrix(r);
         r.set_travel_time_matrix_s(48, kInf);
       },
       "travel_time_matrix_s[48]:"},
      // Found by the fuzzer (corpus: invalid-found-matrix-legs-1e21.bin): legs so long that a
      // route's times no longer fit in unix seconds, or summed to infinity.
      {"matrix entry above the longest leg",
       [](R& r) {
         AddMatrix(r);
         r.set_travel_time_matrix_s(7, 1e308);
       },
       "travel_time_matrix_s[7]: 1e+308 is above the longest leg, 1e+10 s"},
      // Two errors at once: the first in field order wins.
      {"the courier comes before the stops",
       [](R& r) {
         r.mutable_stops(0)->set_service_s(-1);
         r.mutable_courier()->set_capacity(-1);
       },
       "courier.capacity:"},
      {"an earlier stop comes before a later one",
       [](R& r) {
         r.mutable_stops(3)->mutable_time_window()->set_earliest(kNow + 1801);
         r.mutable_stops(1)->set_service_s(-1);
       },
       "stops[1].service_s:"},
      {"a stop's fields come in the proto's order",
       [](R& r) {
         r.mutable_stops(3)->set_load(1);
         r.mutable_stops(3)->mutable_time_window()->set_earliest(kNow + 1801);
       },
       "stops[3].time_window:"},
      {"the stops come before the matrix",
       [](R& r) {
         AddMatrix(r);
         r.set_travel_time_matrix_s(1, -1);
         r.mutable_stops(5)->set_load(-1);
       },
       "stops[5].load:"},
  };
}

TEST_CASE("Validation: the base request of the table is valid") {
  const absl::StatusOr<routing::RouteProblem> problem =
      ToRouteProblem(ValidRequest(), RequestLimits{});
  INFO(problem.status().ToString());
  REQUIRE(problem.ok());
}

TEST_CASE("Validation: every bad request is INVALID_ARGUMENT naming its field") {
  for (const BadCase& bad : BadCases()) {
    v1::SuggestRequest request = ValidRequest();
    bad.mutate(request);
    const absl::StatusOr<routing::RouteProblem> problem = ToRouteProblem(request, RequestLimits{});
    INFO(bad.name << ": " << problem.status().ToString());
    CHECK(problem.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(absl::StartsWith(problem.status().message(), bad.field_prefix));
  }
}

TEST_CASE("Validation: the stop limit comes from the limits") {
  v1::SuggestRequest request = ValidRequest();
  CHECK(ToRouteProblem(request, RequestLimits{.max_stops = 6}).ok());
  const absl::Status status = ToRouteProblem(request, RequestLimits{.max_stops = 5}).status();
  CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  CHECK(status.message() == "stops: 6 stops, above the limit of 5");

  AddVisits(request, 128 - request.stops_size());
  CHECK(ToRouteProblem(request, RequestLimits{}).ok());
}

struct ValidCase {
  std::string name;
  std::function<void(v1::SuggestRequest&)> mutate;
};

TEST_CASE("Validation: valid edge cases pass") {
  using R = v1::SuggestRequest;
  const std::vector<ValidCase> cases = {
      {"dropoff before its pickup in request order",
       [](R& r) { r.mutable_stops()->SwapElements(0, 1); }},
      {"end position and a matrix of the right size",
       [](R& r) {
         r.mutable_end_position()->set_lat_deg(52.5);
         r.mutable_end_position()->set_lng_deg(13.4);
         AddMatrix(r);
       }},
      {"matrix without an end position", [](R& r) { AddMatrix(r); }},
      {"both window sides 0", [](R& r) { r.mutable_stops(3)->mutable_time_window()->Clear(); }},
      {"earliest equal to latest",
       [](R& r) { r.mutable_stops(3)->mutable_time_window()->set_earliest(kNow + 1800); }},
      {"coordinates on the limits",
       [](R& r) {
         r.mutable_courier()->mutable_position()->set_lat_deg(90);
         r.mutable_courier()->mutable_position()->set_lng_deg(-180);
         r.mutable_stops(3)->mutable_position()->set_lat_deg(-90);
         r.mutable_stops(3)->mutable_position()->set_lng_deg(180);
       }},
      {"service of exactly one day", [](R& r) { r.mutable_stops(5)->set_service_s(86'400); }},
      {"orders on board filling the vehicle exactly",
       [](R& r) { r.mutable_stops(2)->set_load(6); }},
      {"an order as large as the vehicle",
       [](R& r) {
         r.mutable_stops(4)->set_load(6);
         r.mutable_stops(5)->set_load(6);
       }},
      {"zero capacity with zero loads",
       [](R& r) {
         r.mutable_courier()->set_capacity(0);
         for (v1::Stop& stop : *r.mutable_stops()) stop.set_load(0);
       }},
      {"a speed override", [](R& r) { r.mutable_courier()->set_speed_mps(3.5); }},
      {"the slowest speed override", [](R& r) { r.mutable_courier()->set_speed_mps(0.01); }},
      {"now and windows at the end of year 9999",
       [](R& r) {
         r.mutable_courier()->set_now(kYear9999Ends - 3600);
         r.mutable_stops(3)->mutable_time_window()->set_earliest(kYear9999Ends);
         r.mutable_stops(3)->mutable_time_window()->set_latest(kYear9999Ends);
       }},
      {"a matrix of the longest legs",
       [](R& r) {
         AddMatrix(r);
         for (double& seconds : *r.mutable_travel_time_matrix_s()) {
           if (seconds != 0) seconds = 1e10;
         }
       }},
      {"orders' loads totalling int64's limit",
       [](R& r) {
         r.mutable_courier()->set_capacity(kInt64Max);
         r.mutable_stops(4)->set_load(kInt64Max - 3);  // o1 (2) and o2 (1) make the rest
         r.mutable_stops(5)->set_load(kInt64Max - 3);
       }},
      {"the most alternatives", [](R& r) { r.mutable_options()->set_num_alternatives(8); }},
      {"a zero timeout", [](R& r) { r.set_timeout_s(0); }},
      {"a single visit",
       [](R& r) {
         r.clear_stops();
         *r.add_stops() = MakeStop("only", 52.5, 13.4, v1::STOP_KIND_VISIT, "", 0);
       }},
      {"a single on-board dropoff",
       [](R& r) {
         r.clear_stops();
         *r.add_stops() = MakeStop("only", 52.5, 13.4, v1::STOP_KIND_DROPOFF, "o1", 2);
       }},
  };
  for (const ValidCase& valid : cases) {
    v1::SuggestRequest request = ValidRequest();
    valid.mutate(request);
    const absl::StatusOr<routing::RouteProblem> problem = ToRouteProblem(request, RequestLimits{});
    INFO(valid.name << ": " << problem.status().ToString());
    CHECK(problem.ok());
  }
}

TEST_CASE("Validation: the conversion reads 0 and absence as unbounded and keeps the rest") {
  const absl::StatusOr<routing::RouteProblem> converted =
      ToRouteProblem(ValidRequest(), RequestLimits{});
  REQUIRE(converted.ok());
  const routing::RouteProblem& problem = *converted;
  CHECK(problem.courier.id == "c1");
  CHECK(problem.courier.now == kNow);
  CHECK(problem.courier.vehicle == routing::VehicleType::kBike);
  CHECK(problem.courier.capacity == 6);
  CHECK_FALSE(problem.courier.speed_mps.has_value());
  REQUIRE(problem.stops.size() == 6);
  CHECK(problem.stops[0].kind == routing::StopKind::kPickup);
  CHECK(problem.stops[0].window.earliest == kNow + 300);
  CHECK_FALSE(problem.stops[0].window.latest.has_value());
  CHECK_FALSE(problem.stops[1].window.earliest.has_value());
  CHECK(problem.stops[1].window.latest == kNow + 3600);
  CHECK_FALSE(problem.stops[2].window.earliest.has_value());  // no time_window at all
  CHECK_FALSE(problem.stops[2].window.latest.has_value());
  CHECK(problem.stops[3].kind == routing::StopKind::kVisit);
  CHECK(problem.stops[3].window.earliest == kNow + 600);
  CHECK(problem.stops[3].window.latest == kNow + 1800);
  CHECK(problem.stops[5].load == 3);
  CHECK_FALSE(problem.end_position.has_value());
  CHECK_FALSE(problem.travel_times.has_value());

  v1::SuggestRequest with_end = ValidRequest();
  with_end.mutable_end_position()->set_lat_deg(52.5);
  with_end.mutable_end_position()->set_lng_deg(13.4);
  AddMatrix(with_end);
  const absl::StatusOr<routing::RouteProblem> ending = ToRouteProblem(with_end, RequestLimits{});
  REQUIRE(ending.ok());
  REQUIRE(ending->travel_times.has_value());
  CHECK(ending->travel_times->side == 8);
  CHECK(ending->travel_times->seconds.size() == 64);
  CHECK(ending->travel_times->seconds[1] == 61);
}

// Errors only a RouteProblem built in code can have: the proto derives the side from the stops
// and has no way to say "window side at 0".
TEST_CASE("ValidateProblem: matrix side and window sides that the proto cannot express") {
  const absl::StatusOr<routing::RouteProblem> converted =
      ToRouteProblem(ValidRequest(), RequestLimits{});
  REQUIRE(converted.ok());
  routing::RouteProblem problem = *converted;
  REQUIRE(routing::ValidateProblem(problem).ok());

  SECTION("a matrix whose side does not match the stops") {
    problem.travel_times = routing::TravelTimeMatrix{6, std::vector<double>(36, 1.0)};
    const absl::Status status = routing::ValidateProblem(problem);
    CHECK(status.code() == absl::StatusCode::kInvalidArgument);
    CHECK(absl::StartsWith(status.message(), "travel_time_matrix_s: side 6, expected 7"));
  }
  SECTION("a matrix whose entries do not fill its side") {
    problem.travel_times = routing::TravelTimeMatrix{7, std::vector<double>(24, 1.0)};
    const absl::Status status = routing::ValidateProblem(problem);
    CHECK(status.message() == "travel_time_matrix_s: 24 entries, expected 49 (7 x 7)");
  }
  SECTION("a window side at 0") {
    problem.stops[2].window.latest = 0;
    const absl::Status status = routing::ValidateProblem(problem);
    CHECK(absl::StartsWith(status.message(), "stops[2].time_window.latest:"));
  }
  SECTION("a right-sized matrix passes") {
    problem.travel_times = routing::TravelTimeMatrix{7, std::vector<double>(49, 0.0)};
    CHECK(routing::ValidateProblem(problem).ok());
  }
}

}  // namespace
}  // namespace routeserve::api
