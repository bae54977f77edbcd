// Against the real binary, server.tls: routeserve with TLS files it cannot use exits 2 naming
// the key, before loading its model.
// Certificates come from make_test_certs.sh (fixture routeserve_test_certs).
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server_process.h"

namespace routeserve::testing {
namespace {

std::string CertPath(const std::string& name) {
  return std::string(ROUTESERVE_TEST_CERTS_DIR) + "/" + name;
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

}  // namespace
}  // namespace routeserve::testing
