// ServerTls: the credentials of the gRPC port, from `server.tls.*` (config/routeserve.yaml,
// docs/RELIABILITY.md). RouteService, health checks and reflection share the port, and so these
// credentials.
//
// PLAINTEXT: an empty cert_file (the default) means no TLS, as long as key_file and
//   client_ca_file are empty too.
// TLS: cert_file holds the server's PEM certificate chain (its own first), key_file the PEM
//   private key of that certificate, unencrypted (nothing could type a passphrase).
// MUTUAL TLS: client_ca_file holds the PEM certificates of the CAs that client certificates must
//   chain to; every client must present such a certificate (gRPC's
//   REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY), or its handshake fails and its calls
//   never reach a handler.
// CHECKS: the files are read once, by LoadServerTls, and checked before gRPC sees them, so that
//   a bad one stops start-up with an error naming its key instead of gRPC's bare failure to
//   listen: each must be readable; cert_file and client_ca_file must hold at least one
//   certificate; key_file a private key that matches cert_file's first certificate.
// ERRORS: InvalidArgument whose message starts with the dotted key ("server.tls.key_file: does
//   not match ..."); it names the file's path as configured, for the operator's start-up log,
//   and never holds a file's contents. Clients never see these messages: the server does not
//   start.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/security/server_credentials.h"
#include "config/config.h"

namespace routeserve::server {

struct ServerTls {
  std::shared_ptr<grpc::ServerCredentials> credentials;  // insecure ones for plaintext
  // For the start-up log: "off (plaintext)", or the certificate's subject and expiry and
  // whether client certificates are required.
  std::string description;
};

absl::StatusOr<ServerTls> LoadServerTls(const config::Config::Server::Tls& tls);

}  // namespace routeserve::server
