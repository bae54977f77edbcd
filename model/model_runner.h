// ModelRunner: the learned route model (docs/MODEL.md) loaded from its directory
// (model.pt, a TorchScript file, and model.yaml, its metadata) and run on padded batches of
// problems: features (model/features.h) in, K decodings per problem out, every one checked.
// No LibTorch in this header: the server includes it; LibTorch stays in model_runner.cc.
//
// LOADING: Load() reads and checks the directory's files (model/model_files.h: model.yaml and
//   its feature contract, model.pt and selftest.json against model.yaml's seal), reports
//   objective parameters that differ from the config's as warnings(), picks the device and
//   precision, loads the module from the bytes checked (a LibTorch error becomes a status),
//   checks the module's own contract against model.yaml, sets LibTorch's intra-op threads and
//   runs the self-test (model/selftest.h) in fp32 on executor 0. Any failure is an error: a
//   corrupt model never loads. A device or a precision that cannot be had is an error, never a
//   silent change: "cuda" without a CUDA device, fp16 on the CPU.
// SHAPES: a batch of B problems for bucket N runs as [class(B), min(N, max_stops)], class(B)
//   the smallest power of two >= B, capped at options.max_batch_size (which is a class of its
//   own); the extra rows are copies of the first problem, their outputs dropped. So the model
//   sees few shapes, and Warmup() runs each before the server reports ready.
// CUDA GRAPHS: on CUDA each executor encodes its batches in pinned host memory and keeps, per
//   batch shape, device buffers that they are copied into (made on the shape's first batch). With
//   options.cuda_graphs auto or on, Warmup() then captures each shape's forward pass over those
//   buffers as a CUDA graph, on the executor's stream, and later batches of the shape replay
//   it: one launch instead of the forward's hundreds. A shape whose capture fails (a model
//   that synchronises with the host, say) runs eagerly with auto, and is counted
//   (cuda_graphs()); with on, the warm-up fails. Off, and on the CPU, every batch runs eagerly.
// FAMILIES (model.yaml's `family`, docs/MODEL.md): route-v1's pointer model decodes K routes
//   per problem in its forward pass (inputs with the decodings' noise); route-v2's edge model
//   scores every directed pair of nodes (the same inputs but the noise) and the runner builds
//   the routes from the scores (model/decodings.h, ScoredProblemOf). Run() gives either's
//   routes; Score() the edge model's scores with them.
// RESULTS: per problem, its decodings (decoding 0 greedy, k >= 1 sampled with the problem's
//   own Gumbel noise: the same problem gets the same decodings in any batch), each a permutation
//   of its stops that routing::Evaluate finds feasible, with that cost. Else a status:
//     kDataLoss   the model broke its contract for this problem (a score that is not finite,
//                 an order that is not its stops each once followed by its padding rows
//                 ascending, an infeasible order, outputs of the wrong shape): the caller falls
//                 back, counting invalid_order;
//     kInternal   the forward pass failed (any LibTorch error or exception): the whole batch;
//     kInvalidArgument  the call was wrong (too many stops for N, N above max_stops, K out of
//                 range, an executor index out of range): the whole batch.
// THREADING: Run() may be called concurrently with distinct `executor` indices (each has its
//   own staging buffers and, on CUDA, its own stream); the same index from two threads at once
//   is a caller's bug. Each call runs under c10::InferenceMode, and under autocast to the
//   precision when it is not fp32 (autocast state is per thread, set per call).
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "model/decodings.h"
#include "model/metadata.h"
#include "model/runner_options.h"
#include "routing/instance.h"

namespace routeserve::model {

// Each warm-up shape runs this many times: TorchScript's profiling executor optimises a graph on
// its second call, which would otherwise fall on a request.
inline constexpr int kWarmupRunsPerShape = 2;

// CUDA graphs captured by Warmup(), counted in shapes x executors.
struct CudaGraphCounts {
  int captured = 0;
  int failed = 0;             // those shapes run eagerly
  std::string first_failure;  // where and why the first capture failed
};

// What Warmup() ran.
struct WarmupReport {
  int shapes = 0;  // (N, batch class) pairs
  std::vector<std::pair<int, int>> shapes_run;  // those pairs, in the order run
  int forward_passes = 0;  // shapes x executors warmed x kWarmupRunsPerShape
  absl::Duration total;
  absl::Duration slowest;
  int slowest_padded_size = 0;
  int slowest_batch = 0;
  CudaGraphCounts graphs;
};

class ModelRunner {
 public:
  // Loads the model in `model_dir` (see LOADING). `options.max_batch_size` >= 1.
  static absl::StatusOr<std::unique_ptr<ModelRunner>> Load(const std::string& model_dir,
                                                           const ModelRunnerOptions& options);
  ModelRunner(const ModelRunner&) = delete;
  ModelRunner& operator=(const ModelRunner&) = delete;
  ~ModelRunner();

  // Runs `instances` (at most min(padded_size, max_stops()) stops each) as one batch with
  // `decodings` decodings each (1..kMaxDecodings) on executor `executor` (see RESULTS).
  std::vector<absl::StatusOr<std::vector<Decoding>>> Run(
      std::span<const routing::Instance* const> instances, int padded_size, int decodings,
      int executor);

  // The edge model's answer for `instances` (as Run(), with `starts` routes built from each
  // problem's scores, 1..kMaxDecodings): its scores and starts, or a status as in RESULTS.
  // InvalidArgument for every problem when the model is not an edge model.
  std::vector<absl::StatusOr<ScoredProblem>> Score(
      std::span<const routing::Instance* const> instances, int padded_size, int starts,
      int executor);

  // Runs one generated batch of every shape the server can ask for: each bucket of `buckets`
  // (as N = PaddedSizeFor(bucket)) with each batch class of options.max_batch_size, with
  // `decodings` decodings, kWarmupRunsPerShape times on executor 0 (on CUDA, on every executor:
  // each has its own stream), then captures each as a CUDA graph (CUDA GRAPHS) and runs it once
  // more, replayed. An error (a precision the model cannot run, a model that fails on some
  // shape or answers it with an invalid order or a score that is not finite, a capture that
  // fails with options.cuda_graphs on) names the shape.
  absl::StatusOr<WarmupReport> Warmup(std::span<const int> buckets, int decodings);
  // The graphs the last Warmup() captured (zeros on the CPU).
  CudaGraphCounts cuda_graphs() const;

  // "route-v1-3f2a9c0b7d41": the directory's name and the content hash of its files
  // (model/model_files.h).
  const std::string& model_version() const;
  const ModelMetadata& metadata() const;
  ModelFamily family() const { return metadata().family; }
  int max_stops() const { return metadata().max_stops; }
  // The N a batch of `bucket` runs at: min(bucket, max_stops()).
  int PaddedSizeFor(int bucket) const;
  // Objective parameters that differ from the config's (see metadata.h), for the start-up log.
  const std::vector<std::string>& warnings() const;
  std::string device() const;  // "cpu", "cuda:0"
  Precision precision() const;
  int threads() const;  // LibTorch's intra-op threads as set
  int max_batch_size() const;

  // Bytes LibTorch's CUDA caching allocator holds in tensors on the runner's device; nullopt
  // on the CPU (and always with a CPU-only LibTorch). For the metrics' GPU sampler.
  std::optional<int64_t> CudaAllocatedBytes() const;

  // CUDA devices LibTorch sees; 0 without CUDA (Debian's LibTorch is CPU-only).
  static int CudaDeviceCount();

  // The batch classes of `max_batch_size`: 1, 2, 4, ... below it, and itself.
  static std::vector<int> BatchClasses(int max_batch_size);
  // The class a batch of `batch_size` runs as: the smallest class >= batch_size, or batch_size
  // itself when it is above max_batch_size.
  static int BatchClassFor(int batch_size, int max_batch_size);

  // Implementation details follow.
 private:
  struct Impl;
  explicit ModelRunner(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace routeserve::model
