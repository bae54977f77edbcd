// End to end in one process, what a client puts on the wire: raw bytes through gRPC's generic
// stub, for what no generated client would send. A message that does not parse gets an answer
// of its own (on a stream, the stream goes on), a message whose size the decoder refuses costs
// nothing else, and both are counted like any answer.
#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "e2e_support.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/impl/codegen/proto_utils.h"
#include "http_client.h"
#include "route_checks.h"
#include "scrape.h"

namespace routeserve::testing {
namespace {

constexpr char kSuggest[] = "/routeserve.v1.RouteService/Suggest";
constexpr char kSuggestStream[] = "/routeserve.v1.RouteService/SuggestStream";

grpc::ByteBuffer BufferOf(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

std::string WireOf(const v1::SuggestRequest& request) {
  std::string bytes;
  REQUIRE(request.SerializeToString(&bytes));
  return bytes;
}

v1::SuggestResponse ResponseOf(grpc::ByteBuffer& buffer) {
  v1::SuggestResponse response;
  REQUIRE(grpc::SerializationTraits<v1::SuggestResponse>::Deserialize(&buffer, &response).ok());
  return response;
}

// One call of raw bytes, one operation at a time on its own completion queue.
class RawCall {
 public:
  explicit RawCall(const std::shared_ptr<grpc::Channel>& channel) : stub_(channel) {
    context_.set_deadline(absl::ToChronoTime(absl::Now() + kGuard));
  }
  ~RawCall() {
    cq_.Shutdown();
    void* tag;
    bool ok;
    while (cq_.Next(&tag, &ok)) {
    }
  }

  // Suggest with `bytes`; the status, and the response when OK.
  grpc::Status Unary(const std::string& bytes, v1::SuggestResponse* response) {
    grpc::ByteBuffer request = BufferOf(bytes);
    std::unique_ptr<grpc::GenericClientAsyncResponseReader> call =
        stub_.PrepareUnaryCall(&context_, kSuggest, request, &cq_);
    call->StartCall();
    grpc::ByteBuffer reply;
    grpc::Status status;
    call->Finish(&reply, &status, Tag());
    Wait();
    if (status.ok()) *response = ResponseOf(reply);
    return status;
  }

  // SuggestStream: every message of `messages`, then the client's end; the responses read
  // until the server's end, and its status.
  grpc::Status Stream(const std::vector<std::string>& messages,
                      std::vector<v1::SuggestResponse>* responses) {
    std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call =
        stub_.PrepareCall(&context_, kSuggestStream, &cq_);
    call->StartCall(Tag());
    REQUIRE(Wait());
    for (const std::string& message : messages) {
      call->Write(BufferOf(message), Tag());
      REQUIRE(Wait());
    }
    call->WritesDone(Tag());
    REQUIRE(Wait());
    for (;;) {
      grpc::ByteBuffer reply;
      call->Read(&reply, Tag());
      if (!Wait()) break;
      responses->push_back(ResponseOf(reply));
    }
    grpc::Status status;
    call->Finish(&status, Tag());
    Wait();
    return status;
  }

 private:
  void* Tag() { return reinterpret_cast<void*>(++tags_); }
  // The outcome of the one operation outstanding.
  bool Wait() {
    void* tag = nullptr;
    bool ok = false;
    REQUIRE(cq_.Next(&tag, &ok));
    REQUIRE(tag == reinterpret_cast<void*>(tags_));
    return ok;
  }

  grpc::GenericStub stub_;
  grpc::ClientContext context_;
  grpc::CompletionQueue cq_;
  intptr_t tags_ = 0;
};

// routeserve_requests_total of `method` and `code` on a scrape of the server's /metrics, once
// `total` answers are counted in all (the count comes a moment after the answer).
double Counted(const TestServer& t, const std::string& method, const std::string& code,
               int total) {
  const absl::Time until = absl::Now() + kGuard;
  for (;;) {
    absl::StatusOr<HttpResponse> scrape =
        HttpGet("127.0.0.1", t.server->metrics_port(), "/metrics");
    REQUIRE(scrape.ok());
    const std::map<std::string, double> samples = ParseScrape(scrape->body);
    double counted = 0;
    for (const auto& [series, value] : samples) {
      if (absl::StartsWith(series, "routeserve_requests_total{")) counted += value;
    }
    if (counted >= total || absl::Now() > until) {
      return SampleOf(samples, absl::StrCat("routeserve_requests_total{code=\"", code,
                                            "\",method=\"", method, "\"}"));
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
}

TEST_CASE("a stream message that does not parse gets its own INVALID_ARGUMENT and the stream "
          "goes on",
          "[e2e][wire]") {
  TestServer t = StartServer(TestConfig());
  const routing::GeneratorOptions options = Regimes()[1].options;
  std::map<std::string, v1::SuggestRequest> requests;
  std::vector<std::string> messages;
  for (int i = 0; i < 11; ++i) {
    const std::string id = absl::StrCat("r", i);
    requests[id] = MakeRequest(options, 9, 70 + i, id);
    messages.push_back(WireOf(requests[id]));
  }
  // The sixth message, cut short: its request_id still readable, its stops not.
  messages[5].resize(messages[5].size() - 3);
  requests.erase("r5");

  RawCall call(t.channel);
  std::vector<v1::SuggestResponse> responses;
  const grpc::Status status = call.Stream(messages, &responses);
  INFO(status.error_message());
  CHECK(status.ok());
  REQUIRE(responses.size() == 11);
  int routes = 0;
  for (const v1::SuggestResponse& response : responses) {
    INFO(response.request_id());
    if (response.request_id() == "r5") {
      REQUIRE(response.has_error());
      CHECK(response.error().code() == grpc::StatusCode::INVALID_ARGUMENT);
      CHECK(absl::StartsWith(response.error().message(),
                             "message 6 is not a valid SuggestRequest: "));
      continue;
    }
    REQUIRE(requests.contains(response.request_id()));
    CHECK(CheckRouteResponse(requests[response.request_id()], response) == "");
    ++routes;
  }
  CHECK(routes == 10);
  CHECK(Counted(t, "SuggestStream", "INVALID_ARGUMENT", 11) == 1);
  CHECK(Counted(t, "SuggestStream", "OK", 11) == 10);
}

TEST_CASE("a Suggest that does not parse is answered INVALID_ARGUMENT and counted", "[e2e][wire]") {
  TestServer t = StartServer(TestConfig());
  const v1::SuggestRequest request = MakeRequest(Regimes()[0].options, 12, 5, "whole");
  const std::string bytes = WireOf(request);

  v1::SuggestResponse response;
  const grpc::Status cut = RawCall(t.channel).Unary(bytes.substr(0, bytes.size() / 2), &response);
  CHECK(cut.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(absl::StartsWith(cut.error_message(), "request is not a valid SuggestRequest: "));

  const grpc::Status whole = RawCall(t.channel).Unary(bytes, &response);
  REQUIRE(whole.ok());
  CHECK(CheckRouteResponse(request, response) == "");
  CHECK(response.request_id() == "whole");
  CHECK(Counted(t, "Suggest", "INVALID_ARGUMENT", 2) == 1);
  CHECK(Counted(t, "Suggest", "OK", 2) == 1);
}

TEST_CASE("hostile messages at the size limit are refused by the stop count, and good calls go "
          "on being answered",
          "[e2e][wire]") {
  const config::Config config = TestConfig();
  TestServer t = StartServer(config);
  // As many empty stops as the derived message limit lets through: about 110,000.
  const int limit = config.limits.MessageBytesLimit();
  std::string hostile;
  while (static_cast<int>(hostile.size()) + 2 <= limit - 16) hostile.append("\x1a\x00", 2);
  const int64_t stops = static_cast<int64_t>(hostile.size()) / 2;

  const v1::SuggestRequest request = MakeRequest(Regimes()[2].options, 20, 8, "good");
  std::vector<std::thread> callers;
  std::atomic<int> refused{0};
  for (int i = 0; i < 16; ++i) {
    callers.emplace_back([&] {
      v1::SuggestResponse response;
      const grpc::Status status = RawCall(t.channel).Unary(hostile, &response);
      if (status.error_code() == grpc::StatusCode::INVALID_ARGUMENT &&
          status.error_message() ==
              absl::StrCat("stops: ", stops, " stops, above the limit of 128")) {
        ++refused;
      }
    });
  }
  v1::SuggestResponse response;
  auto context = GuardedContext();
  const grpc::Status during = t.stub->Suggest(context.get(), request, &response);
  for (std::thread& caller : callers) caller.join();
  CHECK(refused == 16);
  CHECK(during.ok());
  CHECK(CheckRouteResponse(request, response) == "");

  // One byte over the limit is gRPC's to refuse, before the message is read in full.
  hostile.append(std::string(limit - hostile.size() + 1, '\0'));
  const grpc::Status over = RawCall(t.channel).Unary(hostile, &response);
  CHECK(over.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);

  auto after_context = GuardedContext();
  CHECK(t.stub->Suggest(after_context.get(), request, &response).ok());
}

}  // namespace
}  // namespace routeserve::testing
