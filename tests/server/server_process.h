// ServerProcess: a child process -- routeserve, or a tool run against it -- started without a
// shell, whose stderr is collected line by line, for the tests that run the real binaries.
//
// GUARD: every wait gives up after kProcessGuard (only a broken binary makes a test wait that
//   long); the destructor kills the process with SIGKILL if it is still running.
// THREADING: one thread reads stderr and one waits for the exit; the methods are thread-safe.
// Failures to start are Catch2 REQUIRE failures.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace routeserve::testing {

inline constexpr absl::Duration kProcessGuard = absl::Seconds(90);

class ServerProcess {
 public:
  // Starts `binary` with `args`, stderr to a pipe, stdin and stdout inherited.
  ServerProcess(const std::string& binary, std::vector<std::string> args);
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  void Signal(int signal_number);

  // The first stderr line containing `text`, or nullopt when the process ends or the guard
  // passes first.
  std::optional<std::string> WaitForLine(const std::string& text);

  // The port from "listening on HOST:PORT" (REQUIREd to appear).
  int WaitForPort();

  // The exit code, or -1 when the process did not exit normally within the guard. Returns once
  // its stderr is read to the end as well, so that Stderr() then has every line.
  int WaitForExit();

  // Every stderr line so far.
  std::string Stderr();

  // Implementation details follow.
 private:
  void ReadLines(int fd);

  pid_t pid_ = -1;
  std::thread reader_;
  std::thread waiter_;
  absl::Mutex mu_;
  absl::CondVar cv_;
  std::vector<std::string> lines_ ABSL_GUARDED_BY(mu_);
  bool stderr_closed_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<int> exit_status_ ABSL_GUARDED_BY(mu_);
};

}  // namespace routeserve::testing
