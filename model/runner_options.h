// Where and how the model runs: the device and precision names of the config's model.device and
// model.precision (config/routeserve.yaml), and ModelRunner's options. No LibTorch here: the
// server's config reads these names without it.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "routing/objective.h"

namespace routeserve::model {

// The most decodings of one problem a batch runs (model.decodings).
inline constexpr int kMaxDecodings = 64;

// "fp32", "bf16", "fp16": the dtype autocast runs the model's matrix products in; inputs,
// outputs, masks and the decoder's bookkeeping stay float32 / int64 / bool.
enum class Precision { kFp32, kBf16, kFp16 };
absl::string_view PrecisionName(Precision precision);
// InvalidArgument naming the accepted names.
absl::StatusOr<Precision> ParsePrecision(absl::string_view name);

// Whether the forward pass of each batch shape is captured as a CUDA graph after the warm-up
// and replayed for the batches of that shape (model_runner.h, CUDA GRAPHS): "auto" on a CUDA
// device, where a shape whose capture fails runs eagerly; "on" the same, but a capture that
// fails, or a device that is not CUDA, is an error; "off" never.
enum class CudaGraphs { kAuto, kOn, kOff };
absl::string_view CudaGraphsName(CudaGraphs mode);
// InvalidArgument naming the accepted names.
absl::StatusOr<CudaGraphs> ParseCudaGraphs(absl::string_view name);

// "auto" (the first CUDA device when LibTorch has CUDA and one is present, else the CPU),
// "cpu", "cuda" (= "cuda:0") or "cuda:N".
struct DeviceSpec {
  enum class Kind { kAuto, kCpu, kCuda };
  Kind kind = Kind::kAuto;
  int index = 0;  // kCuda only

  friend bool operator==(const DeviceSpec&, const DeviceSpec&) = default;
};
std::string DeviceSpecName(const DeviceSpec& device);  // "auto", "cpu", "cuda:1"
absl::StatusOr<DeviceSpec> ParseDeviceSpec(absl::string_view name);

struct ModelRunnerOptions {
  // Affect behaviour.
  DeviceSpec device;                    // where the model runs
  Precision precision = Precision::kFp32;
  CudaGraphs cuda_graphs = CudaGraphs::kAuto;
  // The server's objective, compared with the model's (a difference is a warning) and used to
  // evaluate the decoded orders.
  routing::ObjectiveParams objective;

  // Affect performance.
  int threads = 0;    // LibTorch intra-op threads (process-wide); 0 = one per core
  int executors = 1;  // callers of Run() at once (>= 1): one CUDA stream and staging area each
  // The largest batch Run() gets; batches are padded to classes up to it (model_runner.h).
  int max_batch_size = 64;
};

}  // namespace routeserve::model
