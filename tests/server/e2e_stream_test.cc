// End to end in one process, SuggestStream: many messages while reading, per-message errors,
// duplicate request_ids in flight, per-message timeouts.
#include <map>
#include <thread>

#include "e2e_support.h"
#include "route_checks.h"

namespace routeserve::testing {
namespace {

using Stream = grpc::ClientReaderWriter<v1::SuggestRequest, v1::SuggestResponse>;

TEST_CASE("SuggestStream answers hundreds of messages, each request_id exactly once", "[e2e]") {
  TestServer t = StartServer(TestConfig());
  constexpr int kMessages = 300;
  std::map<std::string, v1::SuggestRequest> requests;
  const std::vector<Regime> regimes = Regimes();
  for (int i = 0; i < kMessages; ++i) {
    const std::string id = absl::StrCat("m", i);
    requests[id] = MakeRequest(regimes[i % regimes.size()].options, 3 + i % 23, 1000 + i, id);
  }

  auto context = GuardedContext();
  std::unique_ptr<Stream> stream = t.stub->SuggestStream(context.get());
  std::thread writer([&] {
    for (const auto& [id, request] : requests) {
      if (!stream->Write(request)) break;
    }
    stream->WritesDone();
  });
  std::map<std::string, int> answers;
  std::vector<std::string> failures;
  v1::SuggestResponse response;
  while (stream->Read(&response)) {
    ++answers[response.request_id()];
    auto it = requests.find(response.request_id());
    if (it == requests.end()) {
      failures.push_back("unknown request_id " + response.request_id());
      continue;
    }
    const std::string problem = CheckRouteResponse(it->second, response);
    if (!problem.empty()) failures.push_back(response.request_id() + ": " + problem);
  }
  writer.join();
  const grpc::Status status = stream->Finish();
  INFO(status.error_message());
  CHECK(status.ok());
  CHECK(failures == std::vector<std::string>{});
  CHECK(answers.size() == requests.size());
  for (const auto& [id, count] : answers) {
    INFO(id);
    CHECK(count == 1);
  }
}

TEST_CASE("a bad message gets its own error and the stream goes on", "[e2e]") {
  TestServer t = StartServer(TestConfig());
  const routing::GeneratorOptions options = Regimes()[1].options;
  std::vector<v1::SuggestRequest> requests;
  for (int i = 0; i < 20; ++i) {
    requests.push_back(MakeRequest(options, 8, 50 + i, absl::StrCat("r", i)));
  }
  requests[5].mutable_stops(3)->mutable_position()->set_lng_deg(200);  // bad coordinate
  requests[9].clear_request_id();                                      // no request_id
  requests[12].set_timeout_s(-1);                                      // bad timeout

  auto context = GuardedContext();
  std::unique_ptr<Stream> stream = t.stub->SuggestStream(context.get());
  std::thread writer([&] {
    for (const v1::SuggestRequest& request : requests) {
      if (!stream->Write(request)) break;
    }
    stream->WritesDone();
  });
  std::map<std::string, v1::SuggestResponse> answers;
  v1::SuggestResponse response;
  while (stream->Read(&response)) answers[response.request_id()] = response;
  writer.join();
  CHECK(stream->Finish().ok());

  REQUIRE(answers.size() == 20);  // 19 ids and the empty one
  const v1::SuggestResponse& bad = answers.at("r5");
  REQUIRE(bad.has_error());
  CHECK(bad.error().code() == static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  CHECK(absl::StartsWith(bad.error().message(), "stops[3].position"));
  const v1::SuggestResponse& anonymous = answers.at("");
  REQUIRE(anonymous.has_error());
  CHECK(anonymous.error().code() == static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  CHECK(absl::StartsWith(anonymous.error().message(), "request_id"));
  const v1::SuggestResponse& bad_timeout = answers.at("r12");
  REQUIRE(bad_timeout.has_error());
  CHECK(absl::StartsWith(bad_timeout.error().message(), "timeout_s"));
  for (int i = 0; i < 20; ++i) {
    if (i == 5 || i == 9 || i == 12) continue;
    INFO(i);
    CHECK(CheckRouteResponse(requests[i], answers.at(requests[i].request_id())) == "");
  }
}

TEST_CASE("a request_id already in flight on the stream gets its own error", "[e2e]") {
  HoldFirstBatch holder;
  server::ServerHooks hooks;
  hooks.batching_observer = &holder;
  TestServer t = StartServer(OneAtATimeConfig(), hooks);
  const v1::SuggestRequest request = MakeRequest(Regimes()[0].options, 10, 77, "x");

  auto context = GuardedContext();
  std::unique_ptr<Stream> stream = t.stub->SuggestStream(context.get());
  REQUIRE(stream->Write(request));
  REQUIRE(holder.WaitStarted());  // "x" is in flight, held on the executor
  REQUIRE(stream->Write(request));

  v1::SuggestResponse response;
  REQUIRE(stream->Read(&response));  // the duplicate's error comes first: "x" is still held
  CHECK(response.request_id() == "x");
  REQUIRE(response.has_error());
  CHECK(response.error().code() == static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  CHECK(absl::StartsWith(response.error().message(), "request_id"));

  holder.Release();
  REQUIRE(stream->Read(&response));
  CHECK(CheckRouteResponse(request, response) == "");

  // Once answered, the id may be used again.
  REQUIRE(stream->Write(request));
  REQUIRE(stream->Read(&response));
  CHECK(CheckRouteResponse(request, response) == "");
  REQUIRE(stream->WritesDone());
  CHECK_FALSE(stream->Read(&response));
  CHECK(stream->Finish().ok());
}

TEST_CASE("a stream message whose timeout passes before its work starts gets "
          "DEADLINE_EXCEEDED as its error",
          "[e2e]") {
  HoldFirstBatch holder;
  batching::FakeClock clock(absl::Now());  // stands still unless the test moves it
  server::ServerHooks hooks;
  hooks.batching_observer = &holder;
  hooks.clock = &clock;
  TestServer t = StartServer(OneAtATimeConfig(), hooks);
  v1::SuggestRequest first = MakeRequest(Regimes()[0].options, 10, 78, "first");
  v1::SuggestRequest timed = MakeRequest(Regimes()[0].options, 10, 79, "timed");
  timed.set_timeout_s(5);

  auto context = GuardedContext();
  std::unique_ptr<Stream> stream = t.stub->SuggestStream(context.get());
  REQUIRE(stream->Write(first));
  REQUIRE(holder.WaitStarted());
  REQUIRE(stream->Write(timed));
  REQUIRE(holder.WaitAccepted(2));
  // The server's time is past "timed"'s arrival + 5 s, not past the stream's guard deadline.
  clock.Advance(absl::Seconds(20));
  holder.Release();
  REQUIRE(stream->WritesDone());

  std::map<std::string, v1::SuggestResponse> answers;
  v1::SuggestResponse response;
  while (stream->Read(&response)) answers[response.request_id()] = response;
  CHECK(stream->Finish().ok());
  REQUIRE(answers.size() == 2);
  CHECK(CheckRouteResponse(first, answers.at("first")) == "");
  REQUIRE(answers.at("timed").has_error());
  CHECK(answers.at("timed").error().code() ==
        static_cast<int>(grpc::StatusCode::DEADLINE_EXCEEDED));
  CHECK(t.server->planner_stats().expired == 1);
  CHECK(t.server->planner_stats().executed == 1);
}

TEST_CASE("a cancelled stream ends cleanly and its queued work is never run", "[e2e]") {
  HoldFirstBatch holder;
  StreamWatcher watcher;
  server::ServerHooks hooks;
  hooks.batching_observer = &holder;
  hooks.service_observer = &watcher;
  TestServer t = StartServer(OneAtATimeConfig(), hooks);

  auto context = GuardedContext();
  std::unique_ptr<Stream> stream = t.stub->SuggestStream(context.get());
  for (int i = 0; i < 5; ++i) {
    REQUIRE(stream->Write(MakeRequest(Regimes()[0].options, 10, 80 + i, absl::StrCat("c", i))));
  }
  REQUIRE(holder.WaitStarted());    // c0 held on the executor
  REQUIRE(holder.WaitAccepted(5));  // c1..c4 queued
  context->TryCancel();
  CHECK(stream->Finish().error_code() == grpc::StatusCode::CANCELLED);
  // The server's stream has ended (OnDone) and was cancelled before the executor goes on;
  // its cancellation reached the planner then: c1..c4 are out of the queue already.
  CHECK(watcher.WaitClosed(1) == std::vector<grpc::StatusCode>{grpc::StatusCode::CANCELLED});
  CHECK(t.server->open_streams() == 0);
  CHECK(t.server->planner_stats().cancelled == 4);
  for (const int64_t waiting : t.server->planner_stats().depth) CHECK(waiting == 0);
  holder.Release();  // c0 completes into a finished stream

  // A unary call behind them in their bucket flushes it.
  const v1::SuggestRequest flush = MakeRequest(Regimes()[0].options, 10, 90, "flush");
  v1::SuggestResponse response;
  auto unary_context = GuardedContext();
  REQUIRE(t.stub->Suggest(unary_context.get(), flush, &response).ok());
  const batching::BatcherStats stats = t.server->planner_stats();
  CHECK(stats.executed == 2);  // c0 and the flush
  CHECK(stats.cancelled == 4);
}

}  // namespace
}  // namespace routeserve::testing
