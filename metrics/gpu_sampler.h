// GpuSampler: utilisation and memory of each NVIDIA GPU, from NVML, sampled on a period into
// gauges of a registry: routeserve_gpu_utilization_ratio, routeserve_gpu_memory_used_bytes,
// routeserve_gpu_memory_total_bytes and, where the model runs on CUDA,
// routeserve_gpu_allocator_bytes_in_use, each with a {gpu} label (the NVML device index).
//
// NVML: loaded at run time (dlopen of options.library, by default the driver's
//   "libnvidia-ml.so.1"), so that the binary runs where there is no NVIDIA driver. Where it
//   cannot be loaded or initialised, or sees no device, Start() returns a sampler that samples
//   nothing and registers no family; unavailable_reason() says why, for one log line. That is
//   not an error.
// PERIOD: one sample at Start(), then one every options.period on the sampler's thread. A
//   device whose query fails keeps its last values.
// THREADING: the sampler's thread is joined by the destructor. The registry must outlive the
//   sampler.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"

namespace routeserve::metrics {

struct GpuSamplerOptions {
  absl::Duration period = absl::Seconds(1);  // > 0
  std::string library = "libnvidia-ml.so.1";  // tests name another
  // The bytes LibTorch's CUDA caching allocator holds in use on device `gpu`, or nullopt where
  // it has none (a CPU model, a CPU-only LibTorch): then the family is not exported.
  std::function<std::optional<int64_t>(int gpu)> allocator_bytes_in_use;
};

class GpuSampler {
 public:
  static std::unique_ptr<GpuSampler> Start(prometheus::Registry& registry,
                                           GpuSamplerOptions options);
  GpuSampler(const GpuSampler&) = delete;
  GpuSampler& operator=(const GpuSampler&) = delete;
  ~GpuSampler();

  bool sampling() const { return nvml_ != nullptr; }
  int devices() const { return static_cast<int>(devices_.size()); }
  // Empty while sampling; else why not ("libnvidia-ml.so.1 not found: ...").
  const std::string& unavailable_reason() const { return unavailable_reason_; }

  // Implementation details follow.
 private:
  struct Nvml;  // the loaded library's entry points
  struct Device {
    int index = 0;  // NVML's
    void* handle = nullptr;
    prometheus::Gauge* utilization = nullptr;
    prometheus::Gauge* memory_used = nullptr;
    prometheus::Gauge* memory_total = nullptr;
    prometheus::Gauge* allocator_bytes = nullptr;  // null where the allocator has nothing
  };

  GpuSampler(GpuSamplerOptions options, std::unique_ptr<Nvml> nvml, std::string unavailable);
  void AddDevices(prometheus::Registry& registry);
  void SampleOnce();
  void Run();

  const GpuSamplerOptions options_;
  const std::unique_ptr<Nvml> nvml_;
  const std::string unavailable_reason_;
  std::vector<Device> devices_;

  std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stop_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace routeserve::metrics
