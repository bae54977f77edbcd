// routeserve-bench: the load generator (DESIGN §7, §8). Generates a pool of requests, drives
// Suggest calls at a server in a closed or an open loop, checks every answered route, and
// reports throughput, latency, status codes and the server's timings. See kBenchUsage.
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tools/bench/bench_options.h"
#include "tools/bench/bench_report.h"
#include "tools/bench/load_generator.h"
#include "tools/bench/request_pool.h"
#include "tools/bench/route_verifier.h"

namespace routeserve::bench {
namespace {

// Exit statuses.
constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;  // bad routes, no OK answer, no connection, or no JSON written
constexpr int kExitUsage = 2;

constexpr absl::Duration kProgressInterval = absl::Seconds(1);
// Calls starting later than this after their due time (p99): the client's own delay is large
// enough to show in the latency figures, so it is pointed out.
constexpr absl::Duration kStartLagWarning = absl::Milliseconds(1);
// Answers that may wait for their check; beyond, the completing thread checks (RouteVerifier).
constexpr int kMaxQueuedChecks = 1 << 16;

void PrintProgress(const LoadProgress& progress, int64_t& answered_before, bool terminal) {
  const double rate = static_cast<double>(progress.answered_all - answered_before) /
                      absl::ToDoubleSeconds(kProgressInterval);
  answered_before = progress.answered_all;
  // A terminal gets one line rewritten in place; a log gets a line per second.
  std::cerr << (terminal ? "\r" : "") << FormatProgressLine(progress, rate)
            << (terminal ? "\033[K" : "\n") << std::flush;
}

bool WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) {
    std::cerr << "error: " << path << ": cannot open (" << std::strerror(errno) << ")\n";
    return false;
  }
  out << text;
  out.close();
  if (!out) {
    std::cerr << "error: " << path << ": cannot write (" << std::strerror(errno) << ")\n";
    return false;
  }
  return true;
}

int Main(int argc, char** argv) {
  // Debian's Abseil is built with its debug checks on; a load generator should not pay for
  // deadlock detection on every mutex gRPC creates.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  absl::StatusOr<BenchOptions> parsed =
      ParseBenchArgs(std::vector<std::string>(argv + 1, argv + argc));
  if (!parsed.ok()) {
    std::cerr << "routeserve-bench: " << parsed.status().message() << "\n\n" << kBenchUsage;
    return kExitUsage;
  }
  const BenchOptions& options = *parsed;
  if (options.help) {
    std::cout << kBenchUsage;
    return kExitOk;
  }

  if (!options.quiet) {
    std::cerr << "generating " << options.requests << " requests (stops "
              << options.stops.ToString() << ")\n";
  }
  absl::StatusOr<std::vector<PooledRequest>> pool = BuildRequestPool({
      .size = options.requests,
      .stops = options.stops,
      .windows = options.windows,
      .matrix = options.matrix,
      .seed = options.seed,
  });
  if (!pool.ok()) {
    std::cerr << "error: " << pool.status().message() << "\n";
    return kExitFailure;
  }
  if (options.write_request_file.has_value()) {
    return WriteFile(*options.write_request_file, pool->front().request.SerializeAsString())
               ? kExitOk
               : kExitFailure;
  }

  const auto channels = OpenChannels(options.target, options.channels);
  if (absl::Status connected =
          WaitForChannels(channels, options.target, absl::Now() + options.deadline);
      !connected.ok()) {
    std::cerr << "error: " << connected.message() << "\n";
    return kExitFailure;
  }

  RouteVerifier verifier(*pool, options.verify_threads, kMaxQueuedChecks);
  BenchReport report{.options = options};
  {
    LoadGenerator generator(options, channels, *pool, verifier);
    const bool terminal = isatty(STDERR_FILENO) != 0;
    int64_t answered_before = 0;
    generator.Start();
    while (!generator.WaitUntilDone(kProgressInterval)) {
      if (!options.quiet) PrintProgress(generator.Snapshot(), answered_before, terminal);
    }
    if (!options.quiet && terminal) std::cerr << "\n";
    report.load = generator.Result();
  }
  report.routes = verifier.Finish();

  for (const std::string& example : report.routes.bad_examples) {
    std::cerr << "bad route: " << example << "\n";
  }
  if (const int64_t lag_ns = report.load.start_lag.ValueAtQuantile(0.99);
      options.mode == LoadMode::kOpenLoop && absl::Nanoseconds(lag_ns) > kStartLagWarning) {
    std::cerr << "warning: 1% of calls started " << absl::FormatDuration(absl::Nanoseconds(lag_ns))
              << " or more after their due time (the client was busy or not scheduled); their "
                 "latency includes that wait\n";
  }
  std::cout << FormatReportTable(report) << std::flush;
  bool written = true;
  if (options.json_file.has_value()) {
    written = WriteFile(*options.json_file, FormatReportJson(report));
  }

  if (report.routes.bad > 0) return kExitFailure;
  if (report.load.ok == 0) {
    std::cerr << "error: no call was answered OK\n";
    return kExitFailure;
  }
  return written ? kExitOk : kExitFailure;
}

}  // namespace
}  // namespace routeserve::bench

int main(int argc, char** argv) { return routeserve::bench::Main(argc, argv); }
