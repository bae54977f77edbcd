// WhyCannotListen (server/listen_error.h).
#include "server/listen_error.h"

#include <unistd.h>

#include "base/listen_socket.h"

namespace routeserve::server {

std::string WhyCannotListen(const std::string& address) {
  absl::StatusOr<int> fd = base::ListenOn(address);  // as gRPC binds: SO_REUSEADDR, no REUSEPORT
  if (!fd.ok()) return std::string(fd.status().message());
  close(*fd);
  return "";
}

}  // namespace routeserve::server
