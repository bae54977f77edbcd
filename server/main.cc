// routeserve: the server binary.
//
//   routeserve [--config FILE] [--set section.key=value]... [--help]
//
// Loads the config (default config/routeserve.yaml), serves until SIGTERM or SIGINT, then runs
// the shutdown phases (server/server.h) and exits 0. SIGHUP reloads the model: the version
// model.repository's policy picks now, or model.path's files as they are now, swapped in
// without losing a call (RouteServer::ReloadModels); several while one runs make one more.
// Exit 2: bad command line or config (the message names the key), TLS files that cannot be
// used (the message names the key), or a configured model that cannot be loaded or warmed up
// (the message says why); exit 1: the server could not start (e.g. the address is taken). The
// command line goes through program/command_line.h, whose --set keeps every occurrence whole,
// commas and all.
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
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "program/command_line.h"
#include "program/failure.h"
#include "base/log.h"
#include "config/config.h"
#include "planning/reloading_proposer.h"
#include "server/server.h"
#include "server/tls.h"

ABSL_FLAG(std::string, config, "config/routeserve.yaml",
          "YAML config; every key is documented in config/routeserve.yaml");
ABSL_FLAG(std::vector<std::string>, set, {},
          "override one key, section.key=value (value in YAML syntax, a list in brackets: "
          "--set 'batching.buckets=[8,16,32,64,128]'); repeatable, later ones win");

namespace {

using routeserve::program::kExitUsage;
using routeserve::base::Log;
using routeserve::server::ServerPhase;

constexpr char kName[] = "routeserve";

const routeserve::program::CommandLineSpec& ServerCommandLine() {
  static const routeserve::program::CommandLineSpec spec = {
      .name = kName,
      .usage = "usage: routeserve [--config FILE] [--set section.key=value]... [--help]\n"
               "\n"
               "Serves routeserve.v1.RouteService over gRPC until SIGTERM or SIGINT; SIGHUP "
               "reloads the model.\n"
               "\n"
               "Exit status: 0 after a shutdown; 2 on a bad command line or config, TLS files "
               "that cannot\nbe used or a model that cannot be loaded; 1 when the server "
               "cannot start.\n",
      .repeated = {&FLAGS_set},
  };
  return spec;
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

// SIGTERM, SIGINT and SIGHUP reach the signal thread through this pipe, written by a handler:
// whichever
// thread the kernel picks runs it. Blocking the signals and sigwait()ing for them would not do:
// libraries start threads before main() does anything (OpenBLAS, under LibTorch, starts its
// workers as it loads), the mask would not cover them, and the signal would kill the process.
int signal_pipe[2] = {-1, -1};

extern "C" void OnSignal(int signal_number) {
  const int saved_errno = errno;
  const unsigned char byte = static_cast<unsigned char>(signal_number);
  // Non-blocking: should the pipe be full, the signal is dropped.
  [[maybe_unused]] const ssize_t written = write(signal_pipe[1], &byte, 1);
  errno = saved_errno;
}

// Installs the handler; false when the pipe or the handler cannot be had.
bool CatchSignals() {
  if (pipe2(signal_pipe, O_CLOEXEC) != 0) return false;
  if (fcntl(signal_pipe[1], F_SETFL, O_NONBLOCK) != 0) return false;
  struct sigaction action = {};
  action.sa_handler = OnSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  return sigaction(SIGTERM, &action, nullptr) == 0 && sigaction(SIGINT, &action, nullptr) == 0 &&
         sigaction(SIGHUP, &action, nullptr) == 0;
}

// Blocks until the next signal; returns it.
int AwaitSignal() {
  unsigned char byte = SIGTERM;
  while (read(signal_pipe[0], &byte, 1) < 0 && errno == EINTR) {
  }
  return byte;
}

// The reload thread's requests: SIGHUP asks; asks while a reload runs make one more after it.
class ReloadRequests {
 public:
  void Ask() {
    absl::MutexLock lock(&mu_);
    asked_ = true;
  }
  void Stop() {
    absl::MutexLock lock(&mu_);
    stopped_ = true;
  }
  // Waits for a request (true) or Stop() (false).
  bool Next() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](ReloadRequests* self) { return self->asked_ || self->stopped_; }, this));
    if (stopped_) return false;
    asked_ = false;
    return true;
  }

 private:
  absl::Mutex mu_;
  bool asked_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
};

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

// The server, once what stands before it holds: the TLS files, then the model. Both are a part
// of the configuration (exit 2, as a bad key): the TLS files are checked first, before the
// model's load and warm-up (RouteServer::Start reads them again), and a configured model that
// cannot be loaded stops the server, never a silent fallback. A server that cannot start
// otherwise (e.g. the address is taken) exits 1.
absl::StatusOr<std::unique_ptr<routeserve::server::RouteServer>> StartServer(
    const routeserve::config::Config& config, routeserve::server::ServerHooks hooks) {
  using routeserve::program::WithExitCode;
  if (absl::StatusOr<routeserve::server::ServerTls> tls =
          routeserve::server::LoadServerTls(config.server.tls);
      !tls.ok()) {
    return WithExitCode(tls.status(), kExitUsage);
  }
  absl::StatusOr<std::unique_ptr<routeserve::planning::BatchProposer>> proposer =
      routeserve::planning::CreateProposer(config);
  if (!proposer.ok()) return WithExitCode(proposer.status(), kExitUsage);
  return routeserve::server::RouteServer::Start(config, std::move(hooks), *std::move(proposer));
}

}  // namespace

int main(int argc, char** argv) {
  // First: a signal during start-up (the model's warm-up takes a while) waits in the pipe and
  // starts the shutdown once the server is up.
  if (!CatchSignals()) {
    return routeserve::program::Exit(
        kName, absl::InternalError("cannot install the SIGTERM/SIGINT/SIGHUP handler"));
  }
  // A log reader that goes away must not take the server with it; writes then just fail.
  signal(SIGPIPE, SIG_IGN);

  routeserve::program::ParseCommandLine(argc, argv, ServerCommandLine());
  const std::string config_path = absl::GetFlag(FLAGS_config);
  absl::StatusOr<routeserve::config::Config> config =
      routeserve::config::LoadConfig(config_path, absl::GetFlag(FLAGS_set));
  if (!config.ok()) {
    return routeserve::program::Exit(
        kName, routeserve::program::WithExitCode(config.status(), kExitUsage));
  }
  Log("starting; effective config (%s):\n  %s", config_path,
      absl::StrReplaceAll(absl::StripSuffix(routeserve::config::ConfigToYaml(*config), "\n"),
                          {{"\n", "\n  "}}));

  routeserve::server::ServerHooks hooks;
  const routeserve::config::Config& effective = *config;
  hooks.on_phase = [&effective](ServerPhase phase) { LogPhase(phase, effective); };
  absl::StatusOr<std::unique_ptr<routeserve::server::RouteServer>> server =
      StartServer(effective, hooks);
  if (!server.ok()) {
    Log("cannot start: %s", server.status().message());
    return routeserve::program::ExitCode(server.status());
  }
  // RouteServer::Start has logged the batching settings.
  Log("metrics on http://%s/metrics", (*server)->metrics_address());
  Log("listening on %s; readiness SERVING", (*server)->address());

  // The reload thread runs the reloads SIGHUP asks for: a load and warm-up take seconds, which
  // must not hold up a shutdown signal.
  ReloadRequests reloads;
  std::thread reload_thread([&server, &reloads] {
    while (reloads.Next()) (*server)->ReloadModels();
  });
  // The dedicated signal thread: hands SIGHUP on to the reload thread; on the first shutdown
  // signal, runs the phases. Signals after that are dropped: the phases are bounded by the
  // drain delay and the grace period.
  std::thread signal_thread([&server, &effective, &reloads] {
    int signal_number = AwaitSignal();
    for (; signal_number == SIGHUP; signal_number = AwaitSignal()) {
      Log("received SIGHUP; reloading the model");
      reloads.Ask();
    }
    Log("received %s; shutting down", signal_number == SIGINT ? "SIGINT" : "SIGTERM");
    ExitNoLaterThan(effective.shutdown.drain_delay + effective.shutdown.grace_period +
                    kShutdownSlack);
    reloads.Stop();
    (*server)->Shutdown();
  });
  signal_thread.join();
  // A reload under way ends before the server (and the model it swaps into) goes.
  reload_thread.join();
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
