// A stand-in for the NVIDIA driver's libnvidia-ml.so.1 with the entry points GpuSampler uses:
// two devices with fixed readings, so that the sampler's NVML path runs where there is no GPU.
// Device 0: 37% busy, 1 GiB of 16 GiB used; device 1: 0% busy, nothing used, 8 GiB.
#include <cstdint>

namespace {

struct Utilization {
  unsigned int gpu;
  unsigned int memory;
};
struct Memory {
  unsigned long long total;
  unsigned long long free;
  unsigned long long used;
};

constexpr unsigned long long kGiB = 1ULL << 30;
int devices[2];  // handles point here

}  // namespace

extern "C" {

int nvmlInit_v2() { return 0; }
int nvmlShutdown() { return 0; }
const char* nvmlErrorString(int) { return "fake NVML error"; }
int nvmlDeviceGetCount_v2(unsigned int* count) {
  *count = 2;
  return 0;
}
int nvmlDeviceGetHandleByIndex_v2(unsigned int index, void** device) {
  if (index >= 2) return 2;  // NVML_ERROR_INVALID_ARGUMENT
  *device = &devices[index];
  return 0;
}
int nvmlDeviceGetUtilizationRates(void* device, Utilization* utilization) {
  utilization->gpu = device == &devices[0] ? 37 : 0;
  utilization->memory = 0;
  return 0;
}
int nvmlDeviceGetMemoryInfo(void* device, Memory* memory) {
  const bool first = device == &devices[0];
  memory->total = first ? 16 * kGiB : 8 * kGiB;
  memory->used = first ? kGiB : 0;
  memory->free = memory->total - memory->used;
  return 0;
}

}  // extern "C"
