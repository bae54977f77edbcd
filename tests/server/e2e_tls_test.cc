// End to end in one process, server.tls: TLS and mutual TLS on the gRPC port with certificates
// made at test time (make_test_certs.sh, fixture routeserve_test_certs), real clients over
// loopback; and the start-up errors of TLS files that cannot be used, each naming its key.
#include <fstream>
#include <iterator>

#include "e2e_support.h"
#include "route_checks.h"

namespace routeserve::testing {
namespace {

std::string CertPath(const std::string& name) {
  return std::string(ROUTESERVE_TEST_CERTS_DIR) + "/" + name;
}

std::string ReadCert(const std::string& name) {
  std::ifstream file(CertPath(name), std::ios::binary);
  INFO(CertPath(name));
  REQUIRE(file.is_open());
  return std::string((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
}

// What the client presents and trusts; empty fields are left out.
struct ClientTls {
  std::string trusted_ca;  // file name in the certificates' directory; empty: no TLS at all
  std::string cert;
  std::string key;
};

std::shared_ptr<grpc::Channel> ChannelTo(int port, const ClientTls& client) {
  const std::string target = absl::StrCat("127.0.0.1:", port);
  if (client.trusted_ca.empty()) {
    return grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
  }
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = ReadCert(client.trusted_ca);
  if (!client.cert.empty()) options.pem_cert_chain = ReadCert(client.cert);
  if (!client.key.empty()) options.pem_private_key = ReadCert(client.key);
  return grpc::CreateChannel(target, grpc::SslCredentials(options));
}

// Counts the calls that reached RouteService's handlers.
class ArrivalCounter final : public server::RouteServiceObserver {
 public:
  void OnArrived(server::RouteMethod /*method*/) override { ++arrived_; }
  int arrived() const { return arrived_.load(); }

 private:
  std::atomic<int> arrived_{0};
};

std::vector<std::string> TlsOverrides(bool mutual) {
  std::vector<std::string> overrides = {
      absl::StrCat("server.tls.cert_file=\"", CertPath("server.crt"), "\""),
      absl::StrCat("server.tls.key_file=\"", CertPath("server.key"), "\"")};
  if (mutual) {
    overrides.push_back(absl::StrCat("server.tls.client_ca_file=\"", CertPath("ca.crt"), "\""));
  }
  return overrides;
}

std::unique_ptr<server::RouteServer> StartTlsServer(bool mutual, ArrivalCounter* counter) {
  server::ServerHooks hooks;
  hooks.service_observer = counter;
  absl::StatusOr<std::unique_ptr<server::RouteServer>> server =
      server::RouteServer::Start(TestConfig(TlsOverrides(mutual)), hooks);
  INFO(server.status().ToString());
  REQUIRE(server.ok());
  return *std::move(server);
}

grpc::Status Suggest(const std::shared_ptr<grpc::Channel>& channel,
                     const v1::SuggestRequest& request, v1::SuggestResponse* response) {
  auto context = GuardedContext();
  return v1::RouteService::NewStub(channel)->Suggest(context.get(), request, response);
}

// A refused client: its call fails without reaching a handler, and what it is told holds no
// path of the server's files.
void CheckRefused(const std::shared_ptr<grpc::Channel>& channel,
                  const v1::SuggestRequest& request) {
  v1::SuggestResponse response;
  const grpc::Status status = Suggest(channel, request, &response);
  INFO(status.error_message());
  CHECK(status.error_code() == grpc::StatusCode::UNAVAILABLE);
  CHECK_FALSE(absl::StrContains(status.error_message(), ROUTESERVE_TEST_CERTS_DIR));
}

TEST_CASE("server.tls: a client that trusts the CA is served, health checks included, and a "
          "plaintext client and one that trusts another CA are refused before any handler",
          "[e2e][tls]") {
  ArrivalCounter counter;
  std::unique_ptr<server::RouteServer> server = StartTlsServer(/*mutual=*/false, &counter);
  const v1::SuggestRequest request = MakeRequest(Regimes()[1].options, 10, 21, "tls");

  const std::shared_ptr<grpc::Channel> trusted =
      ChannelTo(server->port(), {.trusted_ca = "ca.crt"});
  v1::SuggestResponse response;
  const grpc::Status status = Suggest(trusted, request, &response);
  INFO(status.error_message());
  REQUIRE(status.ok());
  CHECK(CheckRouteResponse(request, response) == "");
  auto health = grpc::health::v1::Health::NewStub(trusted);
  CHECK(HealthOf(*health, std::string(server::kRouteServiceName)) ==
        grpc::health::v1::HealthCheckResponse::SERVING);

  CheckRefused(ChannelTo(server->port(), {}), request);
  CheckRefused(ChannelTo(server->port(), {.trusted_ca = "other-ca.crt"}), request);
  CHECK(counter.arrived() == 1);
}

TEST_CASE("server.tls.client_ca_file: mutual TLS serves a client whose certificate the CA "
          "signed, and refuses one signed by another CA, one without a certificate and a "
          "plaintext one",
          "[e2e][tls]") {
  ArrivalCounter counter;
  std::unique_ptr<server::RouteServer> server = StartTlsServer(/*mutual=*/true, &counter);
  const v1::SuggestRequest request = MakeRequest(Regimes()[1].options, 10, 22, "mtls");

  const std::shared_ptr<grpc::Channel> trusted = ChannelTo(
      server->port(), {.trusted_ca = "ca.crt", .cert = "client.crt", .key = "client.key"});
  v1::SuggestResponse response;
  const grpc::Status status = Suggest(trusted, request, &response);
  INFO(status.error_message());
  REQUIRE(status.ok());
  CHECK(CheckRouteResponse(request, response) == "");
  auto health = grpc::health::v1::Health::NewStub(trusted);
  CHECK(HealthOf(*health, "") == grpc::health::v1::HealthCheckResponse::SERVING);

  CheckRefused(ChannelTo(server->port(), {.trusted_ca = "ca.crt",
                                          .cert = "untrusted.crt",
                                          .key = "untrusted.key"}),
               request);
  CheckRefused(ChannelTo(server->port(), {.trusted_ca = "ca.crt"}), request);
  CheckRefused(ChannelTo(server->port(), {}), request);
  CHECK(counter.arrived() == 1);

  // The trusted client is still served after the others were turned away.
  const grpc::Status again = Suggest(trusted, request, &response);
  INFO(again.error_message());
  CHECK(again.ok());
}

TEST_CASE("server.tls: files that cannot be used stop the start-up with an error naming the "
          "key, never the files' contents",
          "[e2e][tls]") {
  const std::string missing = CertPath("no-such-file.pem");
  const std::string key_of_cert = "server.tls.key_file: \"" + CertPath("client.key") +
                                  "\" is not the key of the certificate in server.tls.cert_file";
  struct Case {
    std::string cert, key, client_ca;  // paths; empty: unset
    std::string message_start;
  };
  for (const Case& c : std::vector<Case>{
           {missing, CertPath("server.key"), "",
            "server.tls.cert_file: cannot read \"" + missing + "\" (No such file or directory)"},
           {CertPath("server.key"), CertPath("server.key"), "",
            "server.tls.cert_file: \"" + CertPath("server.key") + "\" holds no PEM certificate"},
           {ROUTESERVE_TEST_CERTS_DIR, CertPath("server.key"), "",
            "server.tls.cert_file: \"" + std::string(ROUTESERVE_TEST_CERTS_DIR) +
                "\" is a directory"},
           {CertPath("server.crt"), missing, "", "server.tls.key_file: cannot read \"" + missing},
           {CertPath("server.crt"), CertPath("client.key"), "", key_of_cert},
           {CertPath("server.crt"), CertPath("server.crt"), "",
            "server.tls.key_file: \"" + CertPath("server.crt") +
                "\" holds no unencrypted PEM private key"},
           {CertPath("server.crt"), CertPath("server-encrypted.key"), "",
            "server.tls.key_file: \"" + CertPath("server-encrypted.key") +
                "\" holds no unencrypted PEM private key"},
           {CertPath("server.crt"), CertPath("server.key"), missing,
            "server.tls.client_ca_file: cannot read \"" + missing},
           {CertPath("server.crt"), CertPath("server.key"), CertPath("client.key"),
            "server.tls.client_ca_file: \"" + CertPath("client.key") +
                "\" holds no PEM certificate"},
           {CertPath("server.crt"), "", "",
            "server.tls.key_file: required with server.tls.cert_file"},
           {"", CertPath("server.key"), "",
            "server.tls.key_file: set without server.tls.cert_file"},
           {"", "", CertPath("ca.crt"),
            "server.tls.client_ca_file: set without server.tls.cert_file"},
       }) {
    config::Config config = TestConfig();
    config.server.tls = {.cert_file = c.cert, .key_file = c.key, .client_ca_file = c.client_ca};
    const absl::StatusOr<std::unique_ptr<server::RouteServer>> server =
        server::RouteServer::Start(config);
    INFO("cert " << c.cert << ", key " << c.key << ", client CA " << c.client_ca);
    REQUIRE_FALSE(server.ok());
    INFO(server.status().ToString());
    CHECK(server.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(absl::StartsWith(server.status().message(), c.message_start));
    CHECK_FALSE(absl::StrContains(server.status().message(), "BEGIN"));
  }
}

}  // namespace
}  // namespace routeserve::testing
