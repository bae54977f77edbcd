// End to end in one process, the shutdown phases (docs/ARCHITECTURE.md, The API), each held
// open by a gate on the phase hook so that what a client sees in it is checked without timing.
#include <thread>

#include "e2e_support.h"
#include "route_checks.h"

namespace routeserve::testing {
namespace {

using grpc::health::v1::HealthCheckResponse;
using server::ServerPhase;
using Stream = grpc::ClientReaderWriter<v1::SuggestRequest, v1::SuggestResponse>;

TEST_CASE("shutdown: draining keeps serving with readiness NOT_SERVING, then new calls and "
          "open streams get UNAVAILABLE",
          "[e2e]") {
  PhaseGate gate({ServerPhase::kDraining, ServerPhase::kRefusing});
  server::ServerHooks hooks;
  hooks.on_phase = gate.Hook();
  TestServer t = StartServer(TestConfig(), hooks);
  const v1::SuggestRequest request = MakeRequest(Regimes()[0].options, 15, 11, "phase");

  // An open, idle stream: one round trip, then the server waits on its next read.
  auto stream_context = GuardedContext();
  std::unique_ptr<Stream> idle = t.stub->SuggestStream(stream_context.get());
  REQUIRE(idle->Write(request));
  v1::SuggestResponse response;
  REQUIRE(idle->Read(&response));
  CHECK(CheckRouteResponse(request, response) == "");

  std::thread shutdown([&] { t.server->Shutdown(); });

  REQUIRE(gate.WaitReached(ServerPhase::kDraining));
  CHECK(t.server->phase() == ServerPhase::kDraining);
  CHECK(HealthOf(*t.health, "routeserve.v1.RouteService") == HealthCheckResponse::NOT_SERVING);
  CHECK(HealthOf(*t.health, "") == HealthCheckResponse::SERVING);
  {
    auto context = GuardedContext();
    REQUIRE(t.stub->Suggest(context.get(), request, &response).ok());
    CHECK(CheckRouteResponse(request, response) == "");
  }
  gate.Release(ServerPhase::kDraining);

  REQUIRE(gate.WaitReached(ServerPhase::kRefusing));
  {
    auto context = GuardedContext();
    const grpc::Status status = t.stub->Suggest(context.get(), request, &response);
    CHECK(status.error_code() == grpc::StatusCode::UNAVAILABLE);
  }
  {
    auto context = GuardedContext();
    std::unique_ptr<Stream> late = t.stub->SuggestStream(context.get());
    CHECK_FALSE(late->Read(&response));
    CHECK(late->Finish().error_code() == grpc::StatusCode::UNAVAILABLE);
  }
  // The idle stream is told, and ends with UNAVAILABLE although its client never half-closed.
  CHECK_FALSE(idle->Read(&response));
  CHECK(idle->Finish().error_code() == grpc::StatusCode::UNAVAILABLE);
  gate.Release(ServerPhase::kRefusing);

  shutdown.join();
  CHECK(t.server->phase() == ServerPhase::kStopped);
  CHECK(gate.Seen() == std::vector<ServerPhase>{ServerPhase::kServing, ServerPhase::kDraining,
                                                ServerPhase::kRefusing, ServerPhase::kStopping,
                                                ServerPhase::kStopped});
  t.server->Shutdown();  // idempotent
}

TEST_CASE("shutdown: work in flight when refusing starts is still answered", "[e2e]") {
  HoldFirstBatch holder;
  PhaseGate gate({ServerPhase::kRefusing});
  server::ServerHooks hooks;
  hooks.batching_observer = &holder;
  hooks.on_phase = gate.Hook();
  TestServer t = StartServer(OneAtATimeConfig(), hooks);
  const v1::SuggestRequest request = MakeRequest(Regimes()[2].options, 15, 12, "held");

  // A stream message held on the executor, and a unary call queued behind it.
  auto stream_context = GuardedContext();
  std::unique_ptr<Stream> stream = t.stub->SuggestStream(stream_context.get());
  REQUIRE(stream->Write(request));
  REQUIRE(holder.WaitStarted());
  grpc::Status unary_status;
  v1::SuggestResponse unary_response;
  std::thread unary([&] {
    auto context = GuardedContext();
    unary_status = t.stub->Suggest(context.get(), request, &unary_response);
  });
  REQUIRE(holder.WaitAccepted(2));

  std::thread shutdown([&] { t.server->Shutdown(); });
  REQUIRE(gate.WaitReached(ServerPhase::kRefusing));
  holder.Release();

  v1::SuggestResponse response;
  REQUIRE(stream->Read(&response));
  CHECK(CheckRouteResponse(request, response) == "");
  CHECK_FALSE(stream->Read(&response));
  CHECK(stream->Finish().error_code() == grpc::StatusCode::UNAVAILABLE);
  unary.join();
  CHECK(unary_status.ok());
  CHECK(CheckRouteResponse(request, unary_response) == "");

  gate.Release(ServerPhase::kRefusing);
  shutdown.join();
  CHECK(t.server->planner_stats().executed == 2);
}

TEST_CASE("shutdown: what is still in flight when the grace period ends is answered UNAVAILABLE, "
          "not cancelled",
          "[e2e]") {
  HoldFirstBatch holder;
  server::ServerHooks hooks;
  hooks.batching_observer = &holder;
  StreamWatcher watcher;
  hooks.service_observer = &watcher;
  TestServer t = StartServer(OneAtATimeConfig({"shutdown.grace_period_s=0.2"}), hooks);
  const v1::SuggestRequest request = MakeRequest(Regimes()[2].options, 15, 12, "held");

  // A unary call held on the executor, and a stream message queued behind it.
  grpc::Status unary_status;
  std::thread unary([&] {
    v1::SuggestResponse response;
    auto context = GuardedContext();
    unary_status = t.stub->Suggest(context.get(), request, &response);
  });
  REQUIRE(holder.WaitStarted());
  auto stream_context = GuardedContext();
  std::unique_ptr<Stream> stream = t.stub->SuggestStream(stream_context.get());
  REQUIRE(stream->Write(request));
  REQUIRE(holder.WaitAccepted(2));

  // The batch stays held past the grace period: both are answered by the server, not cut.
  std::thread shutdown([&] { t.server->Shutdown(); });
  unary.join();
  CHECK(unary_status.error_code() == grpc::StatusCode::UNAVAILABLE);
  CHECK(unary_status.error_message() == "server shut down before the call was answered");
  v1::SuggestResponse response;
  REQUIRE(stream->Read(&response));
  CHECK(response.request_id() == "held");
  CHECK(response.error().code() == grpc::StatusCode::UNAVAILABLE);
  CHECK_FALSE(stream->Read(&response));
  CHECK(stream->Finish().error_code() == grpc::StatusCode::UNAVAILABLE);

  holder.Release();  // the held batch returns; its answer goes nowhere
  shutdown.join();
  CHECK(watcher.WaitClosed(1) == std::vector<grpc::StatusCode>{grpc::StatusCode::UNAVAILABLE});
}

TEST_CASE("Start fails with a message naming server.address when the port is taken", "[e2e]") {
  TestServer t = StartServer(TestConfig());
  config::Config config = TestConfig();
  config.server.address = absl::StrCat("127.0.0.1:", t.server->port());
  absl::StatusOr<std::unique_ptr<server::RouteServer>> second =
      server::RouteServer::Start(config);
  REQUIRE_FALSE(second.ok());
  // The system's reason, not a guess.
  CHECK(second.status().message() ==
        absl::StrCat("server.address: cannot listen on \"", config.server.address,
                     "\": Address already in use"));
}

}  // namespace
}  // namespace routeserve::testing
