// Everything that differs between the LibTorch versions routeserve builds with (Debian's 1.13
// on CPU machines and CI; a 2.x CUDA build on GPU machines) and between CPU-only and CUDA
// builds, in one place, behind version and feature checks. Included by model/model_runner.cc
// only: it pulls in LibTorch headers.
//
// ROUTESERVE_TORCH_CUDA is defined by model/CMakeLists.txt when the LibTorch found has CUDA
// (its c10_cuda target exists); without it, no CUDA header is included and a CUDA device,
// which such a LibTorch cannot see anyway, gets no per-executor stream.
#pragma once

#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <torch/cuda.h>
#include <torch/script.h>
#include <torch/version.h>

#include <optional>

#if defined(ROUTESERVE_TORCH_CUDA) && __has_include(<c10/cuda/CUDAStream.h>)
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#define ROUTESERVE_HAS_CUDA_STREAMS 1
#else
#define ROUTESERVE_HAS_CUDA_STREAMS 0
#endif
#if ROUTESERVE_HAS_CUDA_STREAMS && __has_include(<ATen/cuda/CUDAGraph.h>)
#include <ATen/cuda/CUDAGraph.h>
#define ROUTESERVE_HAS_CUDA_GRAPHS 1
#else
#define ROUTESERVE_HAS_CUDA_GRAPHS 0
#endif
#if ROUTESERVE_HAS_CUDA_STREAMS && __has_include(<c10/cuda/CUDACachingAllocator.h>)
#include <c10/cuda/CUDACachingAllocator.h>
#define ROUTESERVE_HAS_CUDA_ALLOCATOR_STATS 1
#else
#define ROUTESERVE_HAS_CUDA_ALLOCATOR_STATS 0
#endif

namespace routeserve::model::compat {

// Bytes of tensors the CUDA caching allocator holds on CUDA device `index`; nullopt without
// CUDA. Index 0 of the per-type statistics is the aggregate in every LibTorch version (the
// enum naming it moved between namespaces).
inline std::optional<int64_t> CudaAllocatedBytes([[maybe_unused]] int index) {
#if ROUTESERVE_HAS_CUDA_ALLOCATOR_STATS
  return c10::cuda::CUDACachingAllocator::getDeviceStats(index).allocated_bytes[0].current;
#else
  return std::nullopt;
#endif
}

// LibTorch 2.4 replaced the per-device autocast functions (set_cpu_enabled, set_enabled,
// set_autocast_cpu_dtype, ...) with ones taking the device type, and deprecated the old.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define ROUTESERVE_AUTOCAST_BY_DEVICE_TYPE 1
#else
#define ROUTESERVE_AUTOCAST_BY_DEVICE_TYPE 0
#endif

inline bool AutocastEnabled(c10::DeviceType device) {
#if ROUTESERVE_AUTOCAST_BY_DEVICE_TYPE
  return at::autocast::is_autocast_enabled(device);
#else
  return device == c10::DeviceType::CPU ? at::autocast::is_cpu_enabled()
                                        : at::autocast::is_enabled();
#endif
}

inline at::ScalarType AutocastDtype(c10::DeviceType device) {
#if ROUTESERVE_AUTOCAST_BY_DEVICE_TYPE
  return at::autocast::get_autocast_dtype(device);
#else
  return device == c10::DeviceType::CPU ? at::autocast::get_autocast_cpu_dtype()
                                        : at::autocast::get_autocast_gpu_dtype();
#endif
}

inline void SetAutocast(c10::DeviceType device, bool enabled, at::ScalarType dtype) {
#if ROUTESERVE_AUTOCAST_BY_DEVICE_TYPE
  at::autocast::set_autocast_dtype(device, dtype);
  at::autocast::set_autocast_enabled(device, enabled);
#else
  if (device == c10::DeviceType::CPU) {
    at::autocast::set_autocast_cpu_dtype(dtype);
    at::autocast::set_cpu_enabled(enabled);
  } else {
    at::autocast::set_autocast_gpu_dtype(dtype);
    at::autocast::set_enabled(enabled);
  }
#endif
}

// Autocast to `dtype` on `device` for the guard's scope, on this thread (autocast state is
// thread-local); no-op without a dtype (fp32). Restores the previous state and drops the cast
// cache on exit, as torch.autocast's __exit__ does.
class AutocastGuard {
 public:
  AutocastGuard(c10::DeviceType device, std::optional<at::ScalarType> dtype)
      : device_(device), active_(dtype.has_value()) {
    if (!active_) return;
    previous_enabled_ = AutocastEnabled(device_);
    previous_dtype_ = AutocastDtype(device_);
    SetAutocast(device_, true, *dtype);
    at::autocast::increment_nesting();
  }
  ~AutocastGuard() {
    if (!active_) return;
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    SetAutocast(device_, previous_enabled_, previous_dtype_);
  }
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  const c10::DeviceType device_;
  const bool active_;
  bool previous_enabled_ = false;
  at::ScalarType previous_dtype_ = at::kFloat;
};

#if ROUTESERVE_HAS_CUDA_STREAMS
using Stream = c10::cuda::CUDAStream;
// A stream of `device`'s pool, for one executor.
inline Stream StreamForExecutor(const c10::Device& device) {
  return c10::cuda::getStreamFromPool(/*isHighPriority=*/false, device.index());
}
// Makes `stream` current on its device for the guard's scope.
using StreamGuard = c10::cuda::CUDAStreamGuard;
#endif

#if ROUTESERVE_HAS_CUDA_GRAPHS
using Graph = at::cuda::CUDAGraph;
// Begins capturing `graph` on the current stream. Thread-local mode: the other threads' CUDA
// work (the executors of a model serving while a reloaded one is captured) goes on as usual,
// where the global mode would make their allocations fail. LibTorch 2.0 added the mode to
// CUDAGraph::capture_begin; 1.13 captures in the global mode only.
inline void BeginCapture(Graph& graph) {
#if TORCH_VERSION_MAJOR >= 2
  graph.capture_begin(/*pool=*/{0, 0}, cudaStreamCaptureModeThreadLocal);
#else
  graph.capture_begin();
#endif
}
#endif

// Autocast's cache of the weights cast to the lower precision, on or off for the guard's scope
// (off while a CUDA graph is captured: a cast cached during the capture would live in the
// graph's memory).
class AutocastCacheGuard {
 public:
  explicit AutocastCacheGuard(bool enabled) : previous_(at::autocast::is_autocast_cache_enabled()) {
    at::autocast::set_autocast_cache_enabled(enabled);
  }
  ~AutocastCacheGuard() { at::autocast::set_autocast_cache_enabled(previous_); }
  AutocastCacheGuard(const AutocastCacheGuard&) = delete;
  AutocastCacheGuard& operator=(const AutocastCacheGuard&) = delete;

 private:
  const bool previous_;
};

}  // namespace routeserve::model::compat
