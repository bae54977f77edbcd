// The server's configuration (docs/ARCHITECTURE.md, Configuration): one YAML file, every key documented in
// config/routeserve.yaml, any key overridable with `--set section.key=value`.
//
// Unknown keys, wrong types and out-of-range values are errors that name the key
// ("solver.max_moves: must be >= 0, got -3"); loading never half-succeeds.
//
// KEYS: the YAML sections and keys are those of config/routeserve.yaml, where each states its
//   meaning, unit, default and range: server.{address, worker_threads, max_connection_age_s,
//   tls.{cert_file, key_file, client_ca_file}}, limits.{max_stops, max_message_bytes,
//   max_stream_messages, max_stream_outstanding, max_concurrent_streams}, batching.{buckets,
//   max_batch_size, max_queue_delay_us, max_queue_size, executors, executor_stuck_after_s},
//   objective.{lateness_weight, waiting_weight, detour_factor,
//   speed_mps.{bike, scooter, car, van}}, solver.{max_moves, perturbation_rounds,
//   max_evaluations, candidates, seed}, model.{path, repository, name, version, shadow_version,
//   shadow_ratio, device, precision, cuda_graphs, decodings, candidates, threads,
//   by_vehicle_type.{bike,
//   scooter, car, van}.{name, version, device, precision, decodings, executors}},
//   refine.{max_moves, perturbation_rounds}, metrics.{address, gpu_sample_period_s},
//   shutdown.{drain_delay_s, grace_period_s}. An absent key keeps the
//   default below; an empty file means all defaults.
// CROSS-KEY: the largest of batching.buckets must hold limits.max_stops stops, so that every
//   request the limits admit has a bucket; else an error naming batching.buckets.
// ERRORS: InvalidArgument whose message starts with the full dotted key ("server.adress:
//   unknown key ...", "objective.speed_mps.bike: expected a number, got \"fast\"") and ends with
//   where the value came from ("(line 7)" or "(from --set)"); a YAML syntax error names its line
//   and column; a malformed override is quoted as given. LoadConfig: NotFound when the file does
//   not exist, InvalidArgument when it cannot be read; both name the path as given.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "model/runner_options.h"
#include "routing/objective.h"
#include "routing/solver.h"

namespace routeserve::config {

struct Config {
  struct Server {
    std::string address = "127.0.0.1:50051";  // host:port; port 0 picks a free one
    int worker_threads = 0;  // threads refining routes and building responses; 0 = one per core
    // A connection older than this gets a GOAWAY, so that clients reconnect (and re-resolve);
    // its calls in flight get shutdown.grace_period to finish. Zero: connections never age.
    absl::Duration max_connection_age = absl::ZeroDuration();
    // TLS on the gRPC port (server/tls.h). The files are read, and checked, at start-up; their
    // paths are relative to the working directory. Empty cert_file: plaintext.
    struct Tls {
      std::string cert_file;       // PEM certificate chain, the server's own first
      std::string key_file;        // PEM private key of that certificate, unencrypted
      std::string client_ca_file;  // PEM CA certificates; set: mutual TLS, client certs required
    } tls;
  } server;

  struct Limits {
    int max_stops = 128;  // stops per request
    // Largest message the server reads, in bytes; a larger one is refused by gRPC with
    // RESOURCE_EXHAUSTED before any handler sees it. 0: what a request of max_stops stops can
    // need (see MessageBytesLimit()).
    int max_message_bytes = 0;
    // Messages one SuggestStream call may send; the one past it is refused and the stream ends
    // with RESOURCE_EXHAUSTED (server/suggest_stream.h). 0: no limit.
    int64_t max_stream_messages = 0;
    // Messages of one stream in flight or waiting to be written; at this number the server
    // stops reading that stream until one is written (backpressure), >= 1.
    int max_stream_outstanding = 64;
    // Calls (HTTP/2 streams, unary or streaming) open at once on one client connection; the
    // client holds further ones until one ends. 0: gRPC's default, no limit of our own.
    int max_concurrent_streams = 0;
    // max_message_bytes as the server applies it: the configured value, or the derived one.
    int MessageBytesLimit() const;
  } limits;

  // The dynamic batcher (batching/batcher.h).
  struct Batching {
    std::vector<int> buckets = {8, 16, 32, 64, 128};  // stop counts, ascending, each 1..1024
    int max_batch_size = 64;                            // tasks per batch, 1..4096
    // How long a bucket's oldest task may wait for company; whole microseconds, 0..10 s.
    absl::Duration max_queue_delay = absl::Microseconds(500);
    int max_queue_size = 1024;  // tasks waiting per bucket, >= 1; more are refused
    // Refuse at once a task whose deadline the calls ahead of it would outlast
    // (planning/deadline_admission.h), rather than queue it to expire.
    bool admit_by_deadline = true;
    int executors = 0;          // threads running batches; 0 = one per core
    // A batch running this long takes its executor out of service (batching/batcher.h);
    // zero: never. 0..3600 s.
    absl::Duration executor_stuck_after = absl::Seconds(60);
  } batching;

  routing::ObjectiveParams objective;  // objective.* and the travel-time model
  routing::SolverOptions solver;       // solver.*

  // The learned route model (docs/MODEL.md; model/model_runner.h, planning/model_proposer.h).
  struct Model {
    // The model's directory (model.pt + model.yaml), relative to the working directory; empty:
    // no model, the classical solver answers (source HEURISTIC). config/routeserve.yaml names
    // the shipped model, models/route-v1.
    std::string path;
    // Or a model repository (model/repository.h): `name`'s version `version` (0: the latest)
    // under `repository`; a reload (SIGHUP) loads the version the policy picks then. Exclusive
    // with `path`.
    std::string repository;
    std::string name;
    int64_t version = 0;
    // A candidate version of `name` tried on a share of live traffic beside the one serving
    // (planning/shadow_runner.h): 0 none, N that version, -1 the latest when it is not the one
    // serving. Its routes are never answered; the cost difference is measured.
    int64_t shadow_version = 0;
    double shadow_ratio = 0.1;  // share of the answered requests tried on it, 0..1
    model::DeviceSpec device;                          // auto | cpu | cuda | cuda:N
    model::Precision precision = model::Precision::kFp32;
    // CUDA graphs of the forward pass, one per batch shape and executor (model/model_runner.h):
    // auto | on | off.
    model::CudaGraphs cuda_graphs = model::CudaGraphs::kAuto;
    int decodings = 8;  // per request: 1 greedy + (decodings - 1) sampled, 1..64
    // route-v2: each stop's best-scored successors the search tries (candidate lists); 0: all.
    int candidates = 8;
    int threads = 1;    // LibTorch intra-op threads (process-wide); 0 = one per core
    // The model of each vehicle type (model.by_vehicle_type.<type>, indexed by
    // routing::VehicleType), with model.repository: a request goes to its courier's vehicle
    // type's model, which has a batcher and executors of its own (config/served_models.h).
    // Each setting left empty (0) is the one above, the default model's.
    struct VehicleModel {
      std::string name;      // a model of `repository`; empty: `name` above
      int64_t version = 0;   // of that model; 0: the latest
      std::optional<model::DeviceSpec> device;
      std::optional<model::Precision> precision;
      int decodings = 0;
      int executors = 0;  // batches it runs at once; 0: batching.executors
    };
    std::array<VehicleModel, routing::kNumVehicleTypes> by_vehicle_type;
  } model;

  // Local search from the model's route (routing::SolveFrom).
  struct Refine {
    int64_t max_moves = 200;  // improving moves, >= 0; 0 = none (source MODEL)
    // Iterated local search rounds after the descent (routing::SolveFrom), >= 0; 0 = none.
    int64_t perturbation_rounds = 40;
  } refine;

  // The Prometheus endpoint (docs/METRICS.md; metrics/).
  struct Metrics {
    std::string address = "127.0.0.1:9464";  // host:port of GET /metrics; port 0 picks one
    // How often the GPUs' utilisation and memory are read (NVML); zero: never.
    absl::Duration gpu_sample_period = absl::Seconds(1);
  } metrics;

  // Opt-in capture of answered requests to JSON lines (capture/request_capture.h,
  // docs/MODEL.md, Learning from traffic). Off unless `path` is set and `sample_ratio` > 0.
  struct Capture {
    std::string path;           // the JSON-lines file; empty: nothing is captured
    double sample_ratio = 0;    // share of answered requests captured, 0..1
    int64_t max_file_bytes = 256 << 20;  // then PATH becomes PATH.1 and a new PATH begins
  } capture;

  struct Shutdown {
    // Readiness reports NOT_SERVING while calls are still accepted, so load balancers notice.
    absl::Duration drain_delay = absl::Seconds(5);
    // In-flight calls get this long to finish once new calls are refused.
    absl::Duration grace_period = absl::Seconds(20);
  } shutdown;
};

// Loads `path` (the defaults above where a key is absent), then applies `overrides`, each
// "section.key=value" with the value in YAML syntax.
//
// Overrides are applied to the YAML tree before validation, so an overridden value gets the
// same checks as one in the file; later overrides of the same key win. A value that YAML does
// not read as one scalar (e.g. "[::1]:50051", which is a flow sequence) must be quoted:
// --set 'server.address="[::1]:50051"'.
absl::StatusOr<Config> LoadConfig(const std::string& path,
                                  const std::vector<std::string>& overrides = {});

// The same from YAML text, for tests and tools.
absl::StatusOr<Config> ParseConfig(const std::string& yaml_text,
                                   const std::vector<std::string>& overrides = {});

// The effective configuration as YAML, every key present, in the layout of
// config/routeserve.yaml without its comments; the server logs it at start-up. For a valid
// `config`, ParseConfig(ConfigToYaml(config)) gives back `config` (numbers are written in
// their shortest exact form, durations in seconds).
std::string ConfigToYaml(const Config& config);

}  // namespace routeserve::config
