// End to end in one process, the limits of `limits.*` beyond max_stops: the largest message, the
// messages of one stream, a stream's outstanding messages, the calls open at once on one
// connection. Each test asserts what the server did (its observers' counts, the order of
// answers), never how long anything took.
#include <algorithm>
#include <map>
#include <thread>

#include "e2e_support.h"
#include "route_checks.h"

namespace routeserve::testing {
namespace {

using Stream = grpc::ClientReaderWriter<v1::SuggestRequest, v1::SuggestResponse>;

grpc::Status Suggest(v1::RouteService::Stub& stub, const v1::SuggestRequest& request,
                     v1::SuggestResponse* response) {
  auto context = GuardedContext();
  return stub.Suggest(context.get(), request, response);
}

// Counts streams open at once (and the most ever), and the stream messages read.
class StreamCounter final : public server::RouteServiceObserver {
 public:
  void OnArrived(server::RouteMethod method) override {
    if (method == server::RouteMethod::kSuggestStream) ++messages_read_;
  }
  void OnStreamOpened() override {
    absl::MutexLock lock(&mu_);
    ++opened_;
    ++open_;
    most_open_ = std::max(most_open_, open_);
  }
  void OnStreamClosed(grpc::StatusCode /*code*/) override {
    absl::MutexLock lock(&mu_);
    --open_;
  }
  int opened() {
    absl::MutexLock lock(&mu_);
    return opened_;
  }
  int most_open() {
    absl::MutexLock lock(&mu_);
    return most_open_;
  }
  int messages_read() const { return messages_read_.load(); }

 private:
  absl::Mutex mu_;
  int opened_ ABSL_GUARDED_BY(mu_) = 0;
  int open_ ABSL_GUARDED_BY(mu_) = 0;
  int most_open_ ABSL_GUARDED_BY(mu_) = 0;
  std::atomic<int> messages_read_{0};
};

// One message written and its answer read on an open stream.
void RoundTrip(Stream& stream, const v1::SuggestRequest& request) {
  REQUIRE(stream.Write(request));
  v1::SuggestResponse response;
  REQUIRE(stream.Read(&response));
  CHECK(CheckRouteResponse(request, response) == "");
}

TEST_CASE("limits.max_message_bytes: a larger Suggest is refused RESOURCE_EXHAUSTED by gRPC, "
          "and the server serves the next call on the same connection",
          "[e2e][limits]") {
  TestServer t = StartServer(TestConfig({"limits.max_message_bytes=4096"}));
  const v1::SuggestRequest large = MakeRequest(Regimes()[0].options, 128, 3, "large");
  const v1::SuggestRequest small = MakeRequest(Regimes()[0].options, 8, 4, "small");
  REQUIRE(large.ByteSizeLong() > 4096);
  REQUIRE(small.ByteSizeLong() <= 4096);

  v1::SuggestResponse response;
  const grpc::Status refused = Suggest(*t.stub, large, &response);
  INFO(refused.error_message());
  CHECK(refused.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
  // gRPC's own words, with both sizes: the message's and the limit.
  CHECK(absl::StrContains(refused.error_message(), "larger than max"));
  CHECK(absl::StrContains(refused.error_message(), "4096"));
  CHECK(t.server->planner_stats().accepted == 0);  // never reached the handler

  const grpc::Status served = Suggest(*t.stub, small, &response);
  INFO(served.error_message());
  REQUIRE(served.ok());
  CHECK(CheckRouteResponse(small, response) == "");
}

TEST_CASE("limits.max_message_bytes: a larger message on a stream ends that stream "
          "RESOURCE_EXHAUSTED, and the next stream is served",
          "[e2e][limits]") {
  TestServer t = StartServer(TestConfig({"limits.max_message_bytes=4096"}));
  const v1::SuggestRequest large = MakeRequest(Regimes()[0].options, 128, 3, "large");
  const v1::SuggestRequest small = MakeRequest(Regimes()[0].options, 8, 4, "small");

  {
    auto context = GuardedContext();
    std::unique_ptr<Stream> stream = t.stub->SuggestStream(context.get());
    RoundTrip(*stream, small);
    stream->Write(large);  // may or may not be refused locally once the call is gone
    v1::SuggestResponse response;
    CHECK_FALSE(stream->Read(&response));
    const grpc::Status status = stream->Finish();
    INFO(status.error_message());
    CHECK(status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
    CHECK(absl::StrContains(status.error_message(), "larger than max"));
  }
  auto context = GuardedContext();
  std::unique_ptr<Stream> stream = t.stub->SuggestStream(context.get());
  RoundTrip(*stream, small);
  REQUIRE(stream->WritesDone());
  CHECK(stream->Finish().ok());
}

TEST_CASE("limits.max_stream_messages: the message past the limit gets its own "
          "RESOURCE_EXHAUSTED, the ones before are answered, and the stream ends "
          "RESOURCE_EXHAUSTED",
          "[e2e][limits]") {
  StreamCounter counter;
  server::ServerHooks hooks;
  hooks.service_observer = &counter;
  TestServer t = StartServer(TestConfig({"limits.max_stream_messages=3"}), hooks);
  std::vector<v1::SuggestRequest> requests;
  for (int i = 0; i < 5; ++i) {
    requests.push_back(MakeRequest(Regimes()[1].options, 8, 60 + i, absl::StrCat("m", i)));
  }

  SECTION("a stream of exactly the limit ends OK") {
    auto context = GuardedContext();
    std::unique_ptr<Stream> stream = t.stub->SuggestStream(context.get());
    for (int i = 0; i < 3; ++i) REQUIRE(stream->Write(requests[i]));
    REQUIRE(stream->WritesDone());
    v1::SuggestResponse response;
    int answered = 0;
    while (stream->Read(&response)) {
      CHECK_FALSE(response.has_error());
      ++answered;
    }
    CHECK(answered == 3);
    CHECK(stream->Finish().ok());
  }

  SECTION("one more is refused and ends the stream") {
    auto context = GuardedContext();
    std::unique_ptr<Stream> stream = t.stub->SuggestStream(context.get());
    std::thread writer([&] {
      for (const v1::SuggestRequest& request : requests) {
        if (!stream->Write(request)) break;  // the server may have finished the call already
      }
      stream->WritesDone();
    });
    std::map<std::string, v1::SuggestResponse> answers;
    v1::SuggestResponse response;
    while (stream->Read(&response)) answers[response.request_id()] = response;
    writer.join();
    const grpc::Status status = stream->Finish();

    INFO(status.error_message());
    CHECK(status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
    CHECK(absl::StrContains(status.error_message(), "at most 3 messages per SuggestStream"));
    REQUIRE(answers.size() == 4);  // m4 was never read, so never answered
    for (int i = 0; i < 3; ++i) {
      INFO(requests[i].request_id());
      REQUIRE(answers.count(requests[i].request_id()) == 1);
      CHECK(CheckRouteResponse(requests[i], answers[requests[i].request_id()]) == "");
    }
    const v1::SuggestResponse& refused = answers["m3"];
    REQUIRE(refused.has_error());
    CHECK(refused.error().code() == static_cast<int>(grpc::StatusCode::RESOURCE_EXHAUSTED));
    CHECK(refused.error().message() == status.error_message());
    CHECK(counter.messages_read() == 4);
  }
}

TEST_CASE("limits.max_stream_outstanding: a stream whose work is held is read no further than "
          "the limit, and every message is answered once the work goes on",
          "[e2e][limits]") {
  HoldFirstBatch holder;
  StreamCounter counter;
  server::ServerHooks hooks;
  hooks.batching_observer = &holder;
  hooks.service_observer = &counter;
  TestServer t = StartServer(OneAtATimeConfig({"limits.max_stream_outstanding=2"}), hooks);
  std::vector<v1::SuggestRequest> requests;
  for (int i = 0; i < 5; ++i) {
    requests.push_back(MakeRequest(Regimes()[0].options, 8, 80 + i, absl::StrCat("s", i)));
  }

  auto held_context = GuardedContext();
  std::unique_ptr<Stream> held = t.stub->SuggestStream(held_context.get());
  for (const v1::SuggestRequest& request : requests) REQUIRE(held->Write(request));
  REQUIRE(holder.WaitStarted());      // s0 runs, held on the executor
  REQUIRE(holder.WaitAccepted(2));    // s1 waits in the queue: 2 outstanding, reading stops

  // A message of another stream on the same connection, sent after s2..s4, is read and queued;
  // s2..s4 stay unread.
  auto other_context = GuardedContext();
  std::unique_ptr<Stream> other = t.stub->SuggestStream(other_context.get());
  const v1::SuggestRequest probe = MakeRequest(Regimes()[0].options, 8, 90, "probe");
  REQUIRE(other->Write(probe));
  REQUIRE(holder.WaitAccepted(3));
  CHECK(counter.messages_read() == 3);  // s0, s1 and the probe

  holder.Release();
  REQUIRE(held->WritesDone());
  std::map<std::string, int> answered;
  v1::SuggestResponse response;
  while (held->Read(&response)) {
    CHECK_FALSE(response.has_error());
    ++answered[response.request_id()];
  }
  CHECK(held->Finish().ok());
  CHECK(answered.size() == requests.size());
  REQUIRE(other->Read(&response));
  CHECK(CheckRouteResponse(probe, response) == "");
  REQUIRE(other->WritesDone());
  CHECK(other->Finish().ok());
  CHECK(counter.messages_read() == 6);
}

// Opens a second stream on the channel in a thread of its own (creating it may block while the
// client holds it): one round trip, then the end. `answered` is notified with its answer.
struct SecondStream {
  SecondStream(v1::RouteService::Stub& stub, const v1::SuggestRequest& request) {
    thread = std::thread([this, &stub, request] {
      started.Notify();
      auto context = GuardedContext();
      std::unique_ptr<Stream> stream = stub.SuggestStream(context.get());
      v1::SuggestResponse response;
      if (stream->Write(request) && stream->Read(&response)) {
        route_problem = CheckRouteResponse(request, response);
        answered.Notify();
      }
      stream->WritesDone();
      status = stream->Finish();
    });
  }
  ~SecondStream() {
    if (thread.joinable()) thread.join();
  }

  std::thread thread;
  absl::Notification started;
  absl::Notification answered;
  std::string route_problem = "no answer";
  grpc::Status status;
};

TEST_CASE("limits.max_concurrent_streams: with 1, a second call on a connection waits until "
          "the first ends, and without a limit it runs beside it",
          "[e2e][limits]") {
  const v1::SuggestRequest first = MakeRequest(Regimes()[0].options, 8, 11, "first");
  const v1::SuggestRequest second = MakeRequest(Regimes()[0].options, 8, 12, "second");
  StreamCounter counter;
  server::ServerHooks hooks;
  hooks.service_observer = &counter;

  SECTION("limit 1: held by the client until the first stream ends") {
    TestServer t = StartServer(TestConfig({"limits.max_concurrent_streams=1"}), hooks);
    auto context = GuardedContext();
    std::unique_ptr<Stream> stream = t.stub->SuggestStream(context.get());
    RoundTrip(*stream, first);  // open at the server; the client has the server's SETTINGS

    SecondStream other(*t.stub, second);
    REQUIRE(other.started.WaitForNotificationWithTimeout(kGuard));
    // More round trips on the first stream, sent after the second stream was started: the
    // first keeps being served while the second is still held.
    for (int i = 0; i < 3; ++i) RoundTrip(*stream, first);
    CHECK_FALSE(other.answered.HasBeenNotified());
    CHECK(counter.opened() == 1);

    REQUIRE(stream->WritesDone());
    CHECK(stream->Finish().ok());
    REQUIRE(other.answered.WaitForNotificationWithTimeout(kGuard));
    other.thread.join();
    CHECK(other.route_problem == "");
    CHECK(other.status.ok());
    // (Not most_open(): the server may open the second stream before it has closed the first,
    // once the client has seen the first end.)
    CHECK(counter.opened() == 2);
  }

  SECTION("no limit: the second stream is answered while the first is open") {
    TestServer t = StartServer(TestConfig(), hooks);
    auto context = GuardedContext();
    std::unique_ptr<Stream> stream = t.stub->SuggestStream(context.get());
    RoundTrip(*stream, first);

    SecondStream other(*t.stub, second);
    REQUIRE(other.answered.WaitForNotificationWithTimeout(kGuard));
    CHECK(counter.most_open() == 2);
    RoundTrip(*stream, first);
    REQUIRE(stream->WritesDone());
    CHECK(stream->Finish().ok());
    other.thread.join();
    CHECK(other.route_problem == "");
    CHECK(other.status.ok());
  }
}

}  // namespace
}  // namespace routeserve::testing
