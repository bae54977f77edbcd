// Against the real binaries, server.tls: routeserve with TLS files it cannot use exits 2 naming
// the key, before loading its model; routeserve-cli reaches a mutual-TLS server with its TLS
// flags, reflection and health answer on the same port with the same credentials, and clients
// without the right certificate are refused.
// Certificates come from make_test_certs.sh (fixture routeserve_test_certs).
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "google/protobuf/util/json_util.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "route_checks.h"
#include "routeserve/v1/route_service.pb.h"
#include "scrape.h"
#include "server_process.h"

namespace routeserve::testing {
namespace {

std::string CertPath(const std::string& name) {
  return std::string(ROUTESERVE_TEST_CERTS_DIR) + "/" + name;
}

// The default config on free loopback ports, with `extra` arguments.
std::vector<std::string> TlsServerArgs(std::vector<std::string> extra) {
  std::vector<std::string> args = {"--config", ROUTESERVE_CONFIG_PATH,
                                   "--set", "server.address=127.0.0.1:0",
                                   "--set", "metrics.address=127.0.0.1:0",
                                   "--set", "shutdown.drain_delay_s=0",
                                   "--set", "model.path=\"\""};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}



std::string ReadCert(const std::string& name) {
  const CommandResult cat = RunCommand("cat " + CertPath(name));
  REQUIRE(cat.exit_code == 0);
  return cat.output;
}

TEST_CASE("routeserve: TLS files it cannot use stop it with exit 2, naming the key, before its "
          "model loads",
          "[process][tls]") {
  // The default config names the shipped model: the error must come before its load.
  ServerProcess process(
      ROUTESERVE_BINARY,
      {"--config", ROUTESERVE_CONFIG_PATH, "--set", "server.address=127.0.0.1:0", "--set",
       "metrics.address=127.0.0.1:0", "--set",
       absl::StrCat("server.tls.cert_file=", CertPath("server.crt")), "--set",
       absl::StrCat("server.tls.key_file=", CertPath("client.key"))});
  CHECK(process.WaitForExit() == 2);
  const std::string log = process.Stderr();
  INFO(log);
  CHECK(absl::StrContains(log, "cannot start: server.tls.key_file: \"" + CertPath("client.key") +
                                   "\" is not the key of the certificate in "
                                   "server.tls.cert_file"));
  CHECK_FALSE(absl::StrContains(log, "routeserve: model:"));
  CHECK_FALSE(absl::StrContains(log, "listening on"));
}

TEST_CASE("routeserve-cli reaches a mutual-TLS routeserve with its TLS flags, reflection and "
          "health share the port and its credentials, and clients without the right "
          "certificate are refused",
          "[process][tls]") {
  ServerProcess process(
      ROUTESERVE_BINARY,
      TlsServerArgs({"--set", "server.tls.cert_file=" + CertPath("server.crt"), "--set",
                     "server.tls.key_file=" + CertPath("server.key"), "--set",
                     "server.tls.client_ca_file=" + CertPath("ca.crt")}));
  const int port = process.WaitForPort();
  const std::string cli = absl::StrCat(ROUTESERVE_CLI_BINARY, " --target 127.0.0.1:", port,
                                       " --generate 12 --seed 9");
  const std::string trust = " --ca_file " + CertPath("ca.crt");
  const std::string client =
      " --cert_file " + CertPath("client.crt") + " --key_file " + CertPath("client.key");

  const CommandResult printed = RunCommand(cli + " --print-request");
  REQUIRE(printed.exit_code == 0);
  v1::SuggestRequest request;
  REQUIRE(google::protobuf::util::JsonStringToMessage(printed.output, &request).ok());

  // Trusted, by the address in the certificate and by the name --server_name gives.
  for (const std::string& extra : {std::string(), std::string(" --server_name localhost")}) {
    const CommandResult answered = RunCommand(cli + trust + client + extra);
    INFO(extra << ": " << answered.output);
    REQUIRE(answered.exit_code == 0);
    v1::SuggestResponse response;
    REQUIRE(google::protobuf::util::JsonStringToMessage(answered.output, &response).ok());
    CHECK(CheckRouteResponse(request, response) == "");
  }
  // Refused: no client certificate, one from another CA, plaintext, a server name the
  // certificate does not carry. Nothing the client is told names the server's files.
  for (const std::string& flags :
       {trust, trust + " --cert_file " + CertPath("untrusted.crt") + " --key_file " +
                   CertPath("untrusted.key"),
        std::string(), trust + client + " --server_name routeserve.example"}) {
    const CommandResult refused = RunCommand(cli + flags);
    INFO(flags << ": " << refused.output);
    CHECK(refused.exit_code == 1);
    CHECK(absl::StrContains(refused.output, "error: UNAVAILABLE"));
    CHECK_FALSE(absl::StrContains(refused.output, "server.crt"));
    CHECK_FALSE(absl::StrContains(refused.output, "server.key"));
  }

  // Reflection and health, on the same port with the same client certificate.
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = ReadCert("ca.crt");
  options.pem_cert_chain = ReadCert("client.crt");
  options.pem_private_key = ReadCert("client.key");
  std::shared_ptr<grpc::Channel> channel = grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", port), grpc::SslCredentials(options));
  using grpc::reflection::v1alpha::ServerReflection;
  auto reflection = ServerReflection::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
  auto stream = reflection->ServerReflectionInfo(&context);
  grpc::reflection::v1alpha::ServerReflectionRequest list;
  list.set_list_services("*");
  REQUIRE(stream->Write(list));
  grpc::reflection::v1alpha::ServerReflectionResponse listed;
  REQUIRE(stream->Read(&listed));
  std::vector<std::string> services;
  for (const auto& service : listed.list_services_response().service()) {
    services.push_back(service.name());
  }
  INFO(absl::StrJoin(services, ", "));
  CHECK(std::count(services.begin(), services.end(), "routeserve.v1.RouteService") == 1);
  stream->WritesDone();
  CHECK(stream->Finish().ok());

  auto health = grpc::health::v1::Health::NewStub(channel);
  grpc::health::v1::HealthCheckRequest check;
  check.set_service("routeserve.v1.RouteService");
  grpc::health::v1::HealthCheckResponse status;
  grpc::ClientContext health_context;
  health_context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
  REQUIRE(health->Check(&health_context, check, &status).ok());
  CHECK(status.status() == grpc::health::v1::HealthCheckResponse::SERVING);

  process.Signal(SIGTERM);
  CHECK(process.WaitForExit() == 0);
  CHECK(absl::StrContains(process.Stderr(), "tls: on, certificate CN = localhost"));
  CHECK(absl::StrContains(process.Stderr(), "mutual TLS: client certificates required"));
}

}  // namespace
}  // namespace routeserve::testing
