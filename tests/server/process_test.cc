// Against the real binary: spawns routeserve on a free loopback port, reads "listening on" from
// its stderr, and checks the command line, server reflection, and shutdown on SIGTERM under
// load (every call answered OK or UNAVAILABLE, readiness NOT_SERVING during the drain delay
// while calls still succeed, exit code 0).
//
// This binary links neither routeserve_server nor grpc++_reflection: it carries its own
// reflection client stubs (tests/server/CMakeLists.txt).
#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "google/protobuf/util/json_util.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "route_checks.h"
#include "routeserve/v1/route_service.grpc.pb.h"
#include "scrape.h"
#include "server_process.h"

namespace routeserve::testing {
namespace {

// Generous: only a broken server makes a test wait this long.
constexpr absl::Duration kGuard = absl::Seconds(90);

std::vector<std::string> ServerArgs(std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"--config", ROUTESERVE_CONFIG_PATH,
                                   "--set", "server.address=127.0.0.1:0",
                                   "--set", "metrics.address=127.0.0.1:0",
                                   "--set", "shutdown.drain_delay_s=0.5"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

std::shared_ptr<grpc::Channel> ChannelTo(int port) {
  return grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                             grpc::InsecureChannelCredentials());
}

std::unique_ptr<grpc::ClientContext> Context(absl::Duration timeout) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  return context;
}



std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TMPDIR");
  return absl::StrCat(dir != nullptr ? dir : "/tmp", "/routeserve-", getpid(), "-", name);
}

TEST_CASE("routeserve-cli gets a feasible route of the shipped model from the running server "
          "with the default config, names a bad field, and checks health",
          "[process]") {
  ServerProcess process(ROUTESERVE_BINARY, ServerArgs());
  const std::string target = absl::StrCat("127.0.0.1:", process.WaitForPort());
  const std::string cli = ROUTESERVE_CLI_BINARY;

  // The request the CLI generates, then the server's answer to it.
  const CommandResult printed = RunCommand(cli + " --generate 20 --seed 5 --print-request");
  REQUIRE(printed.exit_code == 0);
  v1::SuggestRequest request;
  REQUIRE(google::protobuf::util::JsonStringToMessage(printed.output, &request).ok());
  REQUIRE(request.stops_size() == 20);

  const CommandResult answered =
      RunCommand(cli + " --target " + target + " --generate 20 --seed 5");
  INFO(answered.output);
  REQUIRE(answered.exit_code == 0);
  v1::SuggestResponse response;
  REQUIRE(google::protobuf::util::JsonStringToMessage(answered.output, &response).ok());
  // The default config serves the shipped model, refined.
  CHECK(CheckRouteResponse(request, response, v1::ROUTE_SOURCE_MODEL_REFINED) == "");
  CHECK(absl::StartsWith(response.model_version(), "route-v1-"));

  // A window that closes before it opens: INVALID_ARGUMENT naming the stop, exit code 1.
  v1::TimeWindow& window = *request.mutable_stops(3)->mutable_time_window();
  window.set_earliest(request.courier().now() + 600);
  window.set_latest(request.courier().now() + 60);
  std::string json;
  REQUIRE(google::protobuf::util::MessageToJsonString(request, &json).ok());
  const std::string request_path = TempPath("bad-request.json");
  const std::string stderr_path = TempPath("cli-stderr.txt");
  {
    FILE* file = fopen(request_path.c_str(), "w");
    REQUIRE(file != nullptr);
    fputs(json.c_str(), file);
    fclose(file);
  }
  const CommandResult refused = RunCommand(cli + " --target " + target + " --request " +
                                           request_path + " 2>" + stderr_path);
  const CommandResult error = RunCommand("cat " + stderr_path);
  std::remove(request_path.c_str());
  std::remove(stderr_path.c_str());
  CHECK(refused.exit_code == 1);
  CHECK(refused.output.empty());
  CHECK(absl::StrContains(error.output, "INVALID_ARGUMENT"));
  CHECK(absl::StrContains(error.output, "stops[3].time_window"));

  // --health: readiness and liveness as a probe sees them; an unknown service is an error;
  // --health with a request is a usage error.
  for (const std::string service : {"routeserve.v1.RouteService", "''"}) {
    const CommandResult health = RunCommand(cli + " --target " + target + " --health " + service);
    INFO(service << ": " << health.output);
    CHECK(health.exit_code == 0);
    CHECK(health.output == "SERVING\n");
  }
  const CommandResult unknown =
      RunCommand(cli + " --target " + target + " --health no.such.Service 2>&1");
  CHECK(unknown.exit_code == 1);
  CHECK(absl::StrContains(unknown.output, "NOT_FOUND"));
  CHECK(RunCommand(cli + " --health '' --generate 3 2>&1").exit_code == 2);

  process.Signal(SIGTERM);
  CHECK(process.WaitForExit() == 0);
}

TEST_CASE("routeserve --help prints usage and exits 0", "[process]") {
  ServerProcess process(ROUTESERVE_BINARY, {"--help"});
  CHECK(process.WaitForExit() == 0);
}

TEST_CASE("routeserve: a bad command line or config exits 2 naming the problem", "[process]") {
  {
    ServerProcess process(ROUTESERVE_BINARY, {"--no-such-flag"});
    CHECK(process.WaitForExit() == 2);
    CHECK(absl::StrContains(process.Stderr(), "--no-such-flag"));
  }
  {
    ServerProcess process(ROUTESERVE_BINARY,
                          ServerArgs({"--set", "server.worker_threads=-1"}));
    CHECK(process.WaitForExit() == 2);
    CHECK(absl::StrContains(process.Stderr(), "server.worker_threads"));
  }
  {
    ServerProcess process(ROUTESERVE_BINARY, {"--config", "/nonexistent/routeserve.yaml"});
    CHECK(process.WaitForExit() == 2);
    CHECK(absl::StrContains(process.Stderr(), "/nonexistent/routeserve.yaml"));
  }
  {
    // A configured model that cannot be loaded: no silent fallback to the classical solver.
    ServerProcess process(ROUTESERVE_BINARY,
                          ServerArgs({"--set", "model.path=/nonexistent/route-v1"}));
    CHECK(process.WaitForExit() == 2);
    CHECK(absl::StrContains(process.Stderr(),
                            "cannot start: model.path: \"/nonexistent/route-v1\""));
  }
}

TEST_CASE("routeserve: --set is repeatable and keeps the commas of a value", "[process]") {
  // A list's commas stay inside its value: split on them, "batching.buckets=[8" would be a
  // YAML error. Both spellings, and a later --set winning over an earlier one.
  ServerProcess process(ROUTESERVE_BINARY,
                        ServerArgs({"--set", "model.path=\"\"", "--set",
                                    "batching.buckets=[8,16,32,64,128,256]", "--set",
                                    "limits.max_stops=100", "--set=limits.max_stops=200"}));
  process.WaitForPort();
  const std::string log = process.Stderr();
  INFO(log);
  CHECK(absl::StrContains(log, "buckets: [8, 16, 32, 64, 128, 256]"));
  CHECK(absl::StrContains(log, "max_stops: 200"));
  process.Signal(SIGTERM);
  CHECK(process.WaitForExit() == 0);
}

TEST_CASE("routeserve serves reflection and health, reloads its model on SIGHUP, and exits 0 "
          "on SIGTERM",
          "[process]") {
  ServerProcess process(ROUTESERVE_BINARY, ServerArgs());
  const int port = process.WaitForPort();
  std::shared_ptr<grpc::Channel> channel = ChannelTo(port);

  using grpc::reflection::v1alpha::ServerReflection;
  using grpc::reflection::v1alpha::ServerReflectionRequest;
  using grpc::reflection::v1alpha::ServerReflectionResponse;
  auto reflection = ServerReflection::NewStub(channel);
  auto context = Context(kGuard);
  auto stream = reflection->ServerReflectionInfo(context.get());
  ServerReflectionRequest request;
  request.set_list_services("*");
  REQUIRE(stream->Write(request));
  ServerReflectionResponse response;
  REQUIRE(stream->Read(&response));
  std::vector<std::string> services;
  for (const auto& service : response.list_services_response().service()) {
    services.push_back(service.name());
  }
  INFO(absl::StrJoin(services, ", "));
  CHECK(std::count(services.begin(), services.end(), "routeserve.v1.RouteService") == 1);
  CHECK(std::count(services.begin(), services.end(), "grpc.health.v1.Health") == 1);

  request.set_file_containing_symbol("routeserve.v1.RouteService");
  REQUIRE(stream->Write(request));
  REQUIRE(stream->Read(&response));
  CHECK(response.file_descriptor_response().file_descriptor_proto_size() >= 1);
  stream->WritesDone();
  CHECK(stream->Finish().ok());

  auto health = grpc::health::v1::Health::NewStub(channel);
  for (const std::string service : {"routeserve.v1.RouteService", ""}) {
    grpc::health::v1::HealthCheckRequest check;
    check.set_service(service);
    grpc::health::v1::HealthCheckResponse status;
    auto health_context = Context(kGuard);
    REQUIRE(health->Check(health_context.get(), check, &status).ok());
    CHECK(status.status() == grpc::health::v1::HealthCheckResponse::SERVING);
  }

  // The shipped model's files have not changed: the reload loads nothing, and the process
  // serves on (SIGHUP's default action would have ended it).
  process.Signal(SIGHUP);
  CHECK(process.WaitForLine("model: unchanged (route-v1-").has_value());
  {
    grpc::health::v1::HealthCheckRequest check;
    check.set_service("routeserve.v1.RouteService");
    grpc::health::v1::HealthCheckResponse status;
    auto health_context = Context(kGuard);
    REQUIRE(health->Check(health_context.get(), check, &status).ok());
    CHECK(status.status() == grpc::health::v1::HealthCheckResponse::SERVING);
  }

  process.Signal(SIGTERM);
  CHECK(process.WaitForExit() == 0);
  const std::string log = process.Stderr();
  INFO(log);
  for (const char* phase : {"effective config", "listening on", "received SIGHUP",
                            "received SIGTERM", "draining", "refusing", "stopped", "exiting"}) {
    CHECK(absl::StrContains(log, phase));
  }
}

TEST_CASE("SIGTERM under load: every call is answered OK or UNAVAILABLE, readiness drops "
          "while calls still succeed, and the process exits 0",
          "[process]") {
  // A longer drain than the other tests: clients must see NOT_SERVING and still start calls
  // inside it; two seconds leave room on a loaded machine. The classical solver answers: what
  // is under test is the shutdown, whatever proposes the routes.
  ServerProcess process(ROUTESERVE_BINARY,
                        ServerArgs({"--set", "shutdown.drain_delay_s=2", "--set",
                                    "shutdown.grace_period_s=60", "--set",
                                    "server.worker_threads=2", "--set", "model.path=\"\""}));
  const int port = process.WaitForPort();

  constexpr int kClients = 8;
  constexpr int kOkBeforeSignal = 16;
  std::vector<v1::SuggestRequest> requests;
  for (int i = 0; i < 16; ++i) {
    requests.push_back(MakeRequest(Regimes()[i % Regimes().size()].options, 60 + (i * 13) % 41,
                                   500 + i, absl::StrCat("load", i)));
  }

  absl::Mutex mu;
  absl::CondVar cv;
  int ok_total = 0;
  std::map<grpc::StatusCode, int> answered_by_code;
  int sent = 0;
  int ok_after_not_serving = 0;
  std::vector<std::string> bad_routes;
  std::vector<std::string> unexpected;  // calls answered neither OK nor UNAVAILABLE
  std::atomic<bool> not_serving_seen{false};

  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      // One channel per client, so that calls are spread over connections as from a fleet.
      auto stub = v1::RouteService::NewStub(ChannelTo(port));
      for (int i = c;; i += kClients) {
        const v1::SuggestRequest& request = requests[i % requests.size()];
        const bool draining = not_serving_seen.load();
        {
          absl::MutexLock lock(&mu);
          ++sent;
        }
        v1::SuggestResponse response;
        const absl::Time call_start = absl::Now();
        auto context = Context(kGuard);
        const grpc::Status status = stub->Suggest(context.get(), request, &response);
        absl::MutexLock lock(&mu);
        ++answered_by_code[status.error_code()];
        if (!status.ok() && status.error_code() != grpc::StatusCode::UNAVAILABLE) {
          unexpected.push_back(absl::StrCat("client ", c, ": code ", status.error_code(), " \"",
                                            status.error_message(), "\" after ",
                                            absl::FormatDuration(absl::Now() - call_start)));
        }
        if (status.ok()) {
          ++ok_total;
          if (draining) ++ok_after_not_serving;
          const std::string problem = CheckRouteResponse(request, response);
          if (!problem.empty()) bad_routes.push_back(problem);
          cv.SignalAll();
          continue;
        }
        break;  // the first refusal ends this client
      }
    });
  }

  // Readiness, watched continuously from the signal on.
  absl::Notification signalled;
  std::thread watcher([&] {
    signalled.WaitForNotificationWithTimeout(kGuard);
    auto health = grpc::health::v1::Health::NewStub(ChannelTo(port));
    const absl::Time until = absl::Now() + kGuard;
    while (absl::Now() < until) {
      grpc::health::v1::HealthCheckRequest check;
      check.set_service("routeserve.v1.RouteService");
      grpc::health::v1::HealthCheckResponse status;
      auto context = Context(absl::Seconds(5));
      const grpc::Status rpc = health->Check(context.get(), check, &status);
      if (!rpc.ok()) break;  // the server is past draining
      if (status.status() == grpc::health::v1::HealthCheckResponse::NOT_SERVING) {
        not_serving_seen = true;
        break;
      }
    }
  });

  {
    absl::MutexLock lock(&mu);
    const absl::Time until = absl::Now() + kGuard;
    while (ok_total < kOkBeforeSignal) {
      if (cv.WaitWithDeadline(&mu, until)) break;
    }
    REQUIRE(ok_total >= kOkBeforeSignal);
  }
  process.Signal(SIGTERM);
  signalled.Notify();

  for (std::thread& client : clients) client.join();
  watcher.join();
  const int exit_code = process.WaitForExit();

  INFO(process.Stderr());
  CHECK(exit_code == 0);
  absl::MutexLock lock(&mu);
  int answered = 0;
  for (const auto& [code, count] : answered_by_code) {
    INFO("code " << code << ": " << count);
    CHECK((code == grpc::StatusCode::OK || code == grpc::StatusCode::UNAVAILABLE));
    answered += count;
  }
  CHECK(answered == sent);
  CHECK(unexpected == std::vector<std::string>{});
  CHECK(answered_by_code[grpc::StatusCode::UNAVAILABLE] == kClients);
  CHECK(bad_routes == std::vector<std::string>{});
  CHECK(not_serving_seen.load());
  CHECK(ok_after_not_serving > 0);
}

// A client that connects to a loopback port and sends a byte every 100 ms, never a whole
// request, until told to stop.
class DrippingClient {
 public:
  explicit DrippingClient(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0);
    thread_ = std::thread([this] {
      while (!stop_.WaitForNotificationWithTimeout(absl::Milliseconds(100))) {
        if (send(fd_, "G", 1, MSG_NOSIGNAL) != 1) break;  // the server closed it
      }
    });
  }
  ~DrippingClient() {
    if (!stop_.HasBeenNotified()) stop_.Notify();
    thread_.join();
    close(fd_);
  }

 private:
  int fd_ = -1;
  absl::Notification stop_;
  std::thread thread_;
};

TEST_CASE("SIGTERM ends the process within its bound while clients drip bytes into both ports",
          "[process]") {
  ServerProcess process(ROUTESERVE_BINARY,
                        ServerArgs({"--set", "shutdown.grace_period_s=1", "--set",
                                    "model.path="}));
  const int port = process.WaitForPort();
  const std::optional<std::string> metrics_line = process.WaitForLine("metrics on http://");
  REQUIRE(metrics_line.has_value());
  int metrics_port = 0;
  REQUIRE(absl::SimpleAtoi(metrics_line->substr(metrics_line->rfind(':') + 1,
                                                metrics_line->rfind("/metrics") -
                                                    metrics_line->rfind(':') - 1),
                           &metrics_port));
  {
    DrippingClient grpc_port(port), metrics(metrics_port);
    absl::SleepFor(absl::Milliseconds(300));  // both are in the middle of their requests
    process.Signal(SIGTERM);
    // The clients drip on until the process has exited: it must not wait for them.
    CHECK(process.WaitForExit() == 0);
  }
  INFO(process.Stderr());
  CHECK(absl::StrContains(process.Stderr(), "received SIGTERM"));
}

}  // namespace
}  // namespace routeserve::testing
