// Round trip of generated problems through the API: every problem the generator makes is valid,
// and ToSuggestRequest followed by ToRouteProblem (directly, over the wire format and over proto
// JSON, as the cli uses it) gives back the same problem, field by field.
#include <cstdint>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "absl/strings/str_cat.h"
#include "api/request.h"
#include "google/protobuf/util/json_util.h"
#include "routing/generator.h"
#include "routing/validation.h"

namespace routeserve::api {
namespace {

// Exact comparison: the conversion copies numbers, it never computes them.
void CheckSameProblem(const routing::RouteProblem& expected, const routing::RouteProblem& actual) {
  CHECK(actual.courier.id == expected.courier.id);
  CHECK(actual.courier.position.lat_deg == expected.courier.position.lat_deg);
  CHECK(actual.courier.position.lng_deg == expected.courier.position.lng_deg);
  CHECK(actual.courier.now == expected.courier.now);
  CHECK(actual.courier.vehicle == expected.courier.vehicle);
  CHECK(actual.courier.capacity == expected.courier.capacity);
  CHECK(actual.courier.speed_mps == expected.courier.speed_mps);
  REQUIRE(actual.stops.size() == expected.stops.size());
  for (size_t i = 0; i < expected.stops.size(); ++i) {
    INFO("stops[" << i << "]");
    const routing::Stop& want = expected.stops[i];
    const routing::Stop& got = actual.stops[i];
    CHECK(got.id == want.id);
    CHECK(got.position.lat_deg == want.position.lat_deg);
    CHECK(got.position.lng_deg == want.position.lng_deg);
    CHECK(got.kind == want.kind);
    CHECK(got.order_id == want.order_id);
    CHECK(got.window.earliest == want.window.earliest);
    CHECK(got.window.latest == want.window.latest);
    CHECK(got.service_s == want.service_s);
    CHECK(got.load == want.load);
  }
  REQUIRE(actual.end_position.has_value() == expected.end_position.has_value());
  if (expected.end_position.has_value()) {
    CHECK(actual.end_position->lat_deg == expected.end_position->lat_deg);
    CHECK(actual.end_position->lng_deg == expected.end_position->lng_deg);
  }
  REQUIRE(actual.travel_times.has_value() == expected.travel_times.has_value());
  if (expected.travel_times.has_value()) {
    CHECK(actual.travel_times->side == expected.travel_times->side);
    CHECK(actual.travel_times->seconds == expected.travel_times->seconds);
  }
}

// Every regime the generator has: windows x matrix x end position x visits, and the extremes.
std::vector<routing::GeneratorOptions> Regimes() {
  std::vector<routing::GeneratorOptions> regimes;
  for (routing::TimeWindowTightness windows :
       {routing::TimeWindowTightness::kNone, routing::TimeWindowTightness::kLoose,
        routing::TimeWindowTightness::kTight}) {
    for (bool matrix : {false, true}) {
      for (double end : {0.0, 1.0}) {
        for (double visits : {0.0, 0.3}) {
          routing::GeneratorOptions options;
          options.windows = windows;
          options.caller_matrix = matrix;
          options.end_position_probability = end;
          options.visit_share = visits;
          regimes.push_back(options);
        }
      }
    }
  }
  // The shares at their extremes: no order on board, every order on board, only visits.
  for (double on_board : {0.0, 1.0}) {
    routing::GeneratorOptions options;
    options.on_board_share = on_board;
    options.windows = routing::TimeWindowTightness::kTight;
    regimes.push_back(options);
  }
  routing::GeneratorOptions only_visits;
  only_visits.visit_share = 1.0;
  only_visits.caller_matrix = true;
  regimes.push_back(only_visits);
  return regimes;
}

std::string Describe(const routing::GeneratorOptions& options, uint64_t seed) {
  return absl::StrCat("seed ", seed, ", ", options.num_stops, " stops, windows ",
                      static_cast<int>(options.windows), ", matrix ", options.caller_matrix,
                      ", end ", options.end_position_probability, ", visits ", options.visit_share,
                      ", on board ", options.on_board_share);
}

TEST_CASE("api round trip: every generated problem is valid and converts back to itself") {
  const std::vector<int> sizes = {1, 2, 3, 7, 20, 50, 128};
  int checked = 0;
  for (const routing::GeneratorOptions& regime : Regimes()) {
    for (int size : sizes) {
      for (uint64_t seed = 0; seed < 6; ++seed) {
        routing::GeneratorOptions options = regime;
        options.num_stops = size;
        const routing::RouteProblem problem = routing::GenerateProblem(options, seed);
        INFO(Describe(options, seed));
        REQUIRE(problem.stops.size() == static_cast<size_t>(size));
        const absl::Status valid = routing::ValidateProblem(problem);
        INFO(valid.ToString());
        REQUIRE(valid.ok());

        const absl::StatusOr<routing::RouteProblem> back =
            ToRouteProblem(ToSuggestRequest(problem), RequestLimits{});
        INFO(back.status().ToString());
        REQUIRE(back.ok());
        CheckSameProblem(problem, *back);
        ++checked;
      }
    }
  }
  CHECK(checked == 27 * 7 * 6);
}

TEST_CASE("api round trip: over the wire format and proto JSON") {
  routing::GeneratorOptions options;
  options.num_stops = 30;
  options.caller_matrix = true;
  options.end_position_probability = 0.5;
  options.visit_share = 0.1;
  for (uint64_t seed = 100; seed < 120; ++seed) {
    const routing::RouteProblem problem = routing::GenerateProblem(options, seed);
    INFO(Describe(options, seed));
    const v1::SuggestRequest request = ToSuggestRequest(problem);

    v1::SuggestRequest from_wire;
    REQUIRE(from_wire.ParseFromString(request.SerializeAsString()));
    const absl::StatusOr<routing::RouteProblem> wire_back =
        ToRouteProblem(from_wire, RequestLimits{});
    REQUIRE(wire_back.ok());
    CheckSameProblem(problem, *wire_back);

    std::string json;
    google::protobuf::util::JsonPrintOptions print;
    print.preserve_proto_field_names = true;
    print.always_print_primitive_fields = true;  // as the cli prints
    REQUIRE(google::protobuf::util::MessageToJsonString(request, &json, print).ok());
    v1::SuggestRequest from_json;
    REQUIRE(google::protobuf::util::JsonStringToMessage(json, &from_json).ok());
    const absl::StatusOr<routing::RouteProblem> json_back =
        ToRouteProblem(from_json, RequestLimits{});
    INFO(json_back.status().ToString());
    REQUIRE(json_back.ok());
    CheckSameProblem(problem, *json_back);
  }
}

TEST_CASE("api round trip: a speed override and one-sided windows survive") {
  routing::RouteProblem problem;
  problem.courier = {.id = "c",
                     .position = {1.5, -2.25},
                     .now = 1'700'000'000,
                     .vehicle = routing::VehicleType::kVan,
                     .capacity = 4,
                     .speed_mps = 5.5};
  routing::Stop only_latest{.id = "a",
                            .position = {1.5, -2.2},
                            .kind = routing::StopKind::kDropoff,
                            .order_id = "o",
                            .service_s = 10,
                            .load = 4};
  only_latest.window.latest = 1'700'000'900;
  routing::Stop only_earliest{
      .id = "b", .position = {1.4, -2.2}, .kind = routing::StopKind::kVisit};
  only_earliest.window.earliest = 1'700'000'100;
  problem.stops = {only_latest, only_earliest};
  REQUIRE(routing::ValidateProblem(problem).ok());

  const v1::SuggestRequest request = ToSuggestRequest(problem);
  CHECK(request.courier().has_speed_mps());
  CHECK(request.courier().vehicle_type() == v1::VEHICLE_TYPE_VAN);
  CHECK(request.stops(0).time_window().earliest() == 0);
  CHECK(request.stops(1).time_window().latest() == 0);
  CHECK_FALSE(request.has_end_position());
  CHECK(request.travel_time_matrix_s_size() == 0);
  const absl::StatusOr<routing::RouteProblem> back = ToRouteProblem(request, RequestLimits{});
  REQUIRE(back.ok());
  CheckSameProblem(problem, *back);
}

}  // namespace
}  // namespace routeserve::api
