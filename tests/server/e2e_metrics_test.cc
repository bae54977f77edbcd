// Metrics end to end: a RouteServer with a test model (fixture routeserve_test_models) answers
// Suggest calls and SuggestStream messages, good and bad, over loopback gRPC; its /metrics is
// scraped over HTTP and must count each of them, pass `promtool check metrics`, and hold every
// metric name the Grafana dashboard and the alert rules use. Then a real Prometheus server
// scrapes it every second, beside a silent and a dripping client, succeeds at every scrape,
// answers the same counts through its query API, and parses every expression of the dashboard
// and the rules.
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "e2e_support.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "http_client.h"
#include "model/torch_build.h"
#include "route_checks.h"
#include "scrape.h"
#include "server_process.h"
#include "test_clients.h"
#include "tests/eventually.h"
#include "yaml-cpp/yaml.h"

namespace routeserve::testing {
namespace {

using Stream = grpc::ClientReaderWriter<v1::SuggestRequest, v1::SuggestResponse>;

// Calls made, by method and code: {"Suggest", "OK"} -> 6.
using CallCounts = std::map<std::pair<std::string, std::string>, int>;

std::string ReadFile(const std::string& path) {
  std::ifstream file(path);
  REQUIRE(file.good());
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

constexpr char kDashboard[] = ROUTESERVE_SOURCE_DIR "/deploy/grafana/routeserve.json";
constexpr char kAlerts[] = ROUTESERVE_SOURCE_DIR "/deploy/prometheus/alerts.yaml";

// Families exported only where NVML is; and only with a model on CUDA.
const std::set<std::string>& NvmlOnly() {
  static const auto* const names = new std::set<std::string>{
      "routeserve_gpu_utilization_ratio", "routeserve_gpu_memory_used_bytes",
      "routeserve_gpu_memory_total_bytes"};
  return *names;
}
constexpr char kCudaModelOnly[] = "routeserve_gpu_allocator_bytes_in_use";
// Series that exist only once a shadow model has run (e2e_reload_test.cc checks them).
bool ShadowOnly(const std::string& name) {
  return name.rfind("routeserve_shadow_cost_delta_ratio", 0) == 0 ||
         name == "routeserve_shadow_routes_total";
}

// A server with the test model declaring max_stops 16: requests above it fall back.
config::Config MetricsConfig() {
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

// The sum of routeserve_requests_total's series.
double RequestsCounted(const std::map<std::string, double>& samples) {
  double counted = 0;
  for (const auto& [series, value] : samples) {
    if (absl::StartsWith(series, "routeserve_requests_total{")) counted += value;
  }
  return counted;
}

// A scrape once every answer is counted: a stream's message is counted just after its response
// is handed to gRPC, so the client may read it first.
std::string ScrapeWhenCounted(const TestServer& t, int total) {
  const absl::Time until = absl::Now() + kGuard;
  for (;;) {
    const std::string text = Scrape(t);
    if (RequestsCounted(ParseScrape(text)) >= total || absl::Now() > until) return text;
    absl::SleepFor(absl::Milliseconds(20));
  }
}

std::string RequestsSeries(const std::string& method, const std::string& code) {
  return absl::StrCat("routeserve_requests_total{code=\"", code, "\",method=\"", method, "\"}");
}

TEST_CASE("the scrape counts every call by method and code, and promtool accepts it",
          "[metrics][e2e]") {
  const config::Config config = MetricsConfig();
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
  CHECK(RequestsCounted(samples) == Total(calls));  // no other series
  for (const auto& [method, count] : per_method) {
    CHECK(SampleOf(samples, absl::StrCat("routeserve_request_duration_seconds_count{method=\"",
                                         method, "\"}")) == count);
    CHECK(SampleOf(samples, absl::StrCat("routeserve_request_duration_seconds_bucket{method=\"",
                                         method, "\",le=\"+Inf\"}")) == count);
  }
  CHECK(SampleOf(samples, "routeserve_inflight_requests") == 0);
  // Every good request was queued, batched and finished with a route; the bad ones never were.
  CHECK(SumOf(samples, "routeserve_batch_size_sum") == routes);
  CHECK(SumOf(samples, "routeserve_refine_duration_seconds_count") == routes);
  CHECK(SumOf(samples, "routeserve_route_lateness_seconds_count") == routes);
  CHECK(SumOf(samples, "routeserve_route_cost_improvement_ratio_count") == routes);
  // A route by the model's version that made it; the two the classical solver answered in its
  // place (above) by no version.
  const std::string model = R"(model="nearest_max16")";
  const std::string version = absl::StrCat(R"(version=")", t.server->model()->model_version(),
                                           R"(")");
  CHECK(SumOf(samples, "routeserve_refine_duration_seconds_count", {model, version}) ==
        routes - 2);
  CHECK(SumOf(samples, "routeserve_refine_duration_seconds_count", {model, R"(version="")"}) == 2);
  double batches = 0;
  for (const int bucket : config.batching.buckets) {
    const std::string label = absl::StrCat("bucket=\"", bucket, "\"");
    batches += std::max(0.0, SumOf(samples, "routeserve_inference_duration_seconds_count",
                                   {label, model, version}));
    CHECK(SampleOf(samples, absl::StrCat("routeserve_queue_depth{", label, "}")) == 0);
  }
  CHECK(batches == SumOf(samples, "routeserve_batch_size_count", {model, version}));
  CHECK(SumOf(samples, "routeserve_batch_padding_ratio_count") == batches);
  // Suggest with 19 and 23 stops, above the model's 16.
  CHECK(SampleOf(samples, R"(routeserve_fallback_total{reason="stops_above_model_max"})") == 2);
  CHECK(t.server->fallback_counts().stops_above_model_max == 2);
  CHECK(SampleOf(samples, R"(routeserve_fallback_total{reason="model_error"})") == 0);
  CHECK(SampleOf(samples, R"(routeserve_fallback_total{reason="invalid_order"})") == 0);
  CHECK(SampleOf(samples,
                 absl::StrCat(R"(routeserve_model_info{device="cpu",name="nearest_max16",)",
                              R"(precision="fp32",version=")", t.server->model()->model_version(),
                              "\"}")) == 1);
  // build_info: the LibTorch linked, and a git revision (12 hex digits) or "unknown".
  const model::TorchBuild torch = model::LinkedTorch();
  const std::regex build_info(absl::StrCat(
      R"re(routeserve_build_info\{cuda=")re", torch.cuda ? "true" : "false",
      R"re(",libtorch=")re", torch.version,
      R"re(",revision="([0-9a-f]{12}|unknown)",version="[0-9.]+"\} 1)re"));
  CHECK(std::regex_search(text, build_info));
  // Queue time per bucket: the good requests, all of them, by the buckets they went to.
  double queued = 0;
  for (const int bucket : config.batching.buckets) {
    queued += std::max(0.0, SumOf(samples, "routeserve_queue_duration_seconds_count",
                                  {absl::StrCat("bucket=\"", bucket, "\"")}));
  }
  CHECK(queued == routes);
  CHECK(SampleOf(samples, "process_open_fds") > 0);

  const CommandResult check = RunCommand("/usr/bin/promtool check metrics", text);
  INFO(check.output);
  CHECK(check.exit_code == 0);
}

TEST_CASE("every metric the dashboard and the alert rules use exists in a real scrape",
          "[metrics][e2e]") {
  TestServer t = StartServer(MetricsConfig());
  const CallCounts calls = MakeCalls(t);
  const std::set<std::string> scraped = ScrapeNames(ScrapeWhenCounted(t, Total(calls)));
  const bool nvml = scraped.count("routeserve_gpu_memory_total_bytes") != 0;
  for (const std::string path : {kDashboard, kAlerts}) {
    const std::set<std::string> used = MetricNamesIn(ReadFile(path));
    CHECK(used.size() >= 5);
    for (const std::string& name : used) {
      INFO(path << " uses " << name);
      if ((!nvml && NvmlOnly().count(name) != 0) || name == kCudaModelOnly ||
          ShadowOnly(name)) {
        continue;
      }
      CHECK(scraped.count(name) == 1);
    }
  }
}

// A port no one listens on now, for a server that cannot pick its own (Prometheus).
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
  socklen_t length = sizeof(address);
  REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0);
  close(fd);
  return ntohs(address.sin_port);
}

// Every "expr" of the dashboard's panels, and of the rules.
void CollectExprs(const google::protobuf::Value& value, std::vector<std::string>& out) {
  if (value.has_struct_value()) {
    for (const auto& [key, field] : value.struct_value().fields()) {
      if (key == "expr" && field.has_string_value()) out.push_back(field.string_value());
      CollectExprs(field, out);
    }
  } else if (value.has_list_value()) {
    for (const google::protobuf::Value& item : value.list_value().values()) CollectExprs(item, out);
  }
}

std::vector<std::string> DashboardAndRuleExprs() {
  google::protobuf::Value dashboard;
  REQUIRE(google::protobuf::util::JsonStringToMessage(ReadFile(kDashboard), &dashboard).ok());
  std::vector<std::string> exprs;
  CollectExprs(dashboard, exprs);
  for (const YAML::Node& group : YAML::LoadFile(kAlerts)["groups"]) {
    for (const YAML::Node& rule : group["rules"]) exprs.push_back(rule["expr"].as<std::string>());
  }
  return exprs;
}

// A query through the Prometheus HTTP API; the parsed answer ({"status": ..., "data": ...}).
google::protobuf::Struct Query(int port, const std::string& promql) {
  absl::StatusOr<HttpResponse> response =
      HttpGet("127.0.0.1", port, "/api/v1/query?query=" + UrlEncode(promql));
  INFO(promql << ": " << response.status().ToString());
  REQUIRE(response.ok());
  google::protobuf::Struct answer;
  INFO(response->body);
  REQUIRE(google::protobuf::util::JsonStringToMessage(response->body, &answer).ok());
  return answer;
}

// sum by (method, code) (routeserve_requests_total), as Prometheus has it now.
CallCounts CountsInPrometheus(int port) {
  const google::protobuf::Struct answer =
      Query(port, "sum by (method, code) (routeserve_requests_total)");
  CallCounts counts;
  const auto& fields = answer.fields();
  if (fields.at("status").string_value() != "success") return counts;
  for (const google::protobuf::Value& sample :
       fields.at("data").struct_value().fields().at("result").list_value().values()) {
    const auto& metric = sample.struct_value().fields().at("metric").struct_value().fields();
    const std::string value =
        sample.struct_value().fields().at("value").list_value().values(1).string_value();
    counts[{metric.at("method").string_value(), metric.at("code").string_value()}] =
        std::atoi(value.c_str());
  }
  return counts;
}

// The value of the first series `promql` answers with; -1 with none.
double QueryValue(int port, const std::string& promql) {
  const google::protobuf::Struct answer = Query(port, promql);
  const auto& fields = answer.fields();
  if (fields.at("status").string_value() != "success") return -1;
  const auto& result = fields.at("data").struct_value().fields().at("result").list_value();
  if (result.values_size() == 0) return -1;
  const std::string value =
      result.values(0).struct_value().fields().at("value").list_value().values(1).string_value();
  return std::atof(value.c_str());
}

TEST_CASE(
    "a Prometheus server scraping the service counts the calls made by code, succeeds at every "
    "scrape beside a silent and a dripping client, and parses every expression of the dashboard "
    "and the rules",
    "[metrics][e2e]") {
  TestServer t = StartServer(MetricsConfig());
  const CallCounts calls = MakeCalls(t);

  std::string dir_template =
      (std::filesystem::temp_directory_path() / "routeserve-prometheus-XXXXXX").string();
  REQUIRE(mkdtemp(dir_template.data()) != nullptr);
  const std::filesystem::path dir = dir_template;
  {
    std::ofstream config(dir / "prometheus.yml");
    config << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
           << "rule_files:\n  - " << kAlerts << "\n"
           << "scrape_configs:\n  - job_name: routeserve\n    static_configs:\n"
           << "      - targets: [\"" << t.server->metrics_address() << "\"]\n";
  }
  const int port = FreePort();
  {
    ServerProcess prometheus(
        "/usr/bin/prometheus",
        {"--config.file=" + (dir / "prometheus.yml").string(),
         "--storage.tsdb.path=" + (dir / "data").string(),
         absl::StrCat("--web.listen-address=127.0.0.1:", port)});
    const bool ready =
        prometheus.WaitForLine("Server is ready to receive web requests").has_value();
    INFO(prometheus.Stderr());
    REQUIRE(ready);
    // Beside Prometheus's scrapes, from addresses of their own (the silent one until the idle
    // timeout closes it; the dripping one all along).
    absl::StatusOr<TestConnection> silent =
        TestConnection::Open(t.server->metrics_port(), "127.0.0.11");
    absl::StatusOr<TestConnection> drip =
        TestConnection::Open(t.server->metrics_port(), "127.0.0.12");
    REQUIRE(silent.ok());
    REQUIRE(drip.ok());
    DrippingClient dripping(*std::move(drip), /*period_ms=*/100);

    // Polled until the first scrapes are in; a broken setup gives up after the guard.
    CallCounts counted;
    const absl::Time until = absl::Now() + kGuard;
    while ((counted = CountsInPrometheus(port)) != calls && absl::Now() < until) {
      absl::SleepFor(absl::Milliseconds(200));
    }
    for (const auto& [key, count] : calls) {
      INFO(key.first << " " << key.second);
      CHECK(counted[key] == count);
    }
    CHECK(counted.size() == calls.size());

    // Three scrapes or more, each a success (up == 1).
    const std::string up = R"(up{job="routeserve"}[1h])";
    CHECK(Eventually([&] { return QueryValue(port, "count_over_time(" + up + ")") >= 3; },
                     kGuard));
    CHECK(QueryValue(port, "min_over_time(" + up + ")") == 1);
    CHECK_FALSE(dripping.failed());

    for (std::string expr : DashboardAndRuleExprs()) {
      for (const auto& [variable, value] : std::vector<std::pair<std::string, std::string>>{
               {"$__rate_interval", "1m"}, {"$job", ".*"}, {"$instance", ".*"}}) {
        for (size_t at; (at = expr.find(variable)) != std::string::npos;) {
          expr.replace(at, variable.size(), value);
        }
      }
      const google::protobuf::Struct answer = Query(port, expr);
      INFO(expr);
      CHECK(answer.fields().at("status").string_value() == "success");
    }
    prometheus.Signal(SIGTERM);
    CHECK(prometheus.WaitForExit() == 0);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace routeserve::testing
