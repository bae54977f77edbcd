// ListenOn and BoundPort (base/listen_socket.h).
#include "base/listen_socket.h"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace routeserve::base {

absl::StatusOr<int> ListenOn(const std::string& address, const ListenOptions& options) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon + 1 == address.size()) {
    return absl::InvalidArgumentError(absl::StrCat("expected host:port, got \"", address, "\""));
  }
  // "[::1]" names the host in addresses and URLs; getaddrinfo wants it bare.
  absl::string_view bracketed = absl::string_view(address).substr(0, colon);
  if (absl::ConsumePrefix(&bracketed, "[")) absl::ConsumeSuffix(&bracketed, "]");
  const std::string host(bracketed);
  const std::string port = address.substr(colon + 1);

  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (const int error = getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints,
                                    &found);
      error != 0) {
    return absl::UnavailableError(absl::StrCat("cannot resolve: ", gai_strerror(error)));
  }
  std::string why = "no address";
  int fd = -1;
  for (const addrinfo* a = found; a != nullptr && fd < 0; a = a->ai_next) {
    fd = socket(a->ai_family,
                a->ai_socktype | SOCK_CLOEXEC | (options.non_blocking ? SOCK_NONBLOCK : 0),
                a->ai_protocol);
    if (fd < 0) {
      why = std::strerror(errno);
      continue;
    }
    const int on = 1;
    // Lets a restarted server bind while old connections linger in TIME_WAIT; a port another
    // process listens on stays taken.
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (bind(fd, a->ai_addr, a->ai_addrlen) != 0 || listen(fd, options.backlog) != 0) {
      why = std::strerror(errno);
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(found);
  if (fd < 0) return absl::UnavailableError(why);
  return fd;
}

int BoundPort(int fd) {
  sockaddr_storage address{};
  socklen_t length = sizeof(address);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) return 0;
  if (address.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&address)->sin6_port);
  }
  return ntohs(reinterpret_cast<const sockaddr_in*>(&address)->sin_port);
}

}  // namespace routeserve::base
