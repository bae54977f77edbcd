// MetricsServer: a listening socket, a poll loop on one thread, one short HTTP exchange per
// connection.
#include "metrics/metrics_server.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "prometheus/text_serializer.h"

namespace routeserve::metrics {
namespace {

constexpr int kBacklog = 16;
constexpr int kMaxRequestBytes = 8192;        // a request line and headers; more is refused
constexpr timeval kClientTimeout = {5, 0};    // for the request to come, for the answer to go

// Binds and listens on host:port (host without brackets); the socket, or why not.
absl::StatusOr<int> Listen(const std::string& host, const std::string& port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (const int error = getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints,
                                    &found);
      error != 0) {
    return absl::UnavailableError(gai_strerror(error));
  }
  std::string why = "no address";
  int fd = -1;
  for (const addrinfo* a = found; a != nullptr && fd < 0; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    const int on = 1;
    // Lets a restarted server bind while old connections linger in TIME_WAIT; a port another
    // process listens on stays taken.
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (bind(fd, a->ai_addr, a->ai_addrlen) != 0 || listen(fd, kBacklog) != 0) {
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

void SendAll(int fd, const std::string& data) {
  for (size_t sent = 0; sent < data.size();) {
    const ssize_t n = send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the scraper went away
    sent += static_cast<size_t>(n);
  }
}

std::string HttpResponse(absl::string_view status, absl::string_view content_type,
                         const std::string& body) {
  return absl::StrCat("HTTP/1.1 ", status, "\r\nContent-Type: ", content_type,
                      "\r\nContent-Length: ", body.size(), "\r\nConnection: close\r\n\r\n",
                      body);
}

}  // namespace

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(
    const std::string& address, std::weak_ptr<prometheus::Collectable> collectable) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon + 1 == address.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics.address: expected host:port, got \"", address, "\""));
  }
  const std::string host = address.substr(0, colon);
  std::string bare_host = host;  // "[::1]" names the host in URLs; getaddrinfo wants it bare
  if (bare_host.size() >= 2 && bare_host.front() == '[' && bare_host.back() == ']') {
    bare_host = bare_host.substr(1, bare_host.size() - 2);
  }
  absl::StatusOr<int> fd = Listen(bare_host, address.substr(colon + 1));
  if (!fd.ok()) {
    return absl::UnavailableError(absl::StrCat("metrics.address: cannot listen on \"", address,
                                               "\": ", fd.status().message()));
  }
  const int port = BoundPort(*fd);
  std::unique_ptr<MetricsServer> server(new MetricsServer(
      *fd, port, absl::StrCat(host, ":", port), std::move(collectable)));
  if (pipe2(server->stop_pipe_, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("metrics: pipe: ", std::strerror(errno)));
  }
  server->thread_ = std::thread([self = server.get()] { self->Serve(); });
  return server;
}

MetricsServer::MetricsServer(int listen_fd, int port, std::string address,
                             std::weak_ptr<prometheus::Collectable> collectable)
    : listen_fd_(listen_fd), port_(port), address_(std::move(address)),
      collectable_(std::move(collectable)) {}

MetricsServer::~MetricsServer() {
  if (thread_.joinable()) {
    const char stop = 1;
    [[maybe_unused]] const ssize_t written = write(stop_pipe_[1], &stop, 1);
    thread_.join();
  }
  for (const int fd : {stop_pipe_[0], stop_pipe_[1], listen_fd_}) {
    if (fd >= 0) close(fd);
  }
}

void MetricsServer::Serve() {
  for (;;) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    if ((fds[0].revents & POLLIN) == 0) continue;
    const int connection = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (connection < 0) continue;  // the client gave up, or too many files: the next poll
    Answer(connection);
    close(connection);
  }
}

void MetricsServer::Answer(int connection) const {
  setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &kClientTimeout, sizeof(kClientTimeout));
  setsockopt(connection, SOL_SOCKET, SO_SNDTIMEO, &kClientTimeout, sizeof(kClientTimeout));
  std::string request;
  char buffer[2048];
  while (request.find("\r\n\r\n") == std::string::npos) {
    if (request.size() > kMaxRequestBytes) {
      SendAll(connection, HttpResponse("431 Request Header Fields Too Large", "text/plain", ""));
      return;
    }
    const ssize_t n = recv(connection, buffer, sizeof(buffer), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // closed, or silent past the timeout
    request.append(buffer, static_cast<size_t>(n));
  }
  // "GET /metrics HTTP/1.1" (a query string is ignored).
  const size_t end_of_line = request.find("\r\n");
  const absl::string_view line(request.data(), end_of_line);
  const bool get = absl::StartsWith(line, "GET ");
  const absl::string_view target = get ? line.substr(4, line.find(' ', 4) - 4) : "";
  if (!get) {
    SendAll(connection, HttpResponse("405 Method Not Allowed", "text/plain", "GET only\n"));
    return;
  }
  if (target != "/metrics" && !absl::StartsWith(target, "/metrics?")) {
    SendAll(connection, HttpResponse("404 Not Found", "text/plain", "see /metrics\n"));
    return;
  }
  std::string body;
  if (const std::shared_ptr<prometheus::Collectable> collectable = collectable_.lock()) {
    body = prometheus::TextSerializer().Serialize(collectable->Collect());
  }
  SendAll(connection, HttpResponse("200 OK", "text/plain; version=0.0.4; charset=utf-8", body));
}

}  // namespace routeserve::metrics
