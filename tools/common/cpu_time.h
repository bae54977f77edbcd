// CPU time, for the tools that measure on shared machines: unlike the wall clock, it leaves out
// the time the machine gives to others (though a busy sibling core still slows it).
#pragma once

#include <ctime>

namespace routeserve::tools {

// Seconds of CPU `clock` has counted: CLOCK_THREAD_CPUTIME_ID (the calling thread) or
// CLOCK_PROCESS_CPUTIME_ID (every thread of the process).
inline double CpuSeconds(clockid_t clock) {
  timespec now{};
  clock_gettime(clock, &now);
  return static_cast<double>(now.tv_sec) + 1e-9 * static_cast<double>(now.tv_nsec);
}

}  // namespace routeserve::tools
