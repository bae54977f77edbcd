// capture/request_capture.h: what a captured line holds, the sample, rotation, and captures
// dropped rather than waited for when the file cannot be written.
#include "capture/request_capture.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "route_checks.h"
#include "tests/eventually.h"
#include "tests/temp_dir.h"

namespace routeserve::capture {
namespace {

using testing::TempDir;

std::vector<std::string> LinesOf(const std::filesystem::path& path) {
  std::vector<std::string> lines;
  std::ifstream file(path);
  for (std::string line; std::getline(file, line);) lines.push_back(line);
  return lines;
}

planning::PlanResult Answer(int stops, double cost) {
  planning::PlanResult result;
  for (int stop = stops - 1; stop >= 0; --stop) result.order.push_back(stop);
  result.evaluation.cost = cost;
  result.source = planning::RouteSource::kModelRefined;
  result.model_version = "couriers/3-1a2b3c4d5e6f";
  return result;
}

config::Config::Capture Settings(const std::filesystem::path& path, double ratio = 1,
                                 int64_t max_file_bytes = 256 << 20) {
  return {.path = path.string(), .sample_ratio = ratio, .max_file_bytes = max_file_bytes};
}

// A capture that must start.
std::unique_ptr<RequestCapture> Started(const config::Config::Capture& settings) {
  absl::StatusOr<std::unique_ptr<RequestCapture>> capture = RequestCapture::Start(settings);
  INFO(capture.status().ToString());
  REQUIRE(capture.ok());
  return *std::move(capture);
}

TEST_CASE("a captured line holds the request as sent and the route served", "[capture]") {
  TempDir dir;
  const std::filesystem::path path = dir.path() / "captured.jsonl";
  const v1::SuggestRequest request =
      testing::MakeRequest(routing::GeneratorOptions{}, 12, 7, "courier-7");
  {
    const std::unique_ptr<RequestCapture> capture = Started(Settings(path));
    REQUIRE(capture != nullptr);
    Ticket ticket = capture->Draw(request);
    REQUIRE(ticket.drawn());
    capture->Record(std::move(ticket), Answer(12, 1234.5));
  }  // the destructor writes what is pending
  const std::vector<std::string> lines = LinesOf(path);
  REQUIRE(lines.size() == 1);

  google::protobuf::Struct line;
  REQUIRE(google::protobuf::util::JsonStringToMessage(lines[0], &line).ok());
  const auto& fields = line.fields();
  std::string request_json;
  REQUIRE(google::protobuf::util::MessageToJsonString(fields.at("request"), &request_json).ok());
  v1::SuggestRequest read_back;
  REQUIRE(google::protobuf::util::JsonStringToMessage(request_json, &read_back).ok());
  CHECK(google::protobuf::util::MessageDifferencer::Equals(read_back, request));
  // The .proto's field names, as the training data's requests have them.
  CHECK(lines[0].find("\"request_id\":\"courier-7\"") != std::string::npos);

  const auto& served = fields.at("served").struct_value().fields();
  REQUIRE(served.at("order").list_value().values_size() == 12);
  CHECK(served.at("order").list_value().values(0).number_value() == 11);
  CHECK(served.at("cost").number_value() == 1234.5);
  CHECK(served.at("source").string_value() == "ROUTE_SOURCE_MODEL_REFINED");
  CHECK(served.at("model_version").string_value() == "couriers/3-1a2b3c4d5e6f");
  CHECK(fields.at("captured_at").string_value().size() == 24);  // 2026-12-07T19:30:00.123Z
}

TEST_CASE("capture is off without a path or a ratio, and draws about its ratio", "[capture]") {
  TempDir dir;
  CHECK(Started(Settings("")) == nullptr);
  CHECK(Started(Settings(dir.path() / "c.jsonl", 0)) == nullptr);

  const std::unique_ptr<RequestCapture> capture = Started(Settings(dir.path() / "c.jsonl", 0.25));
  REQUIRE(capture != nullptr);
  const v1::SuggestRequest request =
      testing::MakeRequest(routing::GeneratorOptions{}, 5, 1, "courier");
  int drawn = 0;
  for (int i = 0; i < 4000; ++i) drawn += capture->Draw(request).drawn();
  // 1000 expected; 5 standard deviations (27) either side.
  CHECK(drawn > 860);
  CHECK(drawn < 1140);
  capture->Record(Ticket{}, Answer(5, 1));  // not drawn: nothing recorded
  CHECK(capture->counts().written == 0);
  CHECK(capture->counts().dropped == 0);
}

TEST_CASE("a file about to pass max_file_bytes becomes PATH.1 and a new one begins",
          "[capture]") {
  TempDir dir;
  const std::filesystem::path path = dir.path() / "captured.jsonl";
  const v1::SuggestRequest request =
      testing::MakeRequest(routing::GeneratorOptions{}, 100, 3, "big");
  int64_t line_bytes = 0;
  {
    const std::unique_ptr<RequestCapture> capture =
        Started(Settings(path, 1, /*max_file_bytes=*/1 << 20));
    capture->Record(capture->Draw(request), Answer(100, 1));
    REQUIRE(testing::Eventually([&] { return capture->counts().written == 1; },
                                absl::Seconds(60)));
    line_bytes = static_cast<int64_t>(std::filesystem::file_size(path));
    const int64_t lines = 2 * (1 << 20) / line_bytes + 2;  // past one rotation, not two
    for (int64_t i = 1; i < lines; ++i) capture->Record(capture->Draw(request), Answer(100, 1));
  }
  const std::vector<std::string> current = LinesOf(path);
  const std::vector<std::string> rotated = LinesOf(path.string() + ".1");
  CHECK(!current.empty());
  CHECK(static_cast<int64_t>(rotated.size()) == (1 << 20) / line_bytes);
  CHECK(std::filesystem::file_size(path) <= (1 << 20));
  CHECK(std::filesystem::file_size(path.string() + ".1") <= (1 << 20));
  for (const std::string& line : rotated) CHECK(line.back() == '}');
}

TEST_CASE("a file that cannot be opened is refused naming capture.path", "[capture]") {
  TempDir dir;
  const std::filesystem::path path = dir.path() / "no such directory" / "captured.jsonl";
  const absl::StatusOr<std::unique_ptr<RequestCapture>> capture =
      RequestCapture::Start(Settings(path));
  REQUIRE_FALSE(capture.ok());
  CHECK(capture.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(capture.status().message() ==
        "capture.path: cannot open \"" + path.string() + "\": No such file or directory");
}

TEST_CASE("captures that cannot be written are dropped and counted, and serving is not held",
          "[capture]") {
  // A full disk: /dev/full takes the open and refuses every write. Never rotated: not a
  // regular file.
  const v1::SuggestRequest request =
      testing::MakeRequest(routing::GeneratorOptions{}, 8, 1, "courier");
  const std::unique_ptr<RequestCapture> capture =
      Started(Settings("/dev/full", 1, /*max_file_bytes=*/1 << 20));
  for (int i = 0; i < 3; ++i) capture->Record(capture->Draw(request), Answer(8, 1));
  CHECK(testing::Eventually([&] { return capture->counts().dropped == 3; }, absl::Seconds(60)));
  CHECK(capture->counts().written == 0);
  CHECK(capture->counts().rotations == 0);
  CHECK(std::filesystem::exists("/dev/full"));
}

}  // namespace
}  // namespace routeserve::capture
