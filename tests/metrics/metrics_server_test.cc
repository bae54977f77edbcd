// MetricsServer over real loopback sockets against the clients that blocked the endpoint once:
// silent, dripping, idle by the hundred, never reading; and the HTTP it must speak: LF-only
// lines, pipelining, HEAD, 404, 405, an oversized header; its limits, its idle timeout, its
// destructor and its start-up errors. No test asserts a duration: each waits for a state.
#include <catch2/catch.hpp>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "metrics/metrics_server.h"
#include "metrics/serving_metrics.h"
#include "test_clients.h"
#include "tests/eventually.h"

namespace routeserve::testing {
namespace {

using metrics::MetricsServer;
using metrics::ServingMetrics;

constexpr int kPerAddress = MetricsServer::kMaxConnectionsPerAddress;

struct Served {
  std::shared_ptr<ServingMetrics> metrics;
  std::unique_ptr<MetricsServer> server;
  int port() const { return server->port(); }
};

Served Serve() {
  Served served;
  served.metrics = std::make_shared<ServingMetrics>(metrics::ServingMetricsOptions{
      .bucket_sizes = {8, 16}, .max_batch_size = 8, .version = "1.2.3"});
  absl::StatusOr<std::unique_ptr<MetricsServer>> server =
      MetricsServer::Start("127.0.0.1:0", served.metrics);
  INFO(server.status().ToString());
  REQUIRE(server.ok());
  served.server = *std::move(server);
  return served;
}

// Many series, for a scrape of about 1 MB: answers that back up behind a client that never
// reads them.
void AddManySeries(ServingMetrics& metrics) {
  for (int i = 0; i < 500; ++i) {
    metrics.RequestArrived();
    metrics.RequestAnswered(absl::StrCat("Method", i), "OK", absl::Milliseconds(1));
  }
}

TestConnection Connect(int port, const std::string& source, int receive_buffer = 0) {
  absl::StatusOr<TestConnection> connection = TestConnection::Open(port, source, receive_buffer);
  INFO(connection.status().ToString());
  REQUIRE(connection.ok());
  return *std::move(connection);
}

HttpAnswer Ask(TestConnection& connection, const std::string& request, bool head = false) {
  REQUIRE(connection.Send(request).ok());
  absl::StatusOr<HttpAnswer> answer = connection.Read(head);
  INFO(answer.status().ToString());
  REQUIRE(answer.ok());
  return *std::move(answer);
}

// A scrape over a connection of its own from `source`: its answer must be a full scrape.
void CheckScrapeAnswered(int port, const std::string& source = "127.0.0.2") {
  TestConnection scraper = Connect(port, source);
  const HttpAnswer answer = Ask(scraper, GetRequest());
  CHECK(answer.status == 200);
  CHECK(absl::StartsWith(answer.header("content-type"), "text/plain; version=0.0.4"));
  CHECK(absl::StrContains(answer.body, "routeserve_build_info{"));
}

// `count` idle connections, kPerAddress from each of 127.0.<subnet>.1, .2, ...
std::vector<TestConnection> IdleConnections(int port, int count, int subnet) {
  std::vector<TestConnection> idle;
  for (int i = 0; i < count; ++i) {
    idle.push_back(Connect(port, absl::StrCat("127.0.", subnet, ".", 1 + i / kPerAddress)));
  }
  return idle;
}

bool HoldsConnections(const MetricsServer& server, int count) {
  return Eventually([&] { return server.connections() == count; }, kClientGuard);
}

TEST_CASE("a scrape is answered while a silent and a dripping connection are held open",
          "[metrics][http]") {
  Served s = Serve();
  TestConnection silent = Connect(s.port(), "127.0.0.11");
  DrippingClient dripping(Connect(s.port(), "127.0.0.12"), /*period_ms=*/20);
  REQUIRE(HoldsConnections(*s.server, 2));
  REQUIRE(Eventually([&] { return dripping.sent() >= 3; }, kClientGuard));

  CheckScrapeAnswered(s.port());
  // Neither was dropped to make way.
  CHECK(silent.IsOpen());
  CHECK_FALSE(dripping.failed());
  CHECK(dripping.connection().IsOpen());
  // The silent one is answered once it asks.
  CHECK(Ask(silent, GetRequest()).status == 200);
}

TEST_CASE("a scrape is answered with 200 idle connections open, from 13 addresses",
          "[metrics][http]") {
  Served s = Serve();
  std::vector<TestConnection> idle = IdleConnections(s.port(), 200, /*subnet=*/1);
  REQUIRE(HoldsConnections(*s.server, 200));
  CheckScrapeAnswered(s.port());
  for (const TestConnection& connection : idle) CHECK(connection.IsOpen());
}

TEST_CASE("one connection past the per-address limit is closed at once; the address's others "
          "and other addresses are served",
          "[metrics][http]") {
  Served s = Serve();
  std::vector<TestConnection> full = IdleConnections(s.port(), kPerAddress, /*subnet=*/2);
  REQUIRE(HoldsConnections(*s.server, kPerAddress));

  TestConnection refused = Connect(s.port(), "127.0.2.1");
  CHECK(refused.WaitForClose());
  CHECK_FALSE(refused.Read().ok());  // closed without a byte
  CHECK(s.server->connections() == kPerAddress);

  CHECK(Ask(full.front(), GetRequest()).status == 200);
  CheckScrapeAnswered(s.port());
}

TEST_CASE("at the connection limit a newcomer is closed at once, and served once a slot frees",
          "[metrics][http]") {
  Served s = Serve();
  std::vector<TestConnection> idle =
      IdleConnections(s.port(), MetricsServer::kMaxConnections, /*subnet=*/3);
  REQUIRE(HoldsConnections(*s.server, MetricsServer::kMaxConnections));

  TestConnection refused = Connect(s.port(), "127.0.0.2");
  CHECK(refused.WaitForClose());
  CHECK_FALSE(refused.Read().ok());

  idle.pop_back();
  REQUIRE(HoldsConnections(*s.server, MetricsServer::kMaxConnections - 1));
  CheckScrapeAnswered(s.port());
}

TEST_CASE("a silent connection is closed after the idle timeout", "[metrics][http]") {
  Served s = Serve();
  TestConnection silent = Connect(s.port(), "127.0.0.11");
  REQUIRE(HoldsConnections(*s.server, 1));
  CHECK(HoldsConnections(*s.server, 0));
  CHECK(silent.WaitForClose());
}

TEST_CASE("a client that never reads its answers holds up no scrape, and is closed after the "
          "idle timeout",
          "[metrics][http]") {
  Served s = Serve();
  AddManySeries(*s.metrics);
  TestConnection reader = Connect(s.port(), "127.0.0.13", /*receive_buffer=*/4096);
  std::string requests;
  for (int i = 0; i < 20; ++i) requests += GetRequest();
  REQUIRE(reader.Send(requests).ok());
  REQUIRE(HoldsConnections(*s.server, 1));

  CheckScrapeAnswered(s.port());
  CHECK(HoldsConnections(*s.server, 0));
  CHECK(reader.WaitForClose());
}

TEST_CASE("LF-only lines, pipelined requests and HEAD are answered on one connection",
          "[metrics][http]") {
  Served s = Serve();
  TestConnection connection = Connect(s.port(), "127.0.0.1");

  const HttpAnswer lf_only = Ask(connection, "GET /metrics HTTP/1.1\nHost: 127.0.0.1\n\n");
  CHECK(lf_only.status == 200);
  CHECK(absl::StrContains(lf_only.body, "routeserve_build_info{"));

  // Three requests in one write; their answers come in order.
  REQUIRE(connection.Send(GetRequest() + GetRequest("/metrics", "HEAD") + GetRequest()).ok());
  for (const bool head : {false, true, false}) {
    INFO("HEAD: " << head);
    absl::StatusOr<HttpAnswer> answer = connection.Read(head);
    REQUIRE(answer.ok());
    CHECK(answer->status == 200);
    CHECK(std::stoi(answer->header("content-length")) > 0);
    CHECK(absl::StrContains(answer->body, "routeserve_build_info{") == !head);
  }
  CHECK(connection.IsOpen());
}

TEST_CASE("another path is 404, another method 405 naming GET and HEAD; the query is ignored",
          "[metrics][http]") {
  Served s = Serve();
  TestConnection connection = Connect(s.port(), "127.0.0.1");
  CHECK(Ask(connection, GetRequest("/")).status == 404);
  CHECK(Ask(connection, GetRequest("/metricsx")).status == 404);
  CHECK(Ask(connection, GetRequest("/metrics?name[]=up")).status == 200);
  for (const std::string method : {"POST", "DELETE"}) {
    INFO(method);
    TestConnection other = Connect(s.port(), "127.0.0.1");
    const HttpAnswer answer = Ask(other, GetRequest("/metrics", method));
    CHECK(answer.status == 405);
    CHECK(answer.header("allow") == "GET, HEAD");
  }
  CHECK(Ask(connection, GetRequest()).status == 200);  // kept alive through the 404s
}

TEST_CASE("a request header beyond the connection's memory is refused and the connection closed",
          "[metrics][http]") {
  Served s = Serve();
  TestConnection connection = Connect(s.port(), "127.0.0.1");
  const std::string header(MetricsServer::kConnectionMemoryBytes, 'a');
  // The server may close before the whole request is written: the send's result is moot.
  (void)connection.Send(
      absl::StrCat("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ", header, "\r\n\r\n"));
  absl::StatusOr<HttpAnswer> answer = connection.Read();
  INFO(answer.status().ToString());
  REQUIRE(answer.ok());
  CHECK(answer->status == 431);
  CHECK(connection.WaitForClose());
  CheckScrapeAnswered(s.port());
}

TEST_CASE("the destructor returns whatever the clients do, and their connections are closed",
          "[metrics][http]") {
  Served s = Serve();
  AddManySeries(*s.metrics);
  const int port = s.port();
  TestConnection silent = Connect(port, "127.0.0.11");
  DrippingClient dripping(Connect(port, "127.0.0.12"), /*period_ms=*/20);
  TestConnection reader = Connect(port, "127.0.0.13", /*receive_buffer=*/4096);
  std::string requests;
  for (int i = 0; i < 20; ++i) requests += GetRequest();
  REQUIRE(reader.Send(requests).ok());
  REQUIRE(HoldsConnections(*s.server, 3));
  REQUIRE(Eventually([&] { return dripping.sent() >= 3; }, kClientGuard));

  s.server.reset();
  const bool returned = true;
  CHECK(returned);

  CHECK(silent.WaitForClose());
  CHECK(reader.WaitForClose());
  CHECK(dripping.connection().WaitForClose());
  dripping.Stop();
  CHECK_FALSE(TestConnection::Open(port).ok());  // nothing listens any more
}

TEST_CASE("scrapes are empty once the collectable is gone", "[metrics][http]") {
  Served s = Serve();
  s.metrics.reset();
  TestConnection connection = Connect(s.port(), "127.0.0.1");
  const HttpAnswer answer = Ask(connection, GetRequest());
  CHECK(answer.status == 200);
  CHECK(answer.body.empty());
}

TEST_CASE("an address that cannot be served is an error naming metrics.address and the reason",
          "[metrics]") {
  Served s = Serve();
  absl::StatusOr<std::unique_ptr<MetricsServer>> taken =
      MetricsServer::Start(s.server->address(), s.metrics);
  REQUIRE_FALSE(taken.ok());
  CHECK(taken.status().code() == absl::StatusCode::kUnavailable);
  CHECK(absl::StartsWith(taken.status().message(), "metrics.address"));
  CHECK(absl::StrContains(taken.status().message(), s.server->address()));
  CHECK(absl::StrContains(taken.status().message(), std::strerror(EADDRINUSE)));

  for (const std::string address : {"no-port", "127.0.0.1:"}) {
    INFO(address);
    absl::StatusOr<std::unique_ptr<MetricsServer>> bad = MetricsServer::Start(address, s.metrics);
    CHECK(bad.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(absl::StartsWith(bad.status().message(), "metrics.address"));
  }
  absl::StatusOr<std::unique_ptr<MetricsServer>> unknown =
      MetricsServer::Start("no-such-host.invalid:0", s.metrics);
  CHECK(unknown.status().code() == absl::StatusCode::kUnavailable);
  CHECK(absl::StrContains(unknown.status().message(), "no-such-host.invalid"));
}

}  // namespace
}  // namespace routeserve::testing
