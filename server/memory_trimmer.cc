// MemoryTrimmer (server/memory_trimmer.h).
#include "server/memory_trimmer.h"

#include <malloc.h>

namespace routeserve::server {

MemoryTrimmer::MemoryTrimmer(absl::Duration period, int64_t threshold_bytes)
    : thread_([this, period, threshold_bytes] {
        while (!stop_.WaitForNotificationWithTimeout(period)) {
          if (FreeBytes() > threshold_bytes) Trim();
        }
      }) {}

MemoryTrimmer::~MemoryTrimmer() {
  stop_.Notify();
  thread_.join();
}

int64_t MemoryTrimmer::FreeBytes() {
  const struct mallinfo2 info = mallinfo2();
  return static_cast<int64_t>(info.fordblks);
}

bool MemoryTrimmer::Trim() { return malloc_trim(0) == 1; }

}  // namespace routeserve::server
