// MemoryTrimmer: gives the memory the process has freed back to the system.
//
// WHY: glibc keeps what a thread frees in that thread's arena for its next allocations. After a
//   burst of large messages (64 concurrent calls at the message limit), hundreds of megabytes
//   the server no longer uses stay resident, and the orchestrator sees them as the pod's memory
//   until it kills the pod. malloc_trim(0) returns every arena's free pages; it is glibc's own
//   remedy, and cheap when there is little to return. So once a period the trimmer asks glibc
//   how much lies free (mallinfo2) and trims when that passes `threshold`.
// THREADING: one thread of its own, joined by the destructor.
#pragma once

#include <cstdint>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace routeserve::server {

class MemoryTrimmer {
 public:
  MemoryTrimmer(absl::Duration period, int64_t threshold_bytes);
  MemoryTrimmer(const MemoryTrimmer&) = delete;
  MemoryTrimmer& operator=(const MemoryTrimmer&) = delete;
  ~MemoryTrimmer();

  // Bytes glibc holds free in its arenas now.
  static int64_t FreeBytes();
  // Trims now; true when glibc gave memory back.
  static bool Trim();

 private:
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace routeserve::server
