// BenchOptions: what one routeserve-bench run does, read from its command line (its flags are
// defined in bench_options.cc, with the help text --help prints for each).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "program/command_line.h"
#include "routing/generator.h"
#include "tools/common/stops_spec.h"

namespace routeserve::bench {

using tools::StopsSpec;

enum class LoadMode {
  kClosedLoop,  // a fixed number of calls outstanding, each answer starts the next
  kOpenLoop,    // calls start at Poisson arrival times, whatever the answers
};

enum class RpcKind {
  kUnary,   // a Suggest call per request
  kStream,  // a SuggestStream call per channel, a message per request
};

struct BenchOptions {
  // Affect the load.
  std::string target = "127.0.0.1:50051";
  LoadMode mode = LoadMode::kClosedLoop;
  RpcKind rpc = RpcKind::kUnary;
  int concurrency = 8;                          // closed loop: calls outstanding, 1 to 100,000
  double rate_per_s = 0;                        // open loop: mean arrivals per second, > 0
  int channels = 4;                             // distinct HTTP/2 connections, 1 to 256
  absl::Duration warmup = absl::Seconds(1);     // answered, verified, not counted; >= 0
  absl::Duration duration = absl::Seconds(10);  // counted; > 0
  absl::Duration deadline = absl::Seconds(10);  // of every call (stream: `timeout_s`); > 0
  int64_t max_outstanding = 100'000;  // open loop: an arrival finding this many is skipped

  // Affect the requests: a pool of `requests` distinct problems from the instance generator,
  // sent in turn.
  int requests = 1000;  // 1 to 1,000,000
  StopsSpec stops;      // 20 by default
  routing::TimeWindowTightness windows = routing::TimeWindowTightness::kLoose;
  bool matrix = false;  // add a caller's travel-time matrix
  uint64_t seed = 1;    // the same seed gives the same pool and the same arrivals

  // Affect the output.
  std::optional<std::string> json_file;  // also write the report as JSON here
  bool quiet = false;                    // no progress line on stderr
  int verify_threads = 1;                // threads that check answered routes, 1 to 64
  // Write the pool's first request, serialized, here and exit without calling the server.
  std::optional<std::string> write_request_file;

  bool help = false;  // --help: print program::HelpText() and do nothing else
};

// routeserve-bench's name and usage message, for program::ParseCommandLine.
const program::CommandLineSpec& BenchCommandLine();

// The options the parsed flags say; a usage error (program::UsageError) names the flag at fault:
// a value out of its range, or flags that do not go together.
absl::StatusOr<BenchOptions> BenchOptionsFromFlags(const program::CommandLine& command_line);

// Both steps on `args`, the arguments after the program's name (program::ParseArgs, then
// BenchOptionsFromFlags). With --help, `help` is set and the rest is not checked.
absl::StatusOr<BenchOptions> ParseBenchArgs(const std::vector<std::string>& args);

std::string_view WindowsName(routing::TimeWindowTightness windows);  // "none", "loose", "tight"
std::string_view RpcName(RpcKind rpc);                              // "unary", "stream"

}  // namespace routeserve::bench
