// Faults of the model, against the real binary: routeserve serving the test model faulty/
// (tests/model/make_test_models.py), which decodes like nearest/ but raises on a problem of 3
// stops, returns garbage on one of 4 and hangs for good on one of 5: a scripted loop that never
// returns and cannot be interrupted. A separate process, because a stuck executor's thread
// stays blocked in the model until the process exits.
//
// Checks that each fault is answered (the classical solver stands in), counted in the metrics,
// and that the server keeps serving; that the watchdog takes a stuck executor out of service
// while the other serves; that with none left, liveness and readiness report NOT_SERVING and
// calls get UNAVAILABLE at once; and that SIGTERM still ends the process with exit 0. Every
// wait is on a condition bounded by a generous guard; no duration is asserted.
#include <catch2/catch.hpp>

#include <signal.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "http_client.h"
#include "route_checks.h"
#include "routeserve/v1/route_service.grpc.pb.h"
#include "scrape.h"
#include "server_process.h"

namespace routeserve::testing {
namespace {

// Generous: only a broken server makes a test wait this long.
constexpr absl::Duration kGuard = absl::Seconds(90);

using HealthStatus = grpc::health::v1::HealthCheckResponse::ServingStatus;

std::unique_ptr<grpc::ClientContext> Context(absl::Duration timeout = kGuard) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  return context;
}

// The port in the server's "metrics on http://HOST:PORT/metrics" line.
int MetricsPort(ServerProcess& process) {
  const std::optional<std::string> line = process.WaitForLine("metrics on http://");
  REQUIRE(line.has_value());
  const size_t start = line->rfind(':') + 1;
  const size_t end = line->find("/metrics", start);
  int port = 0;
  REQUIRE(absl::SimpleAtoi(line->substr(start, end - start), &port));
  return port;
}

std::map<std::string, double> Scrape(int metrics_port) {
  const absl::StatusOr<HttpResponse> response = HttpGet("127.0.0.1", metrics_port, "/metrics");
  INFO(response.status().ToString());
  REQUIRE(response.ok());
  return ParseScrape(response->body);
}

HealthStatus HealthOf(grpc::health::v1::Health::Stub& health, const std::string& service) {
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  auto context = Context();
  const grpc::Status status = health.Check(context.get(), request, &response);
  INFO(status.error_message());
  REQUIRE(status.ok());
  return response.status();
}

struct Answer {
  grpc::Status status;
  v1::SuggestResponse response;
  v1::SuggestRequest request;
};

Answer Suggest(v1::RouteService::Stub& stub, int stops, uint64_t seed) {
  Answer answer;
  answer.request = MakeRequest(Regimes()[0].options, stops, seed, absl::StrCat("s", seed));
  auto context = Context();
  answer.status = stub.Suggest(context.get(), answer.request, &answer.response);
  return answer;
}

// Empty when `answer` is a good route from `source`.
std::string Check(const Answer& answer, v1::RouteSource source) {
  if (!answer.status.ok()) {
    return absl::StrCat("code ", answer.status.error_code(), ": ", answer.status.error_message());
  }
  return CheckRouteResponse(answer.request, answer.response, source);
}

TEST_CASE("model faults: a throw and garbage fall back and are counted, a hang is taken out of "
          "service by the watchdog, and with no executor left liveness fails and calls get "
          "UNAVAILABLE, and SIGTERM still exits 0",
          "[process][faults]") {
  // Two executors, batches of one: each call is a batch of its own, so that a fault touches
  // its own call only. The watchdog's threshold is far above a batch of this model (a few
  // milliseconds) and far below the guard.
  ServerProcess process(
      ROUTESERVE_BINARY,
      {"--config", ROUTESERVE_CONFIG_PATH, "--set", "server.address=127.0.0.1:0", "--set",
       "metrics.address=127.0.0.1:0", "--set", "shutdown.drain_delay_s=0", "--set",
       "shutdown.grace_period_s=30", "--set",
       absl::StrCat("model.path=", ROUTESERVE_TEST_MODELS_DIR, "/faulty"), "--set",
       "model.decodings=2", "--set", "batching.executors=2", "--set",
       "batching.max_batch_size=1", "--set", "batching.executor_stuck_after_s=3", "--set",
       "server.worker_threads=2"});
  const int port = process.WaitForPort();
  const int metrics_port = MetricsPort(process);
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                                     grpc::InsecureChannelCredentials());
  auto stub = v1::RouteService::NewStub(channel);
  auto health = grpc::health::v1::Health::NewStub(channel);
  INFO(process.Stderr());

  // Healthy: the model answers.
  CHECK(Check(Suggest(*stub, 8, 1), v1::ROUTE_SOURCE_MODEL_REFINED) == "");

  // The model throws, then answers garbage: the classical solver stands in for each.
  CHECK(Check(Suggest(*stub, 3, 2), v1::ROUTE_SOURCE_FALLBACK_HEURISTIC) == "");
  CHECK(Check(Suggest(*stub, 4, 3), v1::ROUTE_SOURCE_FALLBACK_HEURISTIC) == "");
  CHECK(Check(Suggest(*stub, 8, 4), v1::ROUTE_SOURCE_MODEL_REFINED) == "");
  std::map<std::string, double> samples = Scrape(metrics_port);
  CHECK(SampleOf(samples, "routeserve_fallback_total{reason=\"model_error\"}") == 1);
  CHECK(SampleOf(samples, "routeserve_fallback_total{reason=\"invalid_order\"}") == 1);
  CHECK(SampleOf(samples, "routeserve_executors_stuck") == 0);

  // The model hangs: the watchdog takes that executor out of service and the classical solver
  // answers the call; the other executor serves on, and the process is still live.
  CHECK(Check(Suggest(*stub, 5, 5), v1::ROUTE_SOURCE_FALLBACK_HEURISTIC) == "");
  samples = Scrape(metrics_port);
  CHECK(SampleOf(samples, "routeserve_executors_stuck") == 1);
  CHECK(SampleOf(samples, "routeserve_fallback_total{reason=\"executor_stuck\"}") == 1);
  CHECK(HealthOf(*health, "") == grpc::health::v1::HealthCheckResponse::SERVING);
  for (uint64_t seed = 6; seed < 9; ++seed) {
    CHECK(Check(Suggest(*stub, 8, seed), v1::ROUTE_SOURCE_MODEL_REFINED) == "");
  }

  // It hangs on the last executor too: that call is answered, then the process reports it is
  // no longer live (the orchestrator restarts it), and calls are refused at once.
  CHECK(Check(Suggest(*stub, 5, 9), v1::ROUTE_SOURCE_FALLBACK_HEURISTIC) == "");
  CHECK(HealthOf(*health, "") == grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  CHECK(HealthOf(*health, "routeserve.v1.RouteService") ==
        grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  const Answer refused = Suggest(*stub, 8, 10);
  CHECK(refused.status.error_code() == grpc::StatusCode::UNAVAILABLE);
  CHECK_THAT(refused.status.error_message(), Catch::Contains("no executor in service"));
  samples = Scrape(metrics_port);
  CHECK(SampleOf(samples, "routeserve_executors_stuck") == 2);
  CHECK(SampleOf(samples, "routeserve_fallback_total{reason=\"executor_stuck\"}") == 2);
  CHECK(SampleOf(samples, "routeserve_inflight_requests") == 0);
  CHECK(SampleOf(samples, "routeserve_requests_total{code=\"OK\",method=\"Suggest\"}") == 9);
  CHECK(SampleOf(samples, "routeserve_requests_total{code=\"UNAVAILABLE\",method=\"Suggest\"}") ==
        1);

  // Shutdown does not wait for the stuck executors.
  process.Signal(SIGTERM);
  CHECK(process.WaitForExit() == 0);
  CHECK_THAT(process.Stderr(), Catch::Contains("executor 0 is stuck") ||
                                   Catch::Contains("executor 1 is stuck"));
}

}  // namespace
}  // namespace routeserve::testing
