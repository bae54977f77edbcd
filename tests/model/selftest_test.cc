// selftest.json's format (model/selftest.h): a sealed test model's file reads back as the
// recipe wrote it, and a malformed one is refused naming the field.
#include "model/selftest.h"

#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "routing/validation.h"

namespace routeserve::model {
namespace {

std::string ReadText(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  REQUIRE(file.good());
  return std::string((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
}

constexpr char kOneCase[] = R"({"format": 1, "decodings": 2, "cases": [
{"name": "case 0: 2 stops", "padded_size": 8, "cost": 431.5, "problem": {
  "courier": {"lat_deg": 52.5, "lng_deg": 13.4, "now": 1700000000, "vehicle": "bike",
              "capacity": 3},
  "stops": [
    {"id": "p", "lat_deg": 52.51, "lng_deg": 13.41, "kind": "pickup", "order_id": "o",
     "earliest": 1700000300, "service_s": 60, "load": 1},
    {"id": "d", "lat_deg": 52.52, "lng_deg": 13.39, "kind": "dropoff", "order_id": "o",
     "latest": 1700002000, "service_s": 30, "load": 1}],
  "end_position": {"lat_deg": 52.5, "lng_deg": 13.42},
  "travel_times_s": [0, 1, 2, 3, 4, 0, 5, 6, 7, 8, 0, 9, 10, 11, 12, 0]}}
]}
)";

TEST_CASE("a model self-test's problems read back as routing::RouteProblem", "[selftest]") {
  const absl::StatusOr<SelfTest> selftest = ParseSelfTest(kOneCase, "s.json");
  INFO(selftest.status().ToString());
  REQUIRE(selftest.ok());
  CHECK(selftest->decodings == 2);
  REQUIRE(selftest->cases.size() == 1);
  const SelfTestCase& c = selftest->cases[0];
  CHECK(c.name == "case 0: 2 stops");
  CHECK(c.padded_size == 8);
  CHECK(c.cost == 431.5);
  const routing::RouteProblem& problem = c.problem;
  CHECK(problem.courier.position.lat_deg == 52.5);
  CHECK(problem.courier.now == 1700000000);
  CHECK(problem.courier.vehicle == routing::VehicleType::kBike);
  CHECK(problem.courier.capacity == 3);
  CHECK_FALSE(problem.courier.speed_mps.has_value());
  REQUIRE(problem.stops.size() == 2);
  CHECK(problem.stops[0].kind == routing::StopKind::kPickup);
  CHECK(problem.stops[0].window.earliest == 1700000300);
  CHECK_FALSE(problem.stops[0].window.latest.has_value());
  CHECK(problem.stops[1].kind == routing::StopKind::kDropoff);
  CHECK(problem.stops[1].window.latest == 1700002000);
  CHECK(problem.stops[1].service_s == 30);
  CHECK(problem.end_position->lng_deg == 13.42);
  REQUIRE(problem.travel_times.has_value());
  CHECK(problem.travel_times->side == 4);
  CHECK(problem.travel_times->seconds[4] == 4);
  CHECK(routing::ValidateProblem(problem).ok());
}

TEST_CASE("a sealed test model's self-test: every problem well formed, the largest at its "
          "max_stops",
          "[selftest]") {
  const std::string path = std::string(ROUTESERVE_TEST_MODELS_DIR) + "/nearest/selftest.json";
  const absl::StatusOr<SelfTest> selftest = ParseSelfTest(ReadText(path), path);
  INFO(selftest.status().ToString());
  REQUIRE(selftest.ok());
  CHECK(selftest->decodings == 8);
  CHECK(selftest->cases.size() == 14);
  for (const SelfTestCase& c : selftest->cases) {
    INFO(c.name);
    CHECK(routing::ValidateProblem(c.problem).ok());
    CHECK(c.padded_size >= static_cast<int>(c.problem.stops.size()));
  }
  ModelMetadata metadata;
  metadata.max_stops = 128;
  CHECK(CheckSelfTestReach(*selftest, metadata, path).ok());
  metadata.max_stops = 129;
  CHECK(CheckSelfTestReach(*selftest, metadata, path).code() ==
        absl::StatusCode::kFailedPrecondition);
}

TEST_CASE("a malformed model self-test is refused, naming the field", "[selftest]") {
  struct Case {
    std::string from, to, message;
  };
  for (const Case& c : std::vector<Case>{
           {"\"format\": 1", "\"format\": 2", "s.json: format: this server reads format 1, got 2"},
           {"\"decodings\": 2", "\"decodings\": 0", "s.json: decodings: must be >= 1, got 0"},
           {"\"kind\": \"pickup\"", "\"kind\": \"parcel\"",
            "s.json: cases[0].problem.stops[0].kind: expected pickup, dropoff or visit, got "
            "\"parcel\""},
           {"\"vehicle\": \"bike\"", "\"vehicle\": \"boat\"",
            "s.json: cases[0].problem.courier.vehicle: expected bike, scooter, car or van"},
           {"\"lat_deg\": 52.52", "\"lat_deg\": \"north\"",
            "s.json: cases[0].problem.stops[1].lat_deg: expected a number, got \"north\""},
           {"\"service_s\": 30", "\"service_s\": -30",
            "s.json: cases[0].problem.stops[1].service_s: must be >= 0, got -30"},
           {"11, 12, 0]", "11, 12]",
            "s.json: cases[0].problem.travel_times_s: expected 4 x 4 entries, got 15"},
           {"\"cost\": 431.5, ", "", "s.json: cases[0].cost: missing"},
           {"\"padded_size\": 8", "\"padded_size\": [8]",
            "s.json: cases[0].padded_size: expected an integer, got a list"},
           {"\"cases\": [", "\"cases\": [], \"old\": [", "s.json: cases: empty"},
           {"\"format\": 1,", "\"format\": 1", "s.json: syntax error at line 1"},
       }) {
    std::string text = kOneCase;
    const size_t at = text.find(c.from);
    REQUIRE(at != std::string::npos);
    text.replace(at, c.from.size(), c.to);
    const absl::StatusOr<SelfTest> selftest = ParseSelfTest(text, "s.json");
    INFO(text);
    REQUIRE_FALSE(selftest.ok());
    INFO(selftest.status().message());
    CHECK(selftest.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(absl::StartsWith(selftest.status().message(), c.message));
  }
  CHECK(ParseSelfTest("[1]", "s.json").status().message() ==
        "s.json: expected a map of keys, got a list");
}

}  // namespace
}  // namespace routeserve::model
