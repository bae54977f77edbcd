// MetricsServer: the listening socket is bound here (so that a failure names the address and
// the system's reason), then handed to a libmicrohttpd daemon with its limits; one callback
// answers each request.
#include "metrics/metrics_server.h"

#include <fcntl.h>
#include <microhttpd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/listen_socket.h"
#include "prometheus/text_serializer.h"

namespace routeserve::metrics {
namespace {

constexpr int kBacklog = 128;
constexpr char kMetricsPath[] = "/metrics";
constexpr char kTextFormat[] = "text/plain; version=0.0.4; charset=utf-8";

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
  absl::StatusOr<int> fd = base::ListenOn(address, {.non_blocking = true, .backlog = kBacklog});
  if (!fd.ok()) {
    if (absl::IsInvalidArgument(fd.status())) {
      return absl::InvalidArgumentError(absl::StrCat("metrics.address: ", fd.status().message()));
    }
    return absl::UnavailableError(absl::StrCat("metrics.address: cannot listen on \"", address,
                                               "\": ", fd.status().message()));
  }
  const std::string host = address.substr(0, address.rfind(':'));
  const int port = base::BoundPort(*fd);
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
