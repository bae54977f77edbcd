// RouteServer: the running routeserve gRPC server: RouteService, standard health checks and
// server reflection on one port, the batching planners behind them (planning/batching_planner.h:
// one per served model, config/served_models.h, each request going to its vehicle type's), and
// the shutdown phases (docs/ARCHITECTURE.md, The API).
//
// TLS: `server.tls.*` (server/tls.h): plaintext by default; TLS or mutual TLS on the one port,
//   for RouteService, health and reflection alike. Start() reads and checks the files first,
//   before the model is loaded; a bad one is an InvalidArgument naming its key. It logs
//   "tls: ..." once listening.
// LIMITS: gRPC itself enforces `limits.max_message_bytes` (a larger message is refused with
//   RESOURCE_EXHAUSTED before any handler sees it) and `limits.max_concurrent_streams` (HTTP/2's
//   SETTINGS_MAX_CONCURRENT_STREAMS: clients hold further calls); the service enforces the
//   others (server/route_service.h, server/suggest_stream.h).
// MEMORY: what one message can make the process allocate is bounded before it is parsed
//   (server/wire.h, api/request_decoder.h) and by `limits.max_message_bytes`, which defaults to
//   what `limits.max_stops` stops need; what a burst leaves free in glibc's arenas goes back to
//   the system within a second or so (server/memory_trimmer.h).
// METRICS: Start() serves GET /metrics on `config.metrics.address` (metrics/, docs/METRICS.md) for
//   the server's life: the handlers', the batcher's, the model's and the finishing stage's
//   families, model_info and build_info, and the GPUs' (sampled every
//   metrics.gpu_sample_period_s where NVML is there; where not, Start() logs why, once).
// READINESS: health service "routeserve.v1.RouteService" is SERVING once Start() returns: by
//   then the model, when one is configured, is loaded and has run every batch shape
//   (planning::CreateProposer, planning/reloading_proposer.h), before the server even listens,
//   and stays SERVING while ReloadModels() loads and swaps in another. ""
//   (liveness) is SERVING while the process serves. STUCK EXECUTORS: once the watchdog
//   (batching.executor_stuck_after_s, planning/batching_planner.h) has taken every executor of
//   a model out of service, both turn NOT_SERVING for good, so that the orchestrator restarts
//   the process, and that model's calls get UNAVAILABLE at once. Shutdown() then does not wait for the stuck executors, and
//   the destructor leaves the planner (what their threads may yet return into) to the
//   process's exit: see executors_stuck(). Start() logs the batching settings as resolved
//   (executors and refine threads counted).
// SHUTDOWN: Shutdown() runs the phases in order and returns when the last is done:
//   1. kDraining: readiness turns NOT_SERVING; calls are still accepted and answered as usual,
//      for `shutdown.drain_delay`, so that load balancers notice and stop sending.
//   2. kRefusing: new calls get UNAVAILABLE at once from our handlers; open streams stop
//      reading, answer what they have in flight and end with UNAVAILABLE; calls in flight get
//      up to `shutdown.grace_period` to finish. Once they have, and no call has come for
//      250 ms (the clients have had their UNAVAILABLE), grpc::Server shuts down: GOAWAY, a 1 s
//      tail for responses on their way and other services' calls, then the remaining (idle)
//      connections are closed. Past the grace period, every call and stream message still in
//      flight is answered UNAVAILABLE by the service (RouteServiceImpl::AbortInFlight, logged
//      with the counts), and those answers get the 1 s tail to leave; its queued work is
//      dropped, never run.
//   3. kStopping: the planner shuts down with what remains of the grace period: work still
//      queued (that of cancelled streams, at most) runs or, past the grace, is answered
//      UNAVAILABLE; the executors and the refine threads are joined.
//   4. kStopped.
//   `hooks.on_phase` hears each phase as it begins, on the thread running Shutdown().
// THREADING: all methods are thread-safe. Shutdown() is idempotent: a second caller waits for
//   the first to finish. The destructor shuts down if nobody did.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>
#include "absl/strings/string_view.h"

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "batching/clock.h"
#include "grpcpp/grpcpp.h"
#include "planning/batch_proposer.h"
#include "planning/batching_planner.h"
#include "metrics/gpu_sampler.h"
#include "metrics/metrics_server.h"
#include "metrics/serving_metrics.h"
#include "config/config.h"
#include "config/served_models.h"
#include "server/memory_trimmer.h"
#include "server/metrics_observer.h"
#include "planning/model_proposer.h"
#include "planning/reloading_proposer.h"
#include "planning/shadow_runner.h"
#include "planning/vehicle_type_router.h"
#include "server/route_service.h"
#include "server/tls.h"

namespace routeserve::server {

enum class ServerPhase { kServing, kDraining, kRefusing, kStopping, kStopped };
absl::string_view ServerPhaseName(ServerPhase phase);  // "serving", "draining", ...

// Observers and test seams; the defaults do nothing. Pointers are not owned and must outlive
// the server.
struct ServerHooks {
  planning::BatchingObserver* batching_observer = nullptr;
  RouteServiceObserver* service_observer = nullptr;
  // Called as each phase begins, once its first step is done (readiness reported, refusal
  // flag set): kServing from Start(), the others from Shutdown(). May block to hold a phase
  // (tests do); a drain delay counts from its return.
  std::function<void(ServerPhase)> on_phase;
  const batching::Clock* clock = batching::Clock::Real();  // deadlines and timings; never null
};

class RouteServer {
 public:
  // Listens on `config.server.address` (port 0 picks a free port) and serves every vehicle
  // type with `proposer`, or, when it is null, each served model (config/served_models.h) with
  // planning::CreateProposer's for its config (whose error, e.g. a model that cannot be loaded,
  // is returned as is). Unavailable when the address cannot be bound; InvalidArgument for
  // settings the planner rejects and for TLS files that cannot be used.
  static absl::StatusOr<std::unique_ptr<RouteServer>> Start(
      const config::Config& config, ServerHooks hooks = {},
      std::unique_ptr<planning::BatchProposer> proposer = nullptr);
  RouteServer(const RouteServer&) = delete;
  RouteServer& operator=(const RouteServer&) = delete;
  ~RouteServer();

  int port() const { return port_; }
  // The configured host with the bound port, e.g. "127.0.0.1:41234".
  const std::string& address() const { return address_; }
  // Where /metrics is served: the configured host with the bound port.
  const std::string& metrics_address() const { return metrics_server_->address(); }
  int metrics_port() const { return metrics_server_->port(); }

  void Shutdown();
  ServerPhase phase() const;

  // The batchers' counters (accepted, refused, expired, cancelled, batches, tasks executed,
  // depth per bucket), summed over the models' planners; see batching/batcher.h.
  batching::BatcherStats planner_stats() const;
  int open_streams() const { return service_->open_streams(); }
  // Requests the classical solver answered in the model's place, by reason; zeros without a
  // model (planning/model_proposer.h), but for executor_stuck.
  planning::FallbackCounts fallback_counts() const;
  // Executors taken out of service by the watchdog. When not 0, their threads are still blocked
  // in a batch: the process should end with std::_Exit once the server is destroyed, since
  // static destructors could pull the ground from under them.
  int executors_stuck() const;
  // The model serving `vehicle` (by default the default model's vehicle types' first), or null
  // when the classical solver answers by configuration. It stays loaded while the pointer is
  // held, even when a reload has replaced it.
  std::shared_ptr<const model::ModelRunner> model(
      std::optional<routing::VehicleType> vehicle = std::nullopt) const;
  // Loads the models the config names now and swaps them in (planning/reloading_proposer.h: a
  // new version in model.repository, or new files in model.path), without refusing or failing
  // a call: what SIGHUP does. One outcome per model, the default model's first; each logged,
  // counted (model_reloads_total{result}) and put in model_info. Readiness stays SERVING
  // throughout. Without a model: none.
  std::vector<planning::ReloadOutcome> ReloadModels();

  // Implementation details follow.
 private:
  RouteServer(const config::Config& config, ServerHooks hooks);
  // One served model (config/served_models.h) and what serves it: its planner, with the
  // model's proposer inside, the observer recording its stages under its name, and its shadow
  // runs (the default model's only).
  struct ModelLane {
    config::ServedModel served;
    std::unique_ptr<MetricsObserver> observer;  // outlives the planner
    std::unique_ptr<planning::BatchingPlanner> planner;
    planning::ReloadingProposer* model = nullptr;  // owned by planner; null without a model
    // Destroyed before the planner, whose finishing threads have stopped offering it work by
    // then (Shutdown()).
    std::unique_ptr<planning::ShadowRunner> shadow;
  };

  // Start()'s steps: the metrics' families, a planner per served model and the service; the
  // gRPC server on its port, with health and reflection. `proposer`, when given, serves every
  // vehicle type.
  absl::Status StartPlanners(std::unique_ptr<planning::BatchProposer> proposer);
  absl::Status StartLane(ModelLane& lane, std::unique_ptr<planning::BatchProposer> proposer);
  absl::Status Listen(const ServerTls& tls);
  void EnterPhase(ServerPhase phase);
  // The planner's: `in_service` executors are left (scheduling thread).
  void OnExecutorStuck(int in_service);
  // The metrics endpoint and the GPU sampler, once the planner runs.
  absl::Status StartMetrics();
  // model_info for the model `lane` serves now.
  void SetModelInfo(const ModelLane& lane);
  // The lane serving `vehicle`.
  const ModelLane& LaneOf(routing::VehicleType vehicle) const;
  metrics::ScrapeSample SampleForScrape() const;

  const config::Config config_;
  const ServerHooks hooks_;
  // The families, and the handlers' observer recording into them in front of the hooks';
  // destroyed last: every stage reports to them until it stops.
  std::shared_ptr<metrics::ServingMetrics> metrics_;
  std::unique_ptr<MetricsObserver> service_observer_;
  // Destroyed in reverse order: the grpc::Server first (it waits for every call), then the
  // service its calls used, then the planner their work ran on.
  // Captured requests (capture.*; null when off): destroyed after the planner, whose answers
  // record into it, writing what is pending.
  std::unique_ptr<capture::RequestCapture> capture_;
  std::vector<ModelLane> lanes_;  // the default model's first; never resized once started
  std::unique_ptr<planning::VehicleTypeRouter> router_;  // in front of the lanes' planners
  std::unique_ptr<RouteServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::string address_;
  // Gives freed memory back to the system once a second, when much of it lies free.
  std::unique_ptr<MemoryTrimmer> memory_trimmer_;
  // Destroyed first: scrapes read the planner's counters, the sampler may read the model's.
  std::unique_ptr<metrics::GpuSampler> gpu_sampler_;
  std::unique_ptr<metrics::MetricsServer> metrics_server_;

  mutable absl::Mutex mu_;
  ServerPhase phase_ ABSL_GUARDED_BY(mu_) = ServerPhase::kServing;
  // server_'s, once it serves; null before.
  grpc::HealthCheckServiceInterface* health_ ABSL_GUARDED_BY(mu_) = nullptr;
  bool shutdown_started_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace routeserve::server
