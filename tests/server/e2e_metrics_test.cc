// Metrics end to end: a RouteServer with a test model (fixture routeserve_test_models) answers
// Suggest calls and SuggestStream messages, good and bad, over loopback gRPC; its /metrics is
// scraped over HTTP and must count each of them and pass `promtool check metrics`.
#include <map>

#include "e2e_support.h"
#include "http_client.h"
#include "route_checks.h"
#include "scrape.h"

namespace routeserve::testing {
namespace {

using Stream = grpc::ClientReaderWriter<v1::SuggestRequest, v1::SuggestResponse>;

// Calls made, by method and code: {"Suggest", "OK"} -> 6.
using CallCounts = std::map<std::pair<std::string, std::string>, int>;

// A server with the test model declaring max_stops 16: requests above it fall back.
server::Config MetricsConfig() {
  return TestConfig({"model.path=" + std::string(ROUTESERVE_TEST_MODELS_DIR) + "/nearest_max16",
                     "model.threads=1", "model.decodings=2", "batching.max_batch_size=8",
                     "batching.executors=1", "metrics.gpu_sample_period_s=0.1"});
}

// Makes the calls: Suggest with good requests of 3..24 stops (those above 16 fall back) and
// bad ones, and one stream with good messages and one without a request_id. Returns them.
CallCounts MakeCalls(TestServer& t) {
  CallCounts calls;
  const std::vector<Regime> regimes = Regimes();
  for (int i = 0; i < 6; ++i) {
    const v1::SuggestRequest request =
        MakeRequest(regimes[i % regimes.size()].options, 3 + 4 * i, 100 + i, absl::StrCat("u", i));
    v1::SuggestResponse response;
    auto context = GuardedContext();
    const grpc::Status status = t.stub->Suggest(context.get(), request, &response);
    INFO(status.error_message());
    REQUIRE(status.ok());
    ++calls[{"Suggest", "OK"}];
  }
  for (int i = 0; i < 2; ++i) {
    v1::SuggestRequest request = MakeRequest(regimes[0].options, 5, 200 + i, "bad");
    request.mutable_courier()->clear_vehicle_type();
    v1::SuggestResponse response;
    auto context = GuardedContext();
    REQUIRE(t.stub->Suggest(context.get(), request, &response).error_code() ==
            grpc::StatusCode::INVALID_ARGUMENT);
    ++calls[{"Suggest", "INVALID_ARGUMENT"}];
  }

  auto context = GuardedContext();
  std::unique_ptr<Stream> stream = t.stub->SuggestStream(context.get());
  for (int i = 0; i < 3; ++i) {
    REQUIRE(stream->Write(
        MakeRequest(regimes[i % regimes.size()].options, 4 + i, 300 + i, absl::StrCat("s", i))));
  }
  REQUIRE(stream->Write(MakeRequest(regimes[0].options, 4, 400, "")));  // no request_id
  stream->WritesDone();
  v1::SuggestResponse response;
  while (stream->Read(&response)) {
    ++calls[{"SuggestStream", response.has_error() ? "INVALID_ARGUMENT" : "OK"}];
  }
  REQUIRE(stream->Finish().ok());
  CHECK(calls[{"SuggestStream", "OK"}] == 3);
  CHECK(calls[{"SuggestStream", "INVALID_ARGUMENT"}] == 1);
  return calls;
}

int Total(const CallCounts& calls) {
  int total = 0;
  for (const auto& [key, count] : calls) total += count;
  return total;
}

std::string Scrape(const TestServer& t) {
  absl::StatusOr<HttpResponse> response =
      HttpGet("127.0.0.1", t.server->metrics_port(), "/metrics");
  INFO(response.status().ToString());
  REQUIRE(response.ok());
  REQUIRE(response->status == 200);
  return response->body;
}

// A scrape once every answer is counted: a stream's message is counted just after its response
// is handed to gRPC, so the client may read it first.
std::string ScrapeWhenCounted(const TestServer& t, int total) {
  const absl::Time until = absl::Now() + kGuard;
  for (;;) {
    const std::string text = Scrape(t);
    double counted = 0;
    for (const auto& [series, value] : ParseScrape(text)) {
      if (absl::StartsWith(series, "routeserve_requests_total{")) counted += value;
    }
    if (counted >= total || absl::Now() > until) return text;
    absl::SleepFor(absl::Milliseconds(20));
  }
}

std::string RequestsSeries(const std::string& method, const std::string& code) {
  return absl::StrCat("routeserve_requests_total{code=\"", code, "\",method=\"", method, "\"}");
}

TEST_CASE("the scrape counts every call by method and code, and promtool accepts it",
          "[metrics][e2e]") {
  const server::Config config = MetricsConfig();
  TestServer t = StartServer(config);
  const CallCounts calls = MakeCalls(t);
  const std::string text = ScrapeWhenCounted(t, Total(calls));
  INFO(text);
  const std::map<std::string, double> samples = ParseScrape(text);

  int routes = 0;
  std::map<std::string, int> per_method;
  for (const auto& [key, count] : calls) {
    const auto& [method, code] = key;
    INFO(method << " " << code);
    CHECK(SampleOf(samples, RequestsSeries(method, code)) == count);
    per_method[method] += count;
    if (code == "OK") routes += count;
  }
  double counted = 0;
  for (const auto& [series, value] : samples) {
    if (absl::StartsWith(series, "routeserve_requests_total{")) counted += value;
  }
  CHECK(counted == Total(calls));  // no other series
  for (const auto& [method, count] : per_method) {
    CHECK(SampleOf(samples, absl::StrCat("routeserve_request_duration_seconds_count{method=\"",
                                         method, "\"}")) == count);
    CHECK(SampleOf(samples, absl::StrCat("routeserve_request_duration_seconds_bucket{method=\"",
                                         method, "\",le=\"+Inf\"}")) == count);
  }
  CHECK(SampleOf(samples, "routeserve_inflight_requests") == 0);
  // Every good request was queued, batched and finished with a route; the bad ones never were.
  CHECK(SampleOf(samples, "routeserve_queue_duration_seconds_count") == routes);
  CHECK(SampleOf(samples, "routeserve_batch_size_sum") == routes);
  CHECK(SampleOf(samples, "routeserve_refine_duration_seconds_count") == routes);
  CHECK(SampleOf(samples, "routeserve_route_lateness_seconds_count") == routes);
  CHECK(SampleOf(samples, "routeserve_route_cost_improvement_ratio_count") == routes);
  double batches = 0;
  for (const int bucket : config.batching.buckets) {
    batches += SampleOf(samples, absl::StrCat(
                                     "routeserve_inference_duration_seconds_count{bucket=\"",
                                     bucket, "\"}"));
    CHECK(SampleOf(samples, absl::StrCat("routeserve_queue_depth{bucket=\"", bucket, "\"}")) == 0);
  }
  CHECK(batches == SampleOf(samples, "routeserve_batch_size_count"));
  CHECK(SampleOf(samples, "routeserve_batch_padding_ratio_count") == batches);
  // Suggest with 19 and 23 stops, above the model's 16.
  CHECK(SampleOf(samples, R"(routeserve_fallback_total{reason="stops_above_model_max"})") == 2);
  CHECK(t.server->fallback_counts().stops_above_model_max == 2);
  CHECK(SampleOf(samples, R"(routeserve_fallback_total{reason="model_error"})") == 0);
  CHECK(SampleOf(samples, R"(routeserve_fallback_total{reason="invalid_order"})") == 0);
  CHECK(SampleOf(samples,
                 absl::StrCat(R"(routeserve_model_info{device="cpu",name="nearest_max16",)",
                              R"(precision="fp32",version=")", t.server->model()->model_version(),
                              "\"}")) == 1);
  CHECK(absl::StrContains(text, "routeserve_build_info{version=\""));

  const CommandResult check = RunCommand("/usr/bin/promtool check metrics", text);
  INFO(check.output);
  CHECK(check.exit_code == 0);
}

}  // namespace
}  // namespace routeserve::testing
