// Callers that go away: real gRPC clients whose calls wait behind a batch held on the only
// executor cancel them, or disconnect (a routeserve-cli process killed mid-call); their slots
// are freed at once (queue depth and routeserve_inflight_requests back down, while the batch is
// still held), nothing of theirs is ever solved, and later calls are served. Every wait is on a
// condition bounded by the guard; no duration is asserted.
#include <catch2/catch.hpp>

#include <signal.h>

#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "e2e_support.h"
#include "http_client.h"
#include "route_checks.h"
#include "scrape.h"
#include "server_process.h"
#include "tests/eventually.h"

namespace routeserve::testing {
namespace {

double Inflight(const TestServer& t) {
  const absl::StatusOr<HttpResponse> response =
      HttpGet("127.0.0.1", t.server->metrics_port(), "/metrics");
  INFO(response.status().ToString());
  REQUIRE(response.ok());
  return SampleOf(ParseScrape(response->body), "routeserve_inflight_requests");
}

int64_t Queued(const TestServer& t) {
  int64_t depth = 0;
  for (const int64_t bucket : t.server->planner_stats().depth) depth += bucket;
  return depth;
}

TEST_CASE("a caller who cancels or disconnects while queued frees its slot at once: later calls "
          "are served",
          "[e2e]") {
  HoldFirstBatch holder;
  server::ServerHooks hooks;
  hooks.batching_observer = &holder;
  TestServer t = StartServer(OneAtATimeConfig(), hooks);
  const v1::SuggestRequest request = MakeRequest(Regimes()[0].options, 12, 7, "cancel");

  // A holds the only executor: a slow batch.
  grpc::Status status_a;
  v1::SuggestResponse response_a;
  std::thread a([&] {
    auto context = GuardedContext();
    status_a = t.stub->Suggest(context.get(), request, &response_a);
  });
  REQUIRE(holder.WaitStarted());

  // Four calls queue behind it, and their clients cancel them.
  constexpr int kCancelled = 4;
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  for (int i = 0; i < kCancelled; ++i) contexts.push_back(GuardedContext());
  std::vector<grpc::Status> statuses(kCancelled);
  std::vector<std::thread> callers;
  for (int i = 0; i < kCancelled; ++i) {
    callers.emplace_back([&, i] {
      v1::SuggestResponse response;
      statuses[i] = t.stub->Suggest(contexts[i].get(), request, &response);
    });
  }
  REQUIRE(holder.WaitAccepted(1 + kCancelled));
  CHECK(Queued(t) == kCancelled);
  for (auto& context : contexts) context->TryCancel();
  for (std::thread& caller : callers) caller.join();
  for (const grpc::Status& status : statuses) {
    CHECK(status.error_code() == grpc::StatusCode::CANCELLED);
  }
  // Freed while A is still held: nothing waits, only A is in flight.
  REQUIRE(Eventually([&] { return Queued(t) == 0 && Inflight(t) == 1; }, kGuard));
  CHECK(t.server->planner_stats().cancelled == kCancelled);

  // A client that disconnects mid-call: routeserve-cli, killed while its call waits.
  {
    ServerProcess cli(ROUTESERVE_CLI_BINARY,
                      {"--target", absl::StrCat("127.0.0.1:", t.server->port()), "--generate",
                       "12", "--seed", "3"});
    REQUIRE(holder.WaitAccepted(2 + kCancelled));
    cli.Signal(SIGKILL);
    cli.WaitForExit();
  }
  REQUIRE(Eventually([&] { return Queued(t) == 0 && Inflight(t) == 1; }, kGuard));
  CHECK(t.server->planner_stats().cancelled == kCancelled + 1);

  // The batch ends; A is answered and later calls are served.
  holder.Release();
  a.join();
  CHECK(status_a.ok());
  for (int i = 0; i < 3; ++i) {
    v1::SuggestResponse response;
    auto context = GuardedContext();
    const grpc::Status status = t.stub->Suggest(context.get(), request, &response);
    CHECK(status.ok());
    CHECK(CheckRouteResponse(request, response) == "");
  }
  REQUIRE(Eventually([&] { return Inflight(t) == 0; }, kGuard));
  const batching::BatcherStats stats = t.server->planner_stats();
  CHECK(stats.executed == 4);  // A and the three later calls: none of the cancelled ones
  CHECK(stats.expired == 0);
}

}  // namespace
}  // namespace routeserve::testing
