// RouteServer: start-up and the shutdown phases.
#include "server/server.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "grpc/grpc.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "model/torch_build.h"
#include "server/build_revision.h"
#include "server/listen_error.h"
#include "base/log.h"
#include "server/tls.h"

namespace routeserve::server {
namespace {

// Refusing phase (see Shutdown()): how long no call must have arrived before gRPC is shut down,
// and what grpc::Server::Shutdown still gets after that.
constexpr absl::Duration kRefusalQuietPeriod = absl::Milliseconds(250);
constexpr absl::Duration kShutdownTail = absl::Seconds(1);

// Memory freed after a burst goes back to the system once this much of it lies free
// (server/memory_trimmer.h): about 64 messages at the default limit.
constexpr absl::Duration kMemoryTrimPeriod = absl::Seconds(1);
constexpr int64_t kMemoryTrimThresholdBytes = 16 << 20;

// The empty service name: liveness of the whole process, by gRPC health-checking convention.
constexpr char kLivenessService[] = "";

// Both are process-wide switches that ServerBuilder reads when it is constructed.
void EnableHealthAndReflection() {
  static std::once_flag once;
  std::call_once(once, [] {
    grpc::EnableDefaultHealthCheckService(true);
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  });
}

// A duration as a gRPC channel argument in milliseconds (an int, capped at its largest value).
int MillisecondsArg(absl::Duration duration) {
  return static_cast<int>(std::min<int64_t>(absl::ToInt64Milliseconds(duration), INT32_MAX));
}

// "host:port" with the port replaced by `port`; the host as configured.
std::string BoundAddress(const std::string& configured, int port) {
  const size_t colon = configured.rfind(':');
  const std::string host = colon == std::string::npos ? configured : configured.substr(0, colon);
  return absl::StrCat(host, ":", port);
}

}  // namespace

absl::string_view ServerPhaseName(ServerPhase phase) {
  switch (phase) {
    case ServerPhase::kServing:
      return "serving";
    case ServerPhase::kDraining:
      return "draining";
    case ServerPhase::kRefusing:
      return "refusing";
    case ServerPhase::kStopping:
      return "stopping";
    case ServerPhase::kStopped:
      return "stopped";
  }
  return "unknown";
}

RouteServer::RouteServer(const config::Config& config, ServerHooks hooks)
    : config_(config), hooks_(std::move(hooks)) {}

absl::StatusOr<std::unique_ptr<RouteServer>> RouteServer::Start(
    const config::Config& config, ServerHooks hooks,
    std::unique_ptr<planning::BatchProposer> proposer) {
  if (hooks.clock == nullptr) return absl::InvalidArgumentError("server: clock is null");
  // First: a bad certificate fails start-up before a model is loaded.
  absl::StatusOr<ServerTls> tls = LoadServerTls(config.server.tls);
  if (!tls.ok()) return tls.status();
  std::unique_ptr<RouteServer> server(new RouteServer(config, std::move(hooks)));
  if (absl::Status status = server->StartPlanners(std::move(proposer)); !status.ok()) {
    return status;
  }
  if (absl::Status status = server->StartMetrics(); !status.ok()) return status;
  server->memory_trimmer_ =
      std::make_unique<MemoryTrimmer>(kMemoryTrimPeriod, kMemoryTrimThresholdBytes);
  if (absl::Status status = server->Listen(*tls); !status.ok()) return status;
  server->EnterPhase(ServerPhase::kServing);
  return server;
}

absl::Status RouteServer::StartPlanners(std::unique_ptr<planning::BatchProposer> proposer) {
  const config::Config& config = config_;
  std::vector<config::ServedModel> served;
  if (proposer != nullptr) {
    served.push_back({.config = config, .is_default = true});
    for (int type = 0; type < routing::kNumVehicleTypes; ++type) {
      served.back().vehicle_types.push_back(static_cast<routing::VehicleType>(type));
    }
  } else {
    absl::StatusOr<std::vector<config::ServedModel>> models = config::ServedModels(config);
    if (!models.ok()) return models.status();
    served = *std::move(models);
  }
  const model::TorchBuild torch = model::LinkedTorch();
  metrics_ = std::make_shared<metrics::ServingMetrics>(metrics::ServingMetricsOptions{
      .bucket_sizes = config.batching.buckets,
      .max_batch_size = config.batching.max_batch_size,
      .version = ROUTESERVE_VERSION,
      .revision = ROUTESERVE_REVISION,
      .libtorch = torch.version,
      .cuda = torch.cuda});
  service_observer_ =
      std::make_unique<MetricsObserver>(metrics_.get(), nullptr, hooks_.service_observer);
  lanes_.reserve(served.size());  // the lanes' callbacks hold their addresses
  planning::VehicleTypeRouter::Planners planners{};
  for (config::ServedModel& model : served) {
    ModelLane& lane = lanes_.emplace_back();
    lane.served = std::move(model);
    std::unique_ptr<planning::BatchProposer> lane_proposer = std::move(proposer);
    if (lane_proposer == nullptr) {
      absl::StatusOr<std::unique_ptr<planning::BatchProposer>> created =
          planning::CreateProposer(lane.served.config);
      if (!created.ok()) return created.status();
      lane_proposer = *std::move(created);
    }
    if (absl::Status status = StartLane(lane, std::move(lane_proposer)); !status.ok()) {
      return status;
    }
    for (const routing::VehicleType type : lane.served.vehicle_types) {
      planners[static_cast<int>(type)] = lane.planner.get();
    }
  }
  router_ = std::make_unique<planning::VehicleTypeRouter>(planners);

  RouteServiceOptions service_options;
  service_options.limits.max_stops = config.limits.max_stops;
  base::Log("limits: %d stops, messages of at most %d bytes%s", config.limits.max_stops,
            config.limits.MessageBytesLimit(),
            config.limits.max_message_bytes == 0 ? " (derived from limits.max_stops)" : "");
  service_options.max_stream_outstanding = config.limits.max_stream_outstanding;
  service_options.max_stream_messages = config.limits.max_stream_messages;
  service_options.clock = hooks_.clock;
  service_options.observer = service_observer_.get();
  absl::StatusOr<std::unique_ptr<capture::RequestCapture>> capture =
      capture::RequestCapture::Start(config.capture);
  if (!capture.ok()) return capture.status();
  capture_ = *std::move(capture);
  service_options.capture = capture_.get();
  service_ = std::make_unique<RouteServiceImpl>(router_.get(), std::move(service_options));
  return absl::OkStatus();
}

absl::Status RouteServer::StartLane(ModelLane& lane,
                                    std::unique_ptr<planning::BatchProposer> proposer) {
  const config::Config& config = lane.served.config;
  lane.model = dynamic_cast<planning::ReloadingProposer*>(proposer.get());
  planning::ReloadingProposer* const model = lane.model;
  const std::string name = model != nullptr ? model->serving_name() : lane.served.name;
  lane.observer = std::make_unique<MetricsObserver>(
      metrics_.get(), hooks_.batching_observer, nullptr, name,
      model != nullptr ? MetricsObserver::VersionSource([model] { return model->model_version(); })
                       : MetricsObserver::VersionSource());
  metrics_->AddStageSeries(
      {.model = name, .version = model != nullptr ? model->model_version() : std::string()});
  if (model != nullptr && lane.served.is_default && config.model.shadow_version != 0) {
    lane.shadow = std::make_unique<planning::ShadowRunner>(planning::ShadowRunner::Options{
        .ratio = config.model.shadow_ratio,
        .shadow = [model] { return model->shadow(); },
        // Requests first: a shadow runs only while its model's planner has none in hand.
        .busy = [&lane] { return lane.planner->in_flight() > 0; },
        .on_compared =
            [this, name](const planning::ShadowOutcome& outcome) {
              metrics_->ShadowCompared(name, outcome.version, outcome.delta_ratio());
            },
        .on_dropped = [this] { metrics_->ShadowDropped(); }});
  }
  planning::BatchingPlanner::Options planner_options;
  planner_options.proposer = std::move(proposer);
  planner_options.shadow = lane.shadow.get();
  planner_options.clock = hooks_.clock;
  planner_options.observer = lane.observer.get();
  planner_options.on_executor_stuck = [this](int in_service) { OnExecutorStuck(in_service); };
  absl::StatusOr<std::unique_ptr<planning::BatchingPlanner>> planner =
      planning::BatchingPlanner::Create(config, std::move(planner_options));
  if (!planner.ok()) return planner.status();
  lane.planner = std::move(planner).value();
  std::vector<std::string> types;
  for (const routing::VehicleType type : lane.served.vehicle_types) {
    types.emplace_back(routing::VehicleTypeName(type));
  }
  base::Log("batching%s: buckets [%s], max batch %d, max queue delay %s, max queue %d per "
            "bucket; %d executors, %d refine threads; an executor is stuck after %s",
            lane.served.vehicle_types.size() < routing::kNumVehicleTypes
                ? absl::StrCat(" for ", name.empty() ? "the classical solver" : name, " (",
                               absl::StrJoin(types, ", "), ")")
                : std::string(),
            absl::StrJoin(lane.planner->bucket_sizes(), ", "), config.batching.max_batch_size,
            absl::FormatDuration(config.batching.max_queue_delay),
            config.batching.max_queue_size, lane.planner->executors(),
            lane.planner->refine_threads(),
            config.batching.executor_stuck_after > absl::ZeroDuration()
                ? absl::FormatDuration(config.batching.executor_stuck_after)
                : std::string("never (watchdog off)"));
  return absl::OkStatus();
}

absl::Status RouteServer::Listen(const ServerTls& tls) {
  const config::Config& config = config_;
  EnableHealthAndReflection();
  grpc::ServerBuilder builder;
  // gRPC sets SO_REUSEPORT by default: a second server on a taken port would start and share
  // its traffic. One process per port; a taken port is a start-up error.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  if (config.server.max_connection_age > absl::ZeroDuration()) {
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS,
                               MillisecondsArg(config.server.max_connection_age));
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
                               MillisecondsArg(config.shutdown.grace_period));
  }
  // A larger message is refused by gRPC itself, RESOURCE_EXHAUSTED, before any handler.
  builder.SetMaxReceiveMessageSize(config.limits.MessageBytesLimit());
  if (config.limits.max_concurrent_streams > 0) {
    // HTTP/2's SETTINGS_MAX_CONCURRENT_STREAMS: clients hold further calls until one ends.
    builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                               config.limits.max_concurrent_streams);
  }
  int selected_port = 0;
  // One port, one set of credentials: RouteService, health and reflection alike.
  builder.AddListeningPort(config.server.address, tls.credentials, &selected_port);
  builder.RegisterService(service_.get());
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || selected_port == 0) {
    // gRPC says why only in its own log: ask the system.
    const std::string why = WhyCannotListen(config.server.address);
    return absl::UnavailableError(absl::StrCat(
        "server.address: cannot listen on \"", config.server.address, "\": ",
        why.empty() ? "gRPC refused it (its log says why)" : why));
  }
  port_ = selected_port;
  address_ = BoundAddress(config.server.address, selected_port);
  base::Log("tls: %s", tls.description);

  grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService();
  if (health == nullptr) return absl::InternalError("server: no health check service");
  health->SetServingStatus(kLivenessService, true);
  // Ready: the classical solver needs nothing loaded, and a model was loaded and warmed up by
  // planning::CreateProposer before the planner started.
  health->SetServingStatus(kRouteServiceName, true);
  absl::MutexLock lock(&mu_);
  health_ = health;
  return absl::OkStatus();
}

void RouteServer::OnExecutorStuck(int in_service) {
  if (in_service > 0) return;
  base::Log("no executor left in service: liveness and readiness NOT_SERVING, calls refused with "
      "UNAVAILABLE; the process awaits a restart");
  absl::MutexLock lock(&mu_);
  if (health_ == nullptr) return;
  health_->SetServingStatus(kLivenessService, false);
  health_->SetServingStatus(kRouteServiceName, false);
}

absl::Status RouteServer::StartMetrics() {
  for (const ModelLane& lane : lanes_) SetModelInfo(lane);
  metrics_->SetSampler([this] { return SampleForScrape(); });
  absl::StatusOr<std::unique_ptr<metrics::MetricsServer>> metrics_server =
      metrics::MetricsServer::Start(config_.metrics.address, metrics_);
  if (!metrics_server.ok()) return metrics_server.status();
  metrics_server_ = *std::move(metrics_server);

  if (config_.metrics.gpu_sample_period <= absl::ZeroDuration()) return absl::OkStatus();
  metrics::GpuSamplerOptions gpu;
  gpu.period = config_.metrics.gpu_sample_period;
  const bool on_cuda = std::any_of(lanes_.begin(), lanes_.end(), [](const ModelLane& lane) {
    return lane.model != nullptr && lane.model->serving()->runner()->CudaAllocatedBytes();
  });
  if (on_cuda) {
    // The models' CUDA devices, as NVML numbers them where CUDA_VISIBLE_DEVICES does not
    // renumber; the models serving at each sample (a reload may have replaced them).
    gpu.allocator_bytes_in_use = [this](int nvml_index) -> std::optional<int64_t> {
      std::optional<int64_t> bytes;
      for (const ModelLane& lane : lanes_) {
        if (lane.model == nullptr) continue;
        const std::shared_ptr<const planning::ModelProposer> serving = lane.model->serving();
        const std::string device = serving->runner()->device();  // "cuda:N" or "cpu"
        if (device != absl::StrCat("cuda:", nvml_index)) continue;
        if (const std::optional<int64_t> used = serving->runner()->CudaAllocatedBytes()) {
          bytes = bytes.value_or(0) + *used;
        }
      }
      return bytes;
    };
  }
  gpu_sampler_ = metrics::GpuSampler::Start(metrics_->registry(), std::move(gpu));
  if (gpu_sampler_->sampling()) {
    base::Log("metrics: sampling %d GPU(s) every %s", gpu_sampler_->devices(),
        absl::FormatDuration(config_.metrics.gpu_sample_period));
  } else {
    base::Log("metrics: no GPU metrics: %s", gpu_sampler_->unavailable_reason());
  }
  return absl::OkStatus();
}

metrics::ScrapeSample RouteServer::SampleForScrape() const {
  metrics::ScrapeSample sample;
  const batching::BatcherStats stats = planner_stats();
  sample.queue_depth.assign(stats.depth.begin(), stats.depth.end());
  const planning::FallbackCounts counts = fallback_counts();
  for (const auto& [reason, count] :
       {std::pair{planning::FallbackReason::kStopsAboveModelMax, counts.stops_above_model_max},
        std::pair{planning::FallbackReason::kModelError, counts.model_error},
        std::pair{planning::FallbackReason::kInvalidOrder, counts.invalid_order}}) {
    sample.fallbacks.emplace_back(std::string(planning::FallbackReasonName(reason)), count);
  }
  sample.fallbacks.emplace_back(
      std::string(planning::FallbackReasonName(planning::FallbackReason::kExecutorStuck)),
      counts.executor_stuck);
  sample.executors_stuck = stats.stuck_executors;
  if (capture_ != nullptr) {
    const capture::CaptureCounts captured = capture_->counts();
    sample.captured = {captured.written, captured.dropped};
  }
  for (const ModelLane& lane : lanes_) {
    if (lane.model == nullptr) continue;
    const model::CudaGraphCounts graphs = lane.model->serving()->runner()->cuda_graphs();
    sample.cuda_graphs.captured += graphs.captured;
    sample.cuda_graphs.failed += graphs.failed;
  }
  return sample;
}

RouteServer::~RouteServer() {
  // A server whose Start() failed half-way has no grpc::Server; its planners join on their own.
  if (server_ != nullptr) Shutdown();
  for (ModelLane& lane : lanes_) {
    if (lane.planner == nullptr || lane.planner->executors_stuck() == 0) continue;
    // Their threads are blocked in a batch and may yet return into the planner, its proposer
    // and model: those stay, unreachable, for the process's last moments.
    base::Log("%d executor(s) still stuck in a batch: not waiting for them",
              lane.planner->executors_stuck());
    [[maybe_unused]] planning::BatchingPlanner* const left = lane.planner.release();
  }
}

batching::BatcherStats RouteServer::planner_stats() const {
  batching::BatcherStats sum;
  for (const ModelLane& lane : lanes_) {
    const batching::BatcherStats stats = lane.planner->stats();
    sum.accepted += stats.accepted;
    sum.refused_full += stats.refused_full;
    sum.refused_closed += stats.refused_closed;
    sum.expired += stats.expired;
    sum.cancelled += stats.cancelled;
    sum.shut_down += stats.shut_down;
    sum.batches += stats.batches;
    sum.executed += stats.executed;
    sum.refused_no_executor += stats.refused_no_executor;
    sum.stuck_executors += stats.stuck_executors;
    sum.late_returns += stats.late_returns;
    sum.depth.resize(std::max(sum.depth.size(), stats.depth.size()));
    for (size_t i = 0; i < stats.depth.size(); ++i) sum.depth[i] += stats.depth[i];
  }
  return sum;
}

int RouteServer::executors_stuck() const {
  int stuck = 0;
  for (const ModelLane& lane : lanes_) stuck += lane.planner->executors_stuck();
  return stuck;
}

planning::FallbackCounts RouteServer::fallback_counts() const {
  planning::FallbackCounts sum;
  for (const ModelLane& lane : lanes_) {
    if (lane.model != nullptr) sum += lane.model->fallback_counts();
    sum.executor_stuck += lane.planner->executor_stuck_fallbacks();
  }
  return sum;
}

const RouteServer::ModelLane& RouteServer::LaneOf(routing::VehicleType vehicle) const {
  for (const ModelLane& lane : lanes_) {
    const std::vector<routing::VehicleType>& types = lane.served.vehicle_types;
    if (std::find(types.begin(), types.end(), vehicle) != types.end()) return lane;
  }
  return lanes_.front();  // unreachable: the lanes' types cover every vehicle type
}

std::shared_ptr<const model::ModelRunner> RouteServer::model(
    std::optional<routing::VehicleType> vehicle) const {
  const ModelLane& lane = vehicle.has_value() ? LaneOf(*vehicle) : lanes_.front();
  if (lane.model == nullptr) return nullptr;
  std::shared_ptr<const planning::ModelProposer> serving = lane.model->serving();
  const model::ModelRunner* const runner = serving->runner();
  return std::shared_ptr<const model::ModelRunner>(std::move(serving), runner);
}

void RouteServer::SetModelInfo(const ModelLane& lane) {
  if (lane.model == nullptr) return;
  const std::shared_ptr<const planning::ModelProposer> serving = lane.model->serving();
  const model::ModelRunner* const runner = serving->runner();
  metrics_->SetModelInfo(lane.model->serving_name(), runner->model_version(), runner->device(),
                         std::string(model::PrecisionName(runner->precision())));
}

std::vector<planning::ReloadOutcome> RouteServer::ReloadModels() {
  std::vector<planning::ReloadOutcome> outcomes;
  for (const ModelLane& lane : lanes_) {
    if (lane.model == nullptr) continue;
    base::Log("model: reloading (serving %s)", lane.model->model_version());
    planning::ReloadOutcome outcome = lane.model->Reload();
    switch (outcome.result) {
      case planning::ReloadOutcome::Result::kSwapped:
        SetModelInfo(lane);
        metrics_->AddStageSeries({.model = lane.model->serving_name(), .version = outcome.version});
        base::Log("model: %s swapped in", outcome.version);
        break;
      case planning::ReloadOutcome::Result::kUnchanged:
        base::Log("model: unchanged (%s): nothing loaded", outcome.version);
        break;
      case planning::ReloadOutcome::Result::kFailed:
        base::Log("model: reload refused, %s still serves: %s", outcome.version,
                  outcome.status.message());
        break;
    }
    metrics_->ModelReloaded(std::string(planning::ReloadResultName(outcome.result)));
    outcomes.push_back(std::move(outcome));
  }
  if (outcomes.empty()) {
    base::Log("model: reload asked, but no model is configured (model.path and "
              "model.repository are empty): nothing to reload");
  }
  return outcomes;
}

ServerPhase RouteServer::phase() const {
  absl::MutexLock lock(&mu_);
  return phase_;
}

void RouteServer::EnterPhase(ServerPhase phase) {
  {
    absl::MutexLock lock(&mu_);
    phase_ = phase;
  }
  if (hooks_.on_phase) hooks_.on_phase(phase);
}

void RouteServer::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    if (shutdown_started_) {
      mu_.Await(absl::Condition(
          +[](ServerPhase* phase) { return *phase == ServerPhase::kStopped; }, &phase_));
      return;
    }
    shutdown_started_ = true;
  }

  // 1. Readiness off; calls still accepted while load balancers notice.
  server_->GetHealthCheckService()->SetServingStatus(kRouteServiceName, false);
  EnterPhase(ServerPhase::kDraining);
  absl::SleepFor(config_.shutdown.drain_delay);

  // 2. Refuse new calls (our handlers answer UNAVAILABLE); those in flight get the grace
  //    period (the planner keeps running, so queued work completes, or is dropped once its call
  //    is cancelled). grpc::Server::Shutdown comes only once our calls are done and the clients
  //    have had their UNAVAILABLE and gone quiet, because
  //    - a call that reaches gRPC just after its GOAWAY is cancelled by gRPC (CANCELLED), not
  //      refused: better that clients hear UNAVAILABLE from us first;
  //    - it also waits for clients to close their idle connections after the GOAWAY, which
  //      they take seconds to do: with our calls done, it gets only a short tail (responses on
  //      their way, other services' calls), then closes what is left.
  //    Past the grace period, whatever remains is cancelled.
  service_->StartRefusing();
  EnterPhase(ServerPhase::kRefusing);
  const absl::Time grace_end = absl::Now() + config_.shutdown.grace_period;
  absl::Time shutdown_deadline = std::min(grace_end, absl::Now() + kShutdownTail);
  if (!service_->AwaitQuiet(kRefusalQuietPeriod, grace_end)) {
    // The grace period is over. What is still in flight is answered UNAVAILABLE by us, not
    // cancelled by gRPC, and those answers get the tail to reach their clients.
    const RouteServiceImpl::Aborted aborted = service_->AbortInFlight();
    if (aborted.calls > 0 || aborted.stream_messages > 0) {
      base::Log("grace period over: %d call(s) and %d stream message(s) still in flight answered "
          "UNAVAILABLE",
          aborted.calls, aborted.stream_messages);
      shutdown_deadline = absl::Now() + kShutdownTail;
    }
  }
  server_->Shutdown(absl::ToChronoTime(shutdown_deadline));

  // 3. No call is left; the batcher holds at most work of cancelled streams, which is dropped
  //    as its batch forms, or answered UNAVAILABLE once the grace period is over.
  EnterPhase(ServerPhase::kStopping);
  for (ModelLane& lane : lanes_) {
    lane.planner->Shutdown(std::max(absl::ZeroDuration(), grace_end - absl::Now()));
  }

  EnterPhase(ServerPhase::kStopped);
}

}  // namespace routeserve::server
