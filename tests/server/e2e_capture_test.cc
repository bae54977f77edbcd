// End to end, capture.*: requests answered over Suggest and SuggestStream are captured with the
// routes they got, and counted on /metrics.
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "e2e_support.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "http_client.h"
#include "route_checks.h"
#include "scrape.h"
#include "tests/eventually.h"
#include "tests/temp_dir.h"

namespace routeserve::testing {
namespace {

std::vector<std::string> LinesOf(const std::filesystem::path& path) {
  std::vector<std::string> lines;
  std::ifstream file(path);
  for (std::string line; std::getline(file, line);) lines.push_back(line);
  return lines;
}

// The route's stop indices in the request, in visiting order.
std::vector<int> OrderOf(const v1::SuggestRequest& request, const v1::Route& route) {
  std::map<std::string, int> index;
  for (int stop = 0; stop < request.stops_size(); ++stop) index[request.stops(stop).id()] = stop;
  std::vector<int> order;
  for (const v1::RouteStep& step : route.steps()) order.push_back(index.at(step.stop_id()));
  return order;
}

TEST_CASE("answered requests are captured with their routes, over both methods", "[e2e]") {
  TempDir dir;
  const std::filesystem::path path = dir.path() / "captured.jsonl";
  TestServer t = StartServer(
      TestConfig({"capture.path=" + path.string(), "capture.sample_ratio=1"}));

  std::map<std::string, std::pair<v1::SuggestRequest, std::vector<int>>> sent;  // by request_id
  for (int i = 0; i < 3; ++i) {
    const v1::SuggestRequest request =
        MakeRequest(routing::GeneratorOptions{}, 6 + i, 40 + i, absl::StrCat("unary-", i));
    v1::SuggestResponse response;
    auto context = GuardedContext();
    REQUIRE(t.stub->Suggest(context.get(), request, &response).ok());
    sent[request.request_id()] = {request, OrderOf(request, response.route())};
  }
  {
    auto context = GuardedContext();
    auto stream = t.stub->SuggestStream(context.get());
    std::map<std::string, v1::SuggestRequest> written;
    for (int i = 0; i < 2; ++i) {
      const v1::SuggestRequest request =
          MakeRequest(routing::GeneratorOptions{}, 9, 60 + i, absl::StrCat("stream-", i));
      REQUIRE(stream->Write(request));
      written[request.request_id()] = request;
    }
    stream->WritesDone();
    v1::SuggestResponse response;
    while (stream->Read(&response)) {
      const v1::SuggestRequest& request = written.at(response.request_id());
      sent[response.request_id()] = {request, OrderOf(request, response.route())};
    }
    REQUIRE(stream->Finish().ok());
  }
  // A refused request is not captured.
  v1::SuggestRequest bad = MakeRequest(routing::GeneratorOptions{}, 5, 1, "bad");
  bad.mutable_stops(0)->mutable_position()->set_lat_deg(123);
  v1::SuggestResponse ignored;
  auto context = GuardedContext();
  CHECK(t.stub->Suggest(context.get(), bad, &ignored).error_code() ==
        grpc::StatusCode::INVALID_ARGUMENT);

  REQUIRE(Eventually([&] { return LinesOf(path).size() >= 5; }, kGuard));
  const std::vector<std::string> lines = LinesOf(path);
  REQUIRE(lines.size() == 5);
  std::set<std::string> seen;
  for (const std::string& text : lines) {
    google::protobuf::Struct line;
    REQUIRE(google::protobuf::util::JsonStringToMessage(text, &line).ok());
    std::string request_json;
    REQUIRE(google::protobuf::util::MessageToJsonString(line.fields().at("request"),
                                                        &request_json)
                .ok());
    v1::SuggestRequest request;
    REQUIRE(google::protobuf::util::JsonStringToMessage(request_json, &request).ok());
    INFO(request.request_id());
    REQUIRE(sent.count(request.request_id()) == 1);
    const auto& [original, order] = sent.at(request.request_id());
    CHECK(google::protobuf::util::MessageDifferencer::Equals(request, original));
    std::vector<int> served;
    for (const auto& index : line.fields().at("served").struct_value().fields().at("order")
                                 .list_value().values()) {
      served.push_back(static_cast<int>(index.number_value()));
    }
    CHECK(served == order);
    seen.insert(request.request_id());
  }
  CHECK(seen.size() == 5);

  absl::StatusOr<HttpResponse> scrape = HttpGet("127.0.0.1", t.server->metrics_port(), "/metrics");
  REQUIRE(scrape.ok());
  const std::map<std::string, double> samples = ParseScrape(scrape->body);
  CHECK(SampleOf(samples, "routeserve_captured_requests_total{result=\"written\"}") == 5);
  CHECK(SampleOf(samples, "routeserve_captured_requests_total{result=\"dropped\"}") == 0);
}

TEST_CASE("a capture file that cannot be opened stops the server from starting, naming the key",
          "[e2e]") {
  TempDir dir;
  const std::string path = (dir.path() / "missing" / "captured.jsonl").string();
  const absl::StatusOr<std::unique_ptr<server::RouteServer>> server = server::RouteServer::Start(
      TestConfig({"capture.path=" + path, "capture.sample_ratio=0.5"}));
  REQUIRE_FALSE(server.ok());
  CHECK(server.status().message() ==
        "capture.path: cannot open \"" + path + "\": No such file or directory");
}

}  // namespace
}  // namespace routeserve::testing
