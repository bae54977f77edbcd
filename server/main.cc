// routeserve: the server binary.
//
//   routeserve [--config FILE] [--set section.key=value]... [--help]
//
// Loads the config (default config/routeserve.yaml), serves until SIGTERM or SIGINT, then runs
// the shutdown phases (server/server.h) and exits 0. Exit 2: bad command line or config (the
// message names the key), TLS files that cannot be used (the message names the key), or a
// configured model that cannot be loaded or warmed up (the message says why); exit 1: the server could not start (e.g. the address is taken).
// Logs one timestamped line per phase on stderr: the effective config, the batching settings
// (executors and refine threads resolved), whether GPUs are sampled, "metrics on
// http://HOST:PORT/metrics" and "listening on HOST:PORT" with the ports actually bound (scripts
// and tests read them), the shutdown phases.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "absl/strings/strip.h"
#include "config/config.h"
#include "base/log.h"
#include "planning/model_proposer.h"
#include "server/server.h"
#include "server/tls.h"

namespace {

using routeserve::base::Log;
using routeserve::server::ServerPhase;

constexpr char kDefaultConfigPath[] = "config/routeserve.yaml";
constexpr int kExitUsage = 2;
constexpr int kExitStartFailed = 1;

constexpr char kUsage[] =
    "usage: routeserve [--config FILE] [--set section.key=value]... [--help]\n"
    "\n"
    "Serves routeserve.v1.RouteService over gRPC until SIGTERM or SIGINT.\n"
    "\n"
    "  --config FILE             YAML config (default: config/routeserve.yaml); every key is\n"
    "                            documented in config/routeserve.yaml\n"
    "  --set section.key=value   override one key (value in YAML syntax); repeatable, later\n"
    "                            ones win, e.g. --set server.address=0.0.0.0:50051\n"
    "  --help                    print this and exit\n";

struct CommandLine {
  std::string config_path = kDefaultConfigPath;
  std::vector<std::string> overrides;
  bool help = false;
};

// Accepts "--flag value" and "--flag=value". The error names the argument as given.
std::optional<std::string> ParseCommandLine(int argc, char** argv, CommandLine* out) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      out->help = true;
      continue;
    }
    std::string_view flag;
    for (std::string_view known : {"--config", "--set"}) {
      if (arg == known || (arg.starts_with(known) && arg.substr(known.size()).starts_with("="))) {
        flag = known;
      }
    }
    if (flag.empty()) return "unknown argument \"" + std::string(arg) + "\"";
    std::string value;
    if (arg.size() > flag.size()) {
      value = std::string(arg.substr(flag.size() + 1));
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      return std::string(flag) + " needs a value";
    }
    if (flag == "--config") {
      out->config_path = std::move(value);
    } else {
      out->overrides.push_back(std::move(value));
    }
  }
  return std::nullopt;
}

void LogPhase(ServerPhase phase, const routeserve::config::Config& config) {
  switch (phase) {
    case ServerPhase::kServing:
      break;  // main logs "listening on" once it knows the address
    case ServerPhase::kDraining:
      Log("draining: readiness NOT_SERVING, still accepting calls for %s",
          absl::FormatDuration(config.shutdown.drain_delay));
      break;
    case ServerPhase::kRefusing:
      Log("refusing new calls (UNAVAILABLE); calls in flight have %s to finish",
          absl::FormatDuration(config.shutdown.grace_period));
      break;
    case ServerPhase::kStopping:
      Log("every call answered; stopping the batcher and the refine threads");
      break;
    case ServerPhase::kStopped:
      Log("stopped");
      break;
  }
}

// SIGTERM and SIGINT reach the signal thread through this pipe, written by a handler: whichever
// thread the kernel picks runs it. Blocking the signals and sigwait()ing for them would not do:
// libraries start threads before main() does anything (OpenBLAS, under LibTorch, starts its
// workers as it loads), the mask would not cover them, and the signal would kill the process.
int shutdown_pipe[2] = {-1, -1};

extern "C" void OnShutdownSignal(int signal_number) {
  const int saved_errno = errno;
  const unsigned char byte = static_cast<unsigned char>(signal_number);
  // Non-blocking: once the signal thread has read the first, further signals are dropped.
  [[maybe_unused]] const ssize_t written = write(shutdown_pipe[1], &byte, 1);
  errno = saved_errno;
}

// Installs the handler; false when the pipe or the handler cannot be had.
bool CatchShutdownSignals() {
  if (pipe2(shutdown_pipe, O_CLOEXEC) != 0) return false;
  if (fcntl(shutdown_pipe[1], F_SETFL, O_NONBLOCK) != 0) return false;
  struct sigaction action = {};
  action.sa_handler = OnShutdownSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  return sigaction(SIGTERM, &action, nullptr) == 0 && sigaction(SIGINT, &action, nullptr) == 0;
}

// Blocks until the first shutdown signal; returns it.
int AwaitShutdownSignal() {
  unsigned char byte = SIGTERM;
  while (read(shutdown_pipe[0], &byte, 1) < 0 && errno == EINTR) {
  }
  return byte;
}

// What the shutdown may take beyond the drain delay and the grace period: gRPC's tail for
// answers on their way (1 s, server/server.h), the planner's and the metrics endpoint's stop.
constexpr absl::Duration kShutdownSlack = absl::Seconds(3);

// The shutdown's bound, whatever any client does: a connection on either port that never
// finishes its request, or never reads its answer, must not keep the process alive. Should the
// phases not be done by `bound`, the process leaves at once (exit 0: every call was answered or
// refused by then, or cut by the grace period's end).
void ExitNoLaterThan(absl::Duration bound) {
  std::thread([bound] {
    absl::SleepFor(bound);
    Log("shutdown not done after %s: exiting now", absl::FormatDuration(bound));
    std::fflush(stderr);
    std::_Exit(0);
  }).detach();
}

}  // namespace

int main(int argc, char** argv) {
  // First: a signal during start-up (the model's warm-up takes a while) waits in the pipe and
  // starts the shutdown once the server is up.
  if (!CatchShutdownSignals()) {
    std::fprintf(stderr, "routeserve: cannot install the SIGTERM/SIGINT handler\n");
    return kExitStartFailed;
  }
  // A log reader that goes away must not take the server with it; writes then just fail.
  signal(SIGPIPE, SIG_IGN);

  CommandLine command_line;
  if (std::optional<std::string> error = ParseCommandLine(argc, argv, &command_line)) {
    std::fprintf(stderr, "routeserve: %s\n\n%s", error->c_str(), kUsage);
    return kExitUsage;
  }
  if (command_line.help) {
    std::fputs(kUsage, stdout);
    return 0;
  }

  absl::StatusOr<routeserve::config::Config> config =
      routeserve::config::LoadConfig(command_line.config_path, command_line.overrides);
  if (!config.ok()) {
    std::fprintf(stderr, "routeserve: %s\n", std::string(config.status().message()).c_str());
    return kExitUsage;
  }
  Log("starting; effective config (%s):\n  %s", command_line.config_path,
      absl::StrReplaceAll(absl::StripSuffix(routeserve::config::ConfigToYaml(*config), "\n"),
                          {{"\n", "\n  "}}));

  // So are the TLS files: checked here first, so that a bad one stops the server as a bad key
  // would, before the model's load and warm-up (RouteServer::Start reads them again).
  if (absl::StatusOr<routeserve::server::ServerTls> tls =
          routeserve::server::LoadServerTls(config->server.tls);
      !tls.ok()) {
    Log("cannot start: %s", tls.status().message());
    return kExitUsage;
  }
  // The model, when one is configured, is a part of the configuration: one that cannot be
  // loaded stops the server as a bad key would, never a silent fallback.
  absl::StatusOr<std::unique_ptr<routeserve::planning::BatchProposer>> proposer =
      routeserve::planning::CreateProposer(*config);
  if (!proposer.ok()) {
    Log("cannot start: %s", proposer.status().message());
    return kExitUsage;
  }

  routeserve::server::ServerHooks hooks;
  const routeserve::config::Config& effective = *config;
  hooks.on_phase = [&effective](ServerPhase phase) { LogPhase(phase, effective); };
  absl::StatusOr<std::unique_ptr<routeserve::server::RouteServer>> server =
      routeserve::server::RouteServer::Start(effective, hooks, *std::move(proposer));
  if (!server.ok()) {
    Log("cannot start: %s", server.status().message());
    return kExitStartFailed;
  }
  // RouteServer::Start has logged the batching settings.
  Log("metrics on http://%s/metrics", (*server)->metrics_address());
  Log("listening on %s; readiness SERVING", (*server)->address());

  // The dedicated signal thread: waits for the first shutdown signal and runs the phases.
  // Further signals are dropped: the phases are bounded by the drain delay and the grace
  // period.
  std::thread signal_thread([&server, &effective] {
    const int signal_number = AwaitShutdownSignal();
    Log("received %s; shutting down", signal_number == SIGINT ? "SIGINT" : "SIGTERM");
    ExitNoLaterThan(effective.shutdown.drain_delay + effective.shutdown.grace_period +
                    kShutdownSlack);
    (*server)->Shutdown();
  });
  signal_thread.join();
  const int stuck = (*server)->executors_stuck();
  server->reset();
  if (stuck > 0) {
    // Every call has been answered; the stuck executors' threads are still blocked in the
    // model. Static destructors must not run under them: leave at once.
    Log("exiting (%d executor(s) stuck)", stuck);
    std::fflush(stderr);
    std::_Exit(0);
  }
  Log("exiting");
  return 0;
}
