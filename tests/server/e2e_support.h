// Shared by the in-process end-to-end tests: a test config, a started RouteServer with a
// channel to it, and the test seams (an observer that holds the first batch on its executor, a
// gate that holds a shutdown phase). Tests that move time give the server a batching::FakeClock.
#pragma once

#include <catch2/catch.hpp>

#include <atomic>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "batching/clock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "routeserve/v1/route_service.grpc.pb.h"
#include "config/config.h"
#include "server/server.h"

namespace routeserve::testing {

// Generous: only a broken server makes a test wait this long.
inline constexpr absl::Duration kGuard = absl::Seconds(60);

// The defaults, on free loopback ports, with no drain delay, plus `overrides`.
inline config::Config TestConfig(std::vector<std::string> overrides = {}) {
  std::vector<std::string> all = {"server.address=127.0.0.1:0", "metrics.address=127.0.0.1:0",
                                  "server.worker_threads=2",
                                  "shutdown.drain_delay_s=0", "shutdown.grace_period_s=10"};
  all.insert(all.end(), overrides.begin(), overrides.end());
  absl::StatusOr<config::Config> config = config::ParseConfig("", all);
  INFO(config.status().ToString());
  REQUIRE(config.ok());
  return *config;
}

struct TestServer {
  std::unique_ptr<server::RouteServer> server;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::RouteService::Stub> stub;
  std::unique_ptr<grpc::health::v1::Health::Stub> health;
};

inline TestServer StartServer(const config::Config& config, server::ServerHooks hooks = {}) {
  absl::StatusOr<std::unique_ptr<server::RouteServer>> server =
      server::RouteServer::Start(config, std::move(hooks));
  INFO(server.status().ToString());
  REQUIRE(server.ok());
  TestServer out;
  out.server = std::move(server).value();
  REQUIRE(out.server->port() > 0);
  out.channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", out.server->port()),
                                    grpc::InsecureChannelCredentials());
  out.stub = v1::RouteService::NewStub(out.channel);
  out.health = grpc::health::v1::Health::NewStub(out.channel);
  return out;
}

// A client context with the guard as its deadline, so that no call hangs a test.
inline std::unique_ptr<grpc::ClientContext> GuardedContext(absl::Duration timeout = kGuard) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  return context;
}

inline grpc::health::v1::HealthCheckResponse::ServingStatus HealthOf(
    grpc::health::v1::Health::Stub& health, const std::string& service) {
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  auto context = GuardedContext();
  const grpc::Status status = health.Check(context.get(), request, &response);
  INFO(status.error_message());
  REQUIRE(status.ok());
  return response.status();
}

// One executor and batches of one, plus `overrides`: a batch held on the executor (see
// HoldFirstBatch) holds every later request in its queue, each to become a batch of its own.
inline config::Config OneAtATimeConfig(std::vector<std::string> overrides = {}) {
  overrides.insert(overrides.begin(), {"batching.executors=1", "batching.max_batch_size=1"});
  return TestConfig(std::move(overrides));
}

// Holds the first batch on its executor, in OnBatchStart, until released; counts accepted tasks.
class HoldFirstBatch final : public planning::BatchingObserver {
 public:
  ~HoldFirstBatch() override { Release(); }
  void OnAccepted(int /*bucket*/) override {
    absl::MutexLock lock(&mu_);
    ++accepted_;
    cv_.SignalAll();
  }
  void OnBatchStart(const planning::BatchInfo& /*batch*/) override {
    if (starts_.fetch_add(1) != 0) return;
    started_.Notify();
    release_.WaitForNotificationWithTimeout(kGuard);
  }
  bool WaitStarted() { return started_.WaitForNotificationWithTimeout(kGuard); }
  // Waits until `count` tasks have been queued in all.
  bool WaitAccepted(int count) {
    absl::MutexLock lock(&mu_);
    const absl::Time until = absl::Now() + kGuard;
    while (accepted_ < count) {
      if (cv_.WaitWithDeadline(&mu_, until)) return accepted_ >= count;
    }
    return true;
  }
  void Release() {
    if (!release_.HasBeenNotified()) release_.Notify();
  }

 private:
  absl::Mutex mu_;
  absl::CondVar cv_;
  int accepted_ ABSL_GUARDED_BY(mu_) = 0;
  std::atomic<int> starts_{0};
  absl::Notification started_;
  absl::Notification release_;
};

// Notes each stream's end.
class StreamWatcher final : public server::RouteServiceObserver {
 public:
  void OnStreamClosed(grpc::StatusCode code) override {
    absl::MutexLock lock(&mu_);
    closed_.push_back(code);
    cv_.SignalAll();
  }
  // Waits until `count` streams have ended in all; their codes, in order.
  std::vector<grpc::StatusCode> WaitClosed(size_t count) {
    absl::MutexLock lock(&mu_);
    const absl::Time until = absl::Now() + kGuard;
    while (closed_.size() < count) {
      if (cv_.WaitWithDeadline(&mu_, until)) break;
    }
    return closed_;
  }

 private:
  absl::Mutex mu_;
  absl::CondVar cv_;
  std::vector<grpc::StatusCode> closed_ ABSL_GUARDED_BY(mu_);
};

// Records the phases; holds the chosen ones until the test releases them.
class PhaseGate {
 public:
  explicit PhaseGate(std::vector<server::ServerPhase> held) : held_(std::move(held)) {}
  ~PhaseGate() {
    absl::MutexLock lock(&mu_);
    released_ = {server::ServerPhase::kServing, server::ServerPhase::kDraining,
                 server::ServerPhase::kRefusing, server::ServerPhase::kStopping,
                 server::ServerPhase::kStopped};
  }

  std::function<void(server::ServerPhase)> Hook() {
    return [this](server::ServerPhase phase) { Enter(phase); };
  }
  // Waits until `phase` has begun (and is being held, if it is held).
  bool WaitReached(server::ServerPhase phase) {
    absl::MutexLock lock(&mu_);
    auto reached = [this, phase]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      for (server::ServerPhase seen : seen_) {
        if (seen == phase) return true;
      }
      return false;
    };
    const absl::Time until = absl::Now() + kGuard;
    while (!reached()) {
      if (cv_.WaitWithDeadline(&mu_, until)) return reached();
    }
    return true;
  }
  void Release(server::ServerPhase phase) {
    absl::MutexLock lock(&mu_);
    released_.push_back(phase);
    cv_.SignalAll();
  }
  std::vector<server::ServerPhase> Seen() {
    absl::MutexLock lock(&mu_);
    return seen_;
  }

 private:
  void Enter(server::ServerPhase phase) {
    absl::MutexLock lock(&mu_);
    seen_.push_back(phase);
    cv_.SignalAll();
    bool held = false;
    for (server::ServerPhase h : held_) held = held || h == phase;
    if (!held) return;
    const absl::Time until = absl::Now() + kGuard;
    auto released = [this, phase]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      for (server::ServerPhase r : released_) {
        if (r == phase) return true;
      }
      return false;
    };
    while (!released()) {
      if (cv_.WaitWithDeadline(&mu_, until)) return;
    }
  }

  const std::vector<server::ServerPhase> held_;
  absl::Mutex mu_;
  absl::CondVar cv_;
  std::vector<server::ServerPhase> seen_ ABSL_GUARDED_BY(mu_);
  std::vector<server::ServerPhase> released_ ABSL_GUARDED_BY(mu_);
};

}  // namespace routeserve::testing
