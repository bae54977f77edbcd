// ServerProcess: posix_spawn, a stderr reader and an exit waiter.
#include "server_process.h"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"

extern char** environ;

namespace routeserve::testing {

ServerProcess::ServerProcess(const std::string& binary, std::vector<std::string> args) {
  args.insert(args.begin(), binary);
  int fds[2];
  REQUIRE(pipe2(fds, O_CLOEXEC) == 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK);
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const int spawned = posix_spawn(&pid_, argv[0], &actions, &attributes, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  close(fds[1]);
  INFO("posix_spawn " << argv[0]);
  REQUIRE(spawned == 0);
  reader_ = std::thread([this, fd = fds[0]] { ReadLines(fd); });
  waiter_ = std::thread([this] {
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    absl::MutexLock lock(&mu_);
    exit_status_ = status;
    cv_.SignalAll();
  });
}

ServerProcess::~ServerProcess() {
  {
    absl::MutexLock lock(&mu_);
    if (!exit_status_.has_value()) kill(pid_, SIGKILL);
  }
  waiter_.join();
  reader_.join();
}

void ServerProcess::Signal(int signal_number) { kill(pid_, signal_number); }

std::optional<std::string> ServerProcess::WaitForLine(const std::string& text) {
  absl::MutexLock lock(&mu_);
  const absl::Time until = absl::Now() + kProcessGuard;
  size_t next = 0;
  for (;;) {
    for (; next < lines_.size(); ++next) {
      if (absl::StrContains(lines_[next], text)) return lines_[next];
    }
    if (stderr_closed_) return std::nullopt;
    if (cv_.WaitWithDeadline(&mu_, until)) return std::nullopt;
  }
}

int ServerProcess::WaitForPort() {
  constexpr char kListening[] = "listening on ";
  const std::optional<std::string> line = WaitForLine(kListening);
  INFO("stderr so far:\n" << Stderr());
  REQUIRE(line.has_value());
  // HOST:PORT ends at the first ';' or space; the port follows its last ':'.
  std::string address = line->substr(line->find(kListening) + sizeof(kListening) - 1);
  address = address.substr(0, address.find_first_of("; "));
  int port = 0;
  REQUIRE(absl::SimpleAtoi(address.substr(address.rfind(':') + 1), &port));
  return port;
}

int ServerProcess::WaitForExit() {
  absl::MutexLock lock(&mu_);
  const absl::Time until = absl::Now() + kProcessGuard;
  while (!exit_status_.has_value() || !stderr_closed_) {
    if (cv_.WaitWithDeadline(&mu_, until)) break;
  }
  if (!exit_status_.has_value() || !WIFEXITED(*exit_status_)) return -1;
  return WEXITSTATUS(*exit_status_);
}

std::string ServerProcess::Stderr() {
  absl::MutexLock lock(&mu_);
  return absl::StrJoin(lines_, "\n");
}

void ServerProcess::ReadLines(int fd) {
  std::string partial;
  char buffer[4096];
  for (;;) {
    const ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    partial.append(buffer, static_cast<size_t>(n));
    size_t newline;
    while ((newline = partial.find('\n')) != std::string::npos) {
      absl::MutexLock lock(&mu_);
      lines_.push_back(partial.substr(0, newline));
      partial.erase(0, newline + 1);
      cv_.SignalAll();
    }
  }
  close(fd);
  absl::MutexLock lock(&mu_);
  if (!partial.empty()) lines_.push_back(partial);
  stderr_closed_ = true;
  cv_.SignalAll();
}

}  // namespace routeserve::testing
