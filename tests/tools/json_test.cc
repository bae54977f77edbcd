// tools/common/json.h: reports printed by protobuf's JSON printer, keys sorted, non-finite
// numbers as null, messages nested as protobuf's JSON mapping writes them.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "routeserve/v1/route_service.pb.h"
#include "tools/common/json.h"

namespace routeserve::tools::json {
namespace {

std::string Print(const Value& value, Layout layout = Layout::kOneLine) {
  const absl::StatusOr<std::string> text = ToJson(value, layout);
  REQUIRE(text.ok());
  return *text;
}

TEST_CASE("ToJson: keys in alphabetical order, whatever order they were set in") {
  const Value value = Object()
                          .Set("zeta", Number(1))
                          .Set("alpha", String("a"))
                          .Set("mid", Object().Set("b", Bool(true)).Set("a", Bool(false)).Build())
                          .Build();
  CHECK(Print(value) == R"({"alpha":"a","mid":{"a":false,"b":true},"zeta":1})");
  CHECK(Print(value, Layout::kIndented) ==
        "{\n \"alpha\": \"a\",\n \"mid\": {\n  \"a\": false,\n  \"b\": true\n },\n"
        " \"zeta\": 1\n}\n");
}

TEST_CASE("ToJson: numbers exact, integers without a fraction, non-finite ones null") {
  const Value value = Object()
                          .Set("count", Number(1'000'003'000'017))
                          .Set("share", Number(0.1))
                          .Set("cost", Number(1234.5678901234567))
                          .Set("nan", Number(std::nan("")))
                          .Set("inf", Number(std::numeric_limits<double>::infinity()))
                          .Set("order", NumberList(std::vector<int>{3, 0, 2}))
                          .Build();
  CHECK(Print(value) == R"({"cost":1234.5678901234567,"count":1000003000017,"inf":null,)"
                        R"("nan":null,"order":[3,0,2],"share":0.1})");
}

TEST_CASE("ToJson: strings escaped") {
  CHECK(Print(List({String("a \"quoted\"\nline\\"), String(std::string("\x01", 1))})) ==
        R"(["a \"quoted\"\nline\\","\u0001"])");
}

TEST_CASE("FromMessage: a message nested as protobuf's JSON mapping writes it") {
  v1::SuggestRequest request;
  request.set_request_id("r-1");
  request.mutable_courier()->set_capacity(7);
  const absl::StatusOr<Value> snake = FromMessage(request, /*preserve_proto_field_names=*/true);
  REQUIRE(snake.ok());
  // int64 fields are strings in protobuf's JSON.
  CHECK(Print(*snake) == R"({"courier":{"capacity":"7"},"request_id":"r-1"})");
  const absl::StatusOr<Value> camel = FromMessage(request, /*preserve_proto_field_names=*/false);
  REQUIRE(camel.ok());
  CHECK(Print(*camel) == R"({"courier":{"capacity":"7"},"requestId":"r-1"})");
}

}  // namespace
}  // namespace routeserve::tools::json
