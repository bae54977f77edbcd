// MetricsServer: the HTTP endpoint Prometheus scrapes: GET (and HEAD) /metrics answers the
// collectable's families in the text exposition format (prometheus-cpp's TextSerializer), on
// its own address (`metrics.address`), apart from the gRPC port. Another path is 404, another
// method 405. The HTTP server is libmicrohttpd (Debian's libmicrohttpd12, as the Prometheus C
// client uses it).
//
// WHAT ONE CLIENT CANNOT DO: hold up a scrape. One internal thread polls every connection with
//   epoll, reading and writing without blocking, so a silent, slow ("dripping") or non-reading
//   client costs one connection slot, not the others' time. Each connection has:
//   - an idle timeout of kIdleTimeoutSeconds: a connection that sends nothing, or takes none of
//     its answer, for that long is closed (a client that keeps sending a byte now and then keeps
//     its slot: it delays no one, and its header is bounded by the memory limit);
//   - at most kConnectionMemoryBytes of buffers: a longer request line and header is refused
//     with 431 and the connection closed;
//   and at most kMaxConnectionsPerAddress connections come from one client address, at most
//   kMaxConnections in all: one past either is closed at once, before anything is read. A
//   client on one address cannot fill the server; clients on many addresses can fill it until
//   their connections time out (docs/RELIABILITY.md has the trade).
//   HTTP/1.1 keep-alive and pipelining work; lines may end in LF alone.
// WHY NOT prometheus-cpp's Exposer (civetweb, as Debian builds it), tried twice:
//   - it does not start in this process: civetweb asks for 100 KiB thread stacks, glibc puts
//     each thread's static TLS on its stack, and OpenBLAS (60 KiB), glog (30 KiB) and LibTorch
//     (10 KiB) need about 104 KiB of it, so pthread_create fails and the Exposer throws "null
//     context when constructing CivetServer". civetweb has no option for the stack size;
//   - with the stacks made larger (pthread_attr_setstacksize interposed to give 1 MiB), it
//     starts, but civetweb gives each connection a worker thread until its request comes or
//     request_timeout_ms passes: with num_threads 2 and two silent connections, a scrape
//     waited the whole 10 s timeout. Holding 200 idle connections would take 200 threads.
// ADDRESS: "host:port"; a port of 0 picks a free one, which port() then tells. IPv6 hosts in
//   brackets ("[::1]:9464").
// ERRORS: Start() returns InvalidArgument for an address that is not host:port, Unavailable,
//   naming the address and the system's reason, when it cannot be bound.
// THREADING: requests are answered on the server's thread, which calls the collectable's
//   Collect(). The destructor closes every connection and joins that thread, whatever the
//   clients do: nothing it waits for depends on them. The collectable is held weakly: once it
//   is gone, scrapes are empty.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "prometheus/collectable.h"

struct MHD_Daemon;

namespace routeserve::metrics {

class MetricsServer {
 public:
  // The limits above; docs/RELIABILITY.md says why these values.
  static constexpr int kIdleTimeoutSeconds = 10;
  static constexpr int kMaxConnections = 256;
  static constexpr int kMaxConnectionsPerAddress = 16;
  static constexpr int kConnectionMemoryBytes = 16 * 1024;

  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(
      const std::string& address, std::weak_ptr<prometheus::Collectable> collectable);
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;
  ~MetricsServer();

  int port() const { return port_; }
  // The configured host with the bound port, e.g. "127.0.0.1:41235".
  const std::string& address() const { return address_; }
  // Connections the server holds now (those refused at once are never counted).
  int connections() const { return connections_.load(); }

  // Implementation details follow.
 private:
  MetricsServer(int port, std::string address, std::weak_ptr<prometheus::Collectable> collectable);

  const int port_;
  const std::string address_;
  const std::weak_ptr<prometheus::Collectable> collectable_;
  std::atomic<int> connections_{0};
  MHD_Daemon* daemon_ = nullptr;

  friend struct MetricsServerCallbacks;
};

}  // namespace routeserve::metrics
