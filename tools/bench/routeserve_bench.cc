// routeserve-bench: the load generator. Generates a pool of requests, drives Suggest calls at a
// server in a closed or an open loop, checks every answered route, and reports throughput,
// latency, status codes and the server's timings (README.md, Development; the flags:
// bench_options.cc, or --help).
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "program/command_line.h"
#include "program/failure.h"
#include "tools/bench/bench_options.h"
#include "tools/bench/bench_report.h"
#include "tools/bench/load_generator.h"
#include "tools/bench/request_pool.h"
#include "tools/bench/route_verifier.h"

namespace routeserve::bench {
namespace {

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

absl::Status WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) {
    return absl::UnavailableError(absl::StrCat(path, ": cannot open (", std::strerror(errno), ")"));
  }
  out << text;
  out.close();
  if (!out) {
    return absl::DataLossError(
        absl::StrCat(path, ": cannot write (", std::strerror(errno), ")"));
  }
  return absl::OkStatus();
}

// Runs the load and reports it; a failure is a bad route, no OK answer, no connection, or a
// report that could not be written (exit 1).
absl::Status Run(const BenchOptions& options) {
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
  if (!pool.ok()) return pool.status();
  if (options.write_request_file.has_value()) {
    return WriteFile(*options.write_request_file, pool->front().request.SerializeAsString());
  }

  const auto channels = OpenChannels(options.target, options.channels);
  if (absl::Status connected =
          WaitForChannels(channels, options.target, absl::Now() + options.deadline);
      !connected.ok()) {
    return connected;
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
  absl::Status written = absl::OkStatus();
  if (options.json_file.has_value()) {
    absl::StatusOr<std::string> json = FormatReportJson(report);
    written = json.ok() ? WriteFile(*options.json_file, *json) : json.status();
  }

  if (report.routes.bad > 0) {
    return absl::DataLossError(absl::StrCat(report.routes.bad, " bad route(s)"));
  }
  if (report.load.ok == 0) return absl::UnavailableError("no call was answered OK");
  return written;
}

int Main(int argc, char** argv) {
  // Debian's Abseil is built with its debug checks on; a load generator should not pay for
  // deadlock detection on every mutex gRPC creates.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  const program::CommandLine command_line =
      program::ParseCommandLine(argc, argv, BenchCommandLine());
  absl::StatusOr<BenchOptions> options = BenchOptionsFromFlags(command_line);
  if (!options.ok()) return program::Exit("routeserve-bench", options.status());
  return program::Exit("routeserve-bench", Run(*options));
}

}  // namespace
}  // namespace routeserve::bench

int main(int argc, char** argv) { return routeserve::bench::Main(argc, argv); }
