// WhyCannotListen (server/listen_error.h).
#include "server/listen_error.h"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace routeserve::server {

std::string WhyCannotListen(const std::string& address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) return "no port (expected host:port)";
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
    return absl::StrCat("cannot resolve: ", gai_strerror(error));
  }
  std::string why;
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    const int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      why = std::strerror(errno);
      continue;
    }
    const int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));  // as gRPC binds
    const bool listens = bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, 1) == 0;
    if (!listens) why = std::strerror(errno);
    close(fd);
    if (listens) {
      why.clear();
      break;
    }
  }
  freeaddrinfo(found);
  return why;
}

}  // namespace routeserve::server
