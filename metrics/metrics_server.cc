// MetricsServer: the listening socket is bound here (so that a failure names the address and
// the system's reason), then handed to a libmicrohttpd daemon with its limits; one callback
// answers each request.
#include "metrics/metrics_server.h"

#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "prometheus/text_serializer.h"

namespace routeserve::metrics {
namespace {

constexpr int kBacklog = 128;
constexpr char kMetricsPath[] = "/metrics";
constexpr char kTextFormat[] = "text/plain; version=0.0.4; charset=utf-8";

// Binds and listens on host:port (host without brackets), non-blocking; the socket, or why not.
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
    fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
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

// Queues an answer of `status` with `body` (libmicrohttpd leaves the body out for HEAD).
MHD_Result Answer(MHD_Connection* connection, unsigned int status, const std::string& body,
                  const char* content_type, const char* allow = nullptr) {
  MHD_Response* response = MHD_create_response_from_buffer(
      body.size(), const_cast<char*>(body.data()), MHD_RESPMEM_MUST_COPY);
  if (response == nullptr) return MHD_NO;  // out of memory: the connection is closed
  MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
  if (allow != nullptr) MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, allow);
  const MHD_Result queued = MHD_queue_response(connection, status, response);
  MHD_destroy_response(response);
  return queued;
}

}  // namespace

// libmicrohttpd's callbacks, on the daemon's thread.
struct MetricsServerCallbacks {
  // Called once the request's header is in, then for each piece of its body, then once more
  // at its end. An answer queued at the first call is sent before the body is read, and the
  // connection is closed after it: right for a method refused, not for a scrape, whose
  // connection is kept for the next request. So a GET or HEAD is answered at its end (a body
  // sent with one is read and ignored).
  static MHD_Result OnRequest(void* cls, MHD_Connection* connection, const char* url,
                              const char* method, const char* /*version*/,
                              const char* /*upload_data*/, size_t* upload_data_size,
                              void** request_context) {
    const auto* server = static_cast<const MetricsServer*>(cls);
    if (std::strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
        std::strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
      return Answer(connection, MHD_HTTP_METHOD_NOT_ALLOWED, "GET or HEAD only\n", "text/plain",
                    "GET, HEAD");
    }
    static char header_read;  // any non-null marker: the header has been seen
    if (*request_context == nullptr) {
      *request_context = &header_read;
      return MHD_YES;
    }
    if (*upload_data_size != 0) {
      *upload_data_size = 0;  // a body's piece, ignored
      return MHD_YES;
    }
    // `url` is the path; libmicrohttpd has taken the query off.
    if (std::strcmp(url, kMetricsPath) != 0) {
      return Answer(connection, MHD_HTTP_NOT_FOUND, "see /metrics\n", "text/plain");
    }
    std::string body;
    if (const std::shared_ptr<prometheus::Collectable> collectable = server->collectable_.lock()) {
      body = prometheus::TextSerializer().Serialize(collectable->Collect());
    }
    return Answer(connection, MHD_HTTP_OK, body, kTextFormat);
  }

  // The global limit is kept here, not by libmicrohttpd's MHD_OPTION_CONNECTION_LIMIT: at that
  // limit libmicrohttpd stops accepting, and a newcomer (a scrape) would wait in the kernel's
  // backlog until some connection timed out, rather than hear at once that it is refused.
  static MHD_Result OnAccept(void* cls, const sockaddr* /*address*/, socklen_t /*length*/) {
    const auto* server = static_cast<const MetricsServer*>(cls);
    return server->connections_.load() < MetricsServer::kMaxConnections ? MHD_YES : MHD_NO;
  }

  static void OnConnection(void* cls, MHD_Connection* /*connection*/, void** /*socket_context*/,
                           MHD_ConnectionNotificationCode code) {
    auto* server = static_cast<MetricsServer*>(cls);
    server->connections_ += code == MHD_CONNECTION_NOTIFY_STARTED ? 1 : -1;
  }
};

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
  std::unique_ptr<MetricsServer> server(
      new MetricsServer(port, absl::StrCat(host, ":", port), std::move(collectable)));
  // No error log: a refused or timed-out client is routine, and would fill the server's log.
  server->daemon_ = MHD_start_daemon(
      MHD_USE_EPOLL_INTERNAL_THREAD, 0, &MetricsServerCallbacks::OnAccept, server.get(),
      &MetricsServerCallbacks::OnRequest, server.get(),
      MHD_OPTION_LISTEN_SOCKET, *fd,
      MHD_OPTION_CONNECTION_TIMEOUT, static_cast<unsigned int>(kIdleTimeoutSeconds),
      // Never reached: OnAccept refuses first (connections are counted on the same thread).
      MHD_OPTION_CONNECTION_LIMIT, static_cast<unsigned int>(kMaxConnections + 1),
      MHD_OPTION_PER_IP_CONNECTION_LIMIT, static_cast<unsigned int>(kMaxConnectionsPerAddress),
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, static_cast<size_t>(kConnectionMemoryBytes),
      MHD_OPTION_NOTIFY_CONNECTION, &MetricsServerCallbacks::OnConnection, server.get(),
      MHD_OPTION_END);
  if (server->daemon_ == nullptr) {
    // It could not start its thread or its epoll set (out of resources); the socket is ours.
    close(*fd);
    return absl::UnavailableError(absl::StrCat("metrics.address: cannot serve on \"", address,
                                               "\": libmicrohttpd did not start"));
  }
  return server;
}

MetricsServer::MetricsServer(int port, std::string address,
                             std::weak_ptr<prometheus::Collectable> collectable)
    : port_(port), address_(std::move(address)), collectable_(std::move(collectable)) {}

MetricsServer::~MetricsServer() {
  // Wakes the daemon's thread, which closes every connection and the listening socket without
  // waiting on any client (its sockets are non-blocking), and joins it.
  if (daemon_ != nullptr) MHD_stop_daemon(daemon_);
}

}  // namespace routeserve::metrics
