// End to end in one process, unary Suggest and health: RouteServer::Start on 127.0.0.1:0 and
// real gRPC clients over loopback.
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "e2e_support.h"
#include "route_checks.h"

namespace routeserve::testing {
namespace {

grpc::Status Suggest(v1::RouteService::Stub& stub, const v1::SuggestRequest& request,
                     v1::SuggestResponse* response, absl::Duration timeout = kGuard) {
  auto context = GuardedContext(timeout);
  return stub.Suggest(context.get(), request, response);
}

TEST_CASE("Suggest answers generated problems of every regime and size with a good route",
          "[e2e]") {
  TestServer t = StartServer(TestConfig());
  uint64_t seed = 1;
  for (const Regime& regime : Regimes()) {
    for (int stops : {1, 2, 7, 20, 60}) {
      const v1::SuggestRequest request =
          MakeRequest(regime.options, stops, seed++, absl::StrCat(regime.name, "/", stops));
      v1::SuggestResponse response;
      const grpc::Status status = Suggest(*t.stub, request, &response);
      INFO(regime.name << ", " << stops << " stops: " << status.error_message());
      REQUIRE(status.ok());
      CHECK(CheckRouteResponse(request, response) == "");
      CHECK(response.model_version().empty());
      CHECK(response.timings().batch_size() == 1);  // one call at a time: batches of one
      CHECK(response.timings().inference_s() == 0);  // no model ran
      CHECK(response.timings().queue_s() >= 0);
      CHECK(response.timings().refine_s() >= 0);
    }
  }
  // The largest problem the default config allows.
  const v1::SuggestRequest largest = MakeRequest(Regimes()[0].options, 128, 99, "largest");
  v1::SuggestResponse response;
  REQUIRE(Suggest(*t.stub, largest, &response).ok());
  CHECK(CheckRouteResponse(largest, response) == "");
}

// Blocks until the channel leaves READY or `within` passes; true when it left.
bool LeavesReady(grpc::Channel& channel, absl::Duration within) {
  const absl::Time until = absl::Now() + within;
  while (channel.GetState(/*try_to_connect=*/false) == GRPC_CHANNEL_READY) {
    if (!channel.WaitForStateChange(GRPC_CHANNEL_READY, absl::ToChronoTime(until))) return false;
  }
  return true;
}

TEST_CASE("server.max_connection_age_s: an old connection is sent away, the client reconnects "
          "and its calls go on; without it the connection stays",
          "[e2e]") {
  const v1::SuggestRequest request = MakeRequest(Regimes()[1].options, 12, 3, "aged");
  for (const bool aging : {true, false}) {
    INFO((aging ? "max_connection_age_s=0.5" : "no max_connection_age_s"));
    TestServer t = StartServer(
        aging ? TestConfig({"server.max_connection_age_s=0.5"}) : TestConfig());
    v1::SuggestResponse response;
    REQUIRE(Suggest(*t.stub, request, &response).ok());
    REQUIRE(t.channel->GetState(false) == GRPC_CHANNEL_READY);
    if (aging) {
      // The GOAWAY comes after 0.5 s (gRPC adds up to 10% jitter); the guard is generous.
      CHECK(LeavesReady(*t.channel, absl::Seconds(30)));
    } else {
      CHECK_FALSE(LeavesReady(*t.channel, absl::Seconds(2)));
    }
    v1::SuggestResponse again;
    REQUIRE(Suggest(*t.stub, request, &again).ok());
    CHECK(CheckRouteResponse(request, again) == "");
  }
}

TEST_CASE("Suggest is deterministic: the same request twice gives the same route", "[e2e]") {
  TestServer t = StartServer(TestConfig());
  for (const Regime& regime : Regimes()) {
    const v1::SuggestRequest request = MakeRequest(regime.options, 30, 7, "same");
    v1::SuggestResponse first, second;
    REQUIRE(Suggest(*t.stub, request, &first).ok());
    REQUIRE(Suggest(*t.stub, request, &second).ok());
    INFO(regime.name);
    REQUIRE(first.route().steps_size() == second.route().steps_size());
    for (int i = 0; i < first.route().steps_size(); ++i) {
      CHECK(first.route().steps(i).stop_id() == second.route().steps(i).stop_id());
      CHECK(first.route().steps(i).arrival_time() == second.route().steps(i).arrival_time());
    }
    CHECK(first.route().summary().cost() == second.route().summary().cost());
  }
}

TEST_CASE("bad input gets INVALID_ARGUMENT naming the field", "[e2e]") {
  TestServer t = StartServer(TestConfig({"limits.max_stops=16"}));
  const v1::SuggestRequest good = MakeRequest(Regimes()[0].options, 10, 3, "bad");
  struct Case {
    std::string field;  // the message starts with it
    std::function<void(v1::SuggestRequest&)> spoil;
  };
  const std::vector<Case> cases = {
      {"courier.vehicle_type",
       [](v1::SuggestRequest& r) { r.mutable_courier()->clear_vehicle_type(); }},
      {"stops[2].position",
       [](v1::SuggestRequest& r) { r.mutable_stops(2)->mutable_position()->set_lat_deg(95); }},
      {"stops[4].id", [](v1::SuggestRequest& r) { r.mutable_stops(4)->set_id(r.stops(1).id()); }},
      {"stops", [](v1::SuggestRequest& r) {
         *r.mutable_stops() = MakeRequest(Regimes()[0].options, 20, 4, "").stops();
       }},
      {"travel_time_matrix_s", [](v1::SuggestRequest& r) { r.add_travel_time_matrix_s(1.0); }},
  };
  for (const Case& c : cases) {
    v1::SuggestRequest request = good;
    c.spoil(request);
    v1::SuggestResponse response;
    const grpc::Status status = Suggest(*t.stub, request, &response);
    INFO(c.field << " -> " << status.error_message());
    CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(absl::StartsWith(status.error_message(), c.field + (c.field == "stops" ? ":" : "")));
  }
  // Bad input poisons nothing: the next good request is answered.
  v1::SuggestResponse response;
  REQUIRE(Suggest(*t.stub, good, &response).ok());
  CHECK(CheckRouteResponse(good, response) == "");
}

TEST_CASE("200 concurrent calls are batched, and each gets a good route", "[e2e]") {
  // One executor and a long queue delay: calls that arrive together share batches.
  TestServer t = StartServer(
      TestConfig({"batching.max_queue_delay_us=50000", "batching.executors=1"}));
  constexpr int kCalls = 200;
  const std::vector<Regime> regimes = Regimes();
  std::vector<v1::SuggestRequest> requests;
  for (int i = 0; i < kCalls; ++i) {
    // 9 to 16 stops: one bucket.
    requests.push_back(MakeRequest(regimes[i % regimes.size()].options, 9 + i % 8, 3000 + i,
                                   absl::StrCat("c", i)));
  }
  std::vector<v1::SuggestResponse> responses(kCalls);
  std::vector<grpc::Status> statuses(kCalls);
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::mutex mu;
  std::condition_variable all_answered;
  int answered = 0;
  for (int i = 0; i < kCalls; ++i) {
    contexts.push_back(GuardedContext());
    t.stub->async()->Suggest(contexts[i].get(), &requests[i], &responses[i],
                             [&, i](grpc::Status status) {
                               std::lock_guard lock(mu);
                               statuses[i] = std::move(status);
                               ++answered;
                               all_answered.notify_all();
                             });
  }
  {
    std::unique_lock lock(mu);
    REQUIRE(all_answered.wait_for(lock, absl::ToChronoSeconds(kGuard),
                                  [&] { return answered == kCalls; }));
  }

  int in_shared_batches = 0;
  for (int i = 0; i < kCalls; ++i) {
    INFO("call " << i << ": " << statuses[i].error_message());
    REQUIRE(statuses[i].ok());
    CHECK(CheckRouteResponse(requests[i], responses[i]) == "");
    if (responses[i].timings().batch_size() > 1) ++in_shared_batches;
  }
  CHECK(in_shared_batches > 0);
  const batching::BatcherStats stats = t.server->planner_stats();
  CHECK(stats.executed == kCalls);
  CHECK(stats.batches < kCalls);
}

TEST_CASE("health: readiness and liveness are SERVING once started", "[e2e]") {
  TestServer t = StartServer(TestConfig());
  using grpc::health::v1::HealthCheckResponse;
  CHECK(HealthOf(*t.health, "routeserve.v1.RouteService") == HealthCheckResponse::SERVING);
  CHECK(HealthOf(*t.health, "") == HealthCheckResponse::SERVING);
  CHECK(t.server->phase() == server::ServerPhase::kServing);
}

TEST_CASE("a call whose deadline passes before its work starts gets DEADLINE_EXCEEDED and "
          "is never solved",
          "[e2e]") {
  HoldFirstBatch holder;
  batching::FakeClock clock(absl::Now());  // stands still unless the test moves it
  server::ServerHooks hooks;
  hooks.batching_observer = &holder;
  hooks.clock = &clock;
  TestServer t = StartServer(OneAtATimeConfig(), hooks);
  const v1::SuggestRequest request = MakeRequest(Regimes()[0].options, 12, 5, "deadline");

  // A occupies the only executor.
  grpc::Status status_a;
  v1::SuggestResponse response_a;
  std::thread a([&] { status_a = Suggest(*t.stub, request, &response_a); });
  REQUIRE(holder.WaitStarted());

  // B waits behind it, and its caller's deadline passes.
  grpc::Status status_b;
  v1::SuggestResponse response_b;
  std::thread b([&] { status_b = Suggest(*t.stub, request, &response_b, absl::Seconds(1)); });
  REQUIRE(holder.WaitAccepted(2));
  b.join();
  CHECK(status_b.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED);

  // The server's clock is past B's deadline for certain (its deadline is a little later than
  // the client's, which has passed), yet well before C's guard deadline: the batcher drops B.
  // Then the executor goes on.
  clock.Advance(absl::Seconds(10));
  holder.Release();
  a.join();
  CHECK(status_a.ok());

  // The batcher drops what is due before it forms a batch: once C is answered, B is gone.
  v1::SuggestResponse response_c;
  REQUIRE(Suggest(*t.stub, request, &response_c).ok());
  CHECK(CheckRouteResponse(request, response_c) == "");

  const batching::BatcherStats stats = t.server->planner_stats();
  CHECK(stats.executed == 2);  // A and C: the solver never ran for B
  // B was dropped once: by the batcher, its deadline past on the server's clock, or before
  // that by gRPC, which cancels a call whose deadline passes (the handler then frees its slot).
  CHECK(stats.expired + stats.cancelled == 1);
}

TEST_CASE("a full queue answers RESOURCE_EXHAUSTED at once", "[e2e]") {
  HoldFirstBatch holder;
  server::ServerHooks hooks;
  hooks.batching_observer = &holder;
  TestServer t = StartServer(OneAtATimeConfig({"batching.max_queue_size=1"}), hooks);
  const v1::SuggestRequest request = MakeRequest(Regimes()[0].options, 12, 6, "full");

  grpc::Status status_a, status_b;
  v1::SuggestResponse response_a, response_b;
  std::thread a([&] { status_a = Suggest(*t.stub, request, &response_a); });
  REQUIRE(holder.WaitStarted());  // A runs (held); its bucket's queue is empty
  std::thread b([&] { status_b = Suggest(*t.stub, request, &response_b); });
  REQUIRE(holder.WaitAccepted(2));  // B waits: the bucket's queue is full

  v1::SuggestResponse response_c;
  const grpc::Status status_c = Suggest(*t.stub, request, &response_c);
  CHECK(status_c.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
  CHECK(status_c.error_message() == "queue full");

  holder.Release();
  a.join();
  b.join();
  CHECK(status_a.ok());
  CHECK(status_b.ok());
  CHECK(CheckRouteResponse(request, response_b) == "");
  const batching::BatcherStats stats = t.server->planner_stats();
  CHECK(stats.refused_full == 1);
  CHECK(stats.executed == 2);
}

}  // namespace
}  // namespace routeserve::testing
