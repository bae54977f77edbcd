// ListenOn: a listening TCP socket on "host:port", as the server's addresses are written
// (server.address, metrics.address: a host name, an IPv4 address or a bracketed IPv6 address,
// and a port; port 0 picks a free one). The metrics endpoint listens with it; the gRPC server,
// which binds its own, asks it why a bind failed (gRPC says why only in its own log).
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace routeserve::base {

struct ListenOptions {
  bool non_blocking = false;
  int backlog = 128;
};

// The socket, or Unavailable with the system's reason ("Address already in use", "Permission
// denied", "cannot resolve: ..."); InvalidArgument when `address` is no host:port.
absl::StatusOr<int> ListenOn(const std::string& address, const ListenOptions& options = {});

// The port a socket is bound to; 0 when it cannot be read.
int BoundPort(int fd);

}  // namespace routeserve::base
