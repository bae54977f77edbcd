// MetricsServer: the HTTP endpoint Prometheus scrapes: GET /metrics answers the collectable's
// families in the text exposition format (prometheus-cpp's TextSerializer), on its own address
// (`metrics.address`, DESIGN §7), apart from the gRPC port. Any other path is 404.
//
// WHY NOT prometheus-cpp's Exposer: its web server (civetweb, as Debian builds it) starts its
//   threads with 100 KiB stacks, and glibc places every thread's static TLS on its stack; in the
//   server, OpenBLAS, glog and LibTorch need about 104 KiB of it, so civetweb's threads cannot
//   start ("null context when constructing CivetServer"). One plain thread does instead: a
//   scrape every few seconds needs no more.
// ADDRESS: "host:port"; a port of 0 picks a free one, which port() then tells. IPv6 hosts in
//   brackets ("[::1]:9464").
// ERRORS: Start() returns InvalidArgument for an address that is not host:port, Unavailable,
//   naming the address, when it cannot be bound.
// SCRAPES: one at a time, each over its own connection (HTTP/1.1 answered with
//   "Connection: close"); a client that sends no request within 5 s is dropped.
// THREADING: scrapes run on the server's thread, which calls the collectable's Collect(); the
//   destructor stops and joins it. The collectable is held weakly: once it is gone, scrapes
//   are empty.
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "prometheus/collectable.h"

namespace routeserve::metrics {

class MetricsServer {
 public:
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(
      const std::string& address, std::weak_ptr<prometheus::Collectable> collectable);
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;
  ~MetricsServer();

  int port() const { return port_; }
  // The configured host with the bound port, e.g. "127.0.0.1:41235".
  const std::string& address() const { return address_; }

  // Implementation details follow.
 private:
  MetricsServer(int listen_fd, int port, std::string address,
                std::weak_ptr<prometheus::Collectable> collectable);
  void Serve();
  void Answer(int connection) const;

  const int listen_fd_;
  const int port_;
  const std::string address_;
  const std::weak_ptr<prometheus::Collectable> collectable_;
  int stop_pipe_[2] = {-1, -1};  // a byte written to [1] stops Serve()
  std::thread thread_;
};

}  // namespace routeserve::metrics
