// GpuSampler: NVML through dlopen, and the sampling thread.
#include "metrics/gpu_sampler.h"

#include <dlfcn.h>

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "metrics/serving_metrics.h"
#include "prometheus/family.h"

namespace routeserve::metrics {

// The few NVML entry points used, as nvml.h declares them (the ABI is stable: these are the
// versioned names the driver has exported since CUDA 6).
struct GpuSampler::Nvml {
  using Return = int;  // nvmlReturn_t; 0 is NVML_SUCCESS
  struct Utilization {
    unsigned int gpu;     // percent of the last sample period a kernel ran
    unsigned int memory;  // percent of it the memory was read or written
  };
  struct Memory {
    unsigned long long total;  // bytes
    unsigned long long free;
    unsigned long long used;
  };

  void* library = nullptr;
  Return (*init)() = nullptr;
  Return (*shutdown)() = nullptr;
  Return (*device_count)(unsigned int*) = nullptr;
  Return (*device_by_index)(unsigned int, void**) = nullptr;
  Return (*utilization)(void*, Utilization*) = nullptr;
  Return (*memory)(void*, Memory*) = nullptr;
  const char* (*error_string)(Return) = nullptr;

  ~Nvml() {
    if (shutdown != nullptr) shutdown();
    if (library != nullptr) dlclose(library);
  }

  std::string Error(Return code) const {
    return error_string != nullptr ? error_string(code) : absl::StrCat("NVML error ", code);
  }
};

namespace {

constexpr int kNvmlSuccess = 0;

template <typename Function>
bool Resolve(void* library, const char* name, Function* out) {
  *out = reinterpret_cast<Function>(dlsym(library, name));
  return *out != nullptr;
}

}  // namespace

std::unique_ptr<GpuSampler> GpuSampler::Start(prometheus::Registry& registry,
                                              GpuSamplerOptions options) {
  auto unavailable = [&options](std::string why) {
    return std::unique_ptr<GpuSampler>(new GpuSampler(std::move(options), nullptr,
                                                      std::move(why)));
  };
  auto nvml = std::make_unique<Nvml>();
  nvml->library = dlopen(options.library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (nvml->library == nullptr) {
    const char* error = dlerror();
    return unavailable(absl::StrCat(options.library, " cannot be loaded (",
                                    error != nullptr ? error : "no reason given", ")"));
  }
  Resolve(nvml->library, "nvmlErrorString", &nvml->error_string);
  decltype(nvml->init) init = nullptr;
  if (!Resolve(nvml->library, "nvmlInit_v2", &init) ||
      !Resolve(nvml->library, "nvmlShutdown", &nvml->shutdown) ||
      !Resolve(nvml->library, "nvmlDeviceGetCount_v2", &nvml->device_count) ||
      !Resolve(nvml->library, "nvmlDeviceGetHandleByIndex_v2", &nvml->device_by_index) ||
      !Resolve(nvml->library, "nvmlDeviceGetUtilizationRates", &nvml->utilization) ||
      !Resolve(nvml->library, "nvmlDeviceGetMemoryInfo", &nvml->memory)) {
    nvml->shutdown = nullptr;  // not initialised: nothing to shut down
    return unavailable(absl::StrCat(options.library, " lacks an NVML entry point"));
  }
  if (const Nvml::Return code = init(); code != kNvmlSuccess) {
    nvml->shutdown = nullptr;
    return unavailable(absl::StrCat("NVML cannot start: ", nvml->Error(code)));
  }
  unsigned int count = 0;
  if (const Nvml::Return code = nvml->device_count(&count); code != kNvmlSuccess) {
    return unavailable(absl::StrCat("NVML cannot count devices: ", nvml->Error(code)));
  }
  if (count == 0) return unavailable("NVML sees no GPU");

  std::unique_ptr<GpuSampler> sampler(new GpuSampler(std::move(options), std::move(nvml), ""));
  sampler->AddDevices(registry);
  sampler->SampleOnce();
  sampler->thread_ = std::thread([self = sampler.get()] { self->Run(); });
  return sampler;
}

GpuSampler::GpuSampler(GpuSamplerOptions options, std::unique_ptr<Nvml> nvml,
                       std::string unavailable)
    : options_(std::move(options)), nvml_(std::move(nvml)),
      unavailable_reason_(std::move(unavailable)) {}

GpuSampler::~GpuSampler() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void GpuSampler::AddDevices(prometheus::Registry& registry) {
  auto& utilization = prometheus::BuildGauge()
                          .Name(std::string(kPrefix) + "gpu_utilization_ratio")
                          .Help("Share of the last sample period a kernel ran on the GPU (NVML).")
                          .Register(registry);
  auto& used = prometheus::BuildGauge()
                   .Name(std::string(kPrefix) + "gpu_memory_used_bytes")
                   .Help("GPU memory in use, by every process, in bytes (NVML).")
                   .Register(registry);
  auto& total = prometheus::BuildGauge()
                    .Name(std::string(kPrefix) + "gpu_memory_total_bytes")
                    .Help("GPU memory installed, in bytes (NVML).")
                    .Register(registry);
  prometheus::Family<prometheus::Gauge>* allocator = nullptr;
  unsigned int count = 0;
  nvml_->device_count(&count);
  for (unsigned int index = 0; index < count; ++index) {
    Device device;
    device.index = static_cast<int>(index);
    if (nvml_->device_by_index(index, &device.handle) != kNvmlSuccess) continue;
    const prometheus::Labels labels = {{"gpu", std::to_string(index)}};
    device.utilization = &utilization.Add(labels);
    device.memory_used = &used.Add(labels);
    device.memory_total = &total.Add(labels);
    if (options_.allocator_bytes_in_use &&
        options_.allocator_bytes_in_use(static_cast<int>(index)).has_value()) {
      if (allocator == nullptr) {
        allocator = &prometheus::BuildGauge()
                         .Name(std::string(kPrefix) + "gpu_allocator_bytes_in_use")
                         .Help("GPU memory LibTorch's CUDA caching allocator holds in use, in "
                               "bytes.")
                         .Register(registry);
      }
      device.allocator_bytes = &allocator->Add(labels);
    }
    devices_.push_back(device);
  }
}

void GpuSampler::SampleOnce() {
  for (const Device& device : devices_) {
    Nvml::Utilization utilization{};
    if (nvml_->utilization(device.handle, &utilization) == kNvmlSuccess) {
      device.utilization->Set(utilization.gpu / 100.0);
    }
    Nvml::Memory memory{};
    if (nvml_->memory(device.handle, &memory) == kNvmlSuccess) {
      device.memory_used->Set(static_cast<double>(memory.used));
      device.memory_total->Set(static_cast<double>(memory.total));
    }
    if (device.allocator_bytes != nullptr) {
      if (const std::optional<int64_t> bytes =
              options_.allocator_bytes_in_use(device.index)) {
        device.allocator_bytes->Set(static_cast<double>(*bytes));
      }
    }
  }
}

void GpuSampler::Run() {
  std::unique_lock lock(mu_);
  while (!stop_cv_.wait_for(lock, absl::ToChronoNanoseconds(options_.period),
                            [this] { return stop_; })) {
    lock.unlock();
    SampleOnce();
    lock.lock();
  }
}

}  // namespace routeserve::metrics
