// The routeserve-bench command line: its flags, each with the help text --help prints, and the
// checks of their values and of how they go together.
#include "tools/bench/bench_options.h"

#include <cmath>
#include <optional>
#include <string>
#include <tuple>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "program/failure.h"

// Load.
ABSL_FLAG(std::string, target, "127.0.0.1:50051", "the server, HOST:PORT");
ABSL_FLAG(int, concurrency, 8,
          "closed loop (the default): N calls outstanding at all times, each answer starts the "
          "next; 1 to 100000");
ABSL_FLAG(std::optional<double>, rate, std::nullopt,
          "open loop instead: calls start at Poisson arrivals, R per second on average, whether "
          "or not earlier calls were answered; latency counts from the scheduled start (the "
          "report's start lag says how late calls started)");
ABSL_FLAG(int, channels, 4, "connections to the server, calls spread over them; 1 to 256");
ABSL_FLAG(std::string, rpc, "unary",
          "unary: a Suggest call per request; stream: one SuggestStream call per channel, kept "
          "open for the run, a message per request (a \"call\" in the report), answers matched "
          "by request_id; a message's own error counts under its code, like a failed call");
ABSL_FLAG(double, warmup, 1, "seconds of calls that are not counted");
ABSL_FLAG(double, duration, 10, "seconds of counted calls after the warmup");
ABSL_FLAG(double, deadline_ms, 10000,
          "every call's deadline, ms; with --rpc stream, every message's timeout_s");
ABSL_FLAG(int64_t, max_outstanding, 100000,
          "open loop: an arrival that finds N calls outstanding is skipped and counted as such");
// Requests: a pool of distinct problems from the instance generator, sent in turn.
ABSL_FLAG(int, requests, 1000, "the pool's size: distinct generated requests, sent in turn");
ABSL_FLAG(std::string, stops, "20",
          "stops per request: 20, a range 8-50 (uniform) or a list 10,20,50 (in turn)");
ABSL_FLAG(std::string, windows, "loose", "time windows: none, loose or tight");
ABSL_FLAG(bool, matrix, false, "add a caller's travel-time matrix");
ABSL_FLAG(uint64_t, seed, 1, "seeds the pool and the arrivals");
// Output.
ABSL_FLAG(int, verify_threads, 1, "threads that check answered routes; 1 to 64");
ABSL_FLAG(std::string, json, "", "also write the report as JSON to FILE");
ABSL_FLAG(bool, quiet, false, "no progress line on stderr");
ABSL_FLAG(std::string, write_request, "",
          "write the pool's first request to FILE as a serialized SuggestRequest and exit "
          "without calling the server: the request another load generator can send (with "
          "--requests 1, the only one this one sends)");

namespace routeserve::bench {
namespace {

constexpr int kMaxConcurrency = 100'000;
constexpr int kMaxChannels = 256;
constexpr int kMaxRequests = 1'000'000;
constexpr int kMaxVerifyThreads = 64;
constexpr int64_t kMaxOutstanding = 10'000'000;

absl::Status Bad(absl::string_view flag, absl::string_view what) {
  return program::UsageError(absl::StrCat(flag, ": ", what));
}

// An integer in [low, high].
template <typename Int>
absl::Status InRange(absl::string_view flag, Int value, Int low, Int high) {
  if (value < low || value > high) {
    return Bad(flag, absl::StrCat(value, " is not in [", low, ", ", high, "]"));
  }
  return absl::OkStatus();
}

// A finite number > 0, or >= 0 when zero is allowed.
absl::Status Positive(absl::string_view flag, double value, bool zero_allowed) {
  if (!std::isfinite(value) || value < 0 || (value == 0 && !zero_allowed)) {
    return Bad(flag, absl::StrCat(value, " is not a number ", zero_allowed ? ">= 0" : "> 0"));
  }
  return absl::OkStatus();
}

// The load's flags into `options`.
absl::Status ReadLoad(const program::CommandLine& command_line, BenchOptions& options) {
  options.target = absl::GetFlag(FLAGS_target);
  if (options.target.empty()) return Bad("--target", "must not be empty");
  options.concurrency = absl::GetFlag(FLAGS_concurrency);
  if (absl::Status s = InRange("--concurrency", options.concurrency, 1, kMaxConcurrency);
      !s.ok()) {
    return s;
  }
  if (command_line.Given("rate")) {
    const std::optional<double> rate = absl::GetFlag(FLAGS_rate);
    if (!rate.has_value()) return Bad("--rate", "must be a number > 0");
    if (absl::Status s = Positive("--rate", *rate, /*zero_allowed=*/false); !s.ok()) return s;
    if (command_line.Given("concurrency")) {
      return program::UsageError(
          "give --concurrency (closed loop) or --rate (open loop), not both");
    }
    options.mode = LoadMode::kOpenLoop;
    options.rate_per_s = *rate;
  }
  options.channels = absl::GetFlag(FLAGS_channels);
  if (absl::Status s = InRange("--channels", options.channels, 1, kMaxChannels); !s.ok()) {
    return s;
  }
  const std::string rpc = absl::GetFlag(FLAGS_rpc);
  if (rpc != "unary" && rpc != "stream") {
    return Bad("--rpc", absl::StrCat("\"", rpc, "\" is not one of unary, stream"));
  }
  options.rpc = rpc == "stream" ? RpcKind::kStream : RpcKind::kUnary;
  for (const auto& [flag, value, zero_allowed] :
       {std::tuple{"--warmup", absl::GetFlag(FLAGS_warmup), true},
        std::tuple{"--duration", absl::GetFlag(FLAGS_duration), false},
        std::tuple{"--deadline_ms", absl::GetFlag(FLAGS_deadline_ms), false}}) {
    if (absl::Status s = Positive(flag, value, zero_allowed); !s.ok()) return s;
  }
  options.warmup = absl::Seconds(absl::GetFlag(FLAGS_warmup));
  options.duration = absl::Seconds(absl::GetFlag(FLAGS_duration));
  options.deadline = absl::Milliseconds(absl::GetFlag(FLAGS_deadline_ms));
  options.max_outstanding = absl::GetFlag(FLAGS_max_outstanding);
  if (command_line.Given("max_outstanding") && options.mode == LoadMode::kClosedLoop) {
    return Bad("--max_outstanding", "goes with --rate (closed loop: --concurrency bounds it)");
  }
  return InRange<int64_t>("--max_outstanding", options.max_outstanding, 1, kMaxOutstanding);
}

// The requests' and the output's flags into `options`.
absl::Status ReadRequestsAndOutput(const program::CommandLine& command_line,
                                   BenchOptions& options) {
  options.requests = absl::GetFlag(FLAGS_requests);
  if (absl::Status s = InRange("--requests", options.requests, 1, kMaxRequests); !s.ok()) {
    return s;
  }
  absl::StatusOr<StopsSpec> stops = StopsSpec::Parse(absl::GetFlag(FLAGS_stops));
  if (!stops.ok()) return Bad("--stops", stops.status().message());
  options.stops = *stops;
  const std::string windows = absl::GetFlag(FLAGS_windows);
  if (windows == "none") {
    options.windows = routing::TimeWindowTightness::kNone;
  } else if (windows == "loose") {
    options.windows = routing::TimeWindowTightness::kLoose;
  } else if (windows == "tight") {
    options.windows = routing::TimeWindowTightness::kTight;
  } else {
    return Bad("--windows", absl::StrCat("\"", windows, "\" is not one of none, loose, tight"));
  }
  options.matrix = absl::GetFlag(FLAGS_matrix);
  options.seed = absl::GetFlag(FLAGS_seed);
  options.verify_threads = absl::GetFlag(FLAGS_verify_threads);
  if (absl::Status s = InRange("--verify_threads", options.verify_threads, 1, kMaxVerifyThreads);
      !s.ok()) {
    return s;
  }
  options.quiet = absl::GetFlag(FLAGS_quiet);
  if (command_line.Given("json")) {
    if (absl::GetFlag(FLAGS_json).empty()) return Bad("--json", "must name a file");
    options.json_file = absl::GetFlag(FLAGS_json);
  }
  if (command_line.Given("write_request")) {
    if (absl::GetFlag(FLAGS_write_request).empty()) {
      return Bad("--write_request", "must name a file");
    }
    options.write_request_file = absl::GetFlag(FLAGS_write_request);
  }
  return absl::OkStatus();
}

}  // namespace

const program::CommandLineSpec& BenchCommandLine() {
  static const program::CommandLineSpec spec = {
      .name = "routeserve-bench",
      .usage = R"(usage: routeserve-bench [--target HOST:PORT] [--concurrency N | --rate R] [flags]

Load generator for routeserve: sends RouteService.Suggest calls (or SuggestStream messages)
from a pool of generated requests, checks every answered route, and reports throughput,
latency, status codes and the server's timings as a table on stdout (and as JSON with --json).

Every OK answer is checked: each stop of the request exactly once, every pickup before its
dropoff, the load never above capacity. A route that fails is a bad route.

Exit status: 0 when the run completed, errors included (they are in the report); 1 when a bad
route was found, no call was answered OK, or the JSON could not be written; 2 on a usage error.
)",
  };
  return spec;
}

absl::StatusOr<BenchOptions> BenchOptionsFromFlags(const program::CommandLine& command_line) {
  BenchOptions options;
  if (absl::Status s = ReadLoad(command_line, options); !s.ok()) return s;
  if (absl::Status s = ReadRequestsAndOutput(command_line, options); !s.ok()) return s;
  return options;
}

absl::StatusOr<BenchOptions> ParseBenchArgs(const std::vector<std::string>& args) {
  absl::StatusOr<program::CommandLine> command_line = program::ParseArgs(args, BenchCommandLine());
  if (!command_line.ok()) return command_line.status();
  if (command_line->help) return BenchOptions{.help = true};
  return BenchOptionsFromFlags(*command_line);
}

std::string_view WindowsName(routing::TimeWindowTightness windows) {
  switch (windows) {
    case routing::TimeWindowTightness::kNone: return "none";
    case routing::TimeWindowTightness::kLoose: return "loose";
    case routing::TimeWindowTightness::kTight: return "tight";
  }
  return "loose";
}

std::string_view RpcName(RpcKind rpc) { return rpc == RpcKind::kStream ? "stream" : "unary"; }

}  // namespace routeserve::bench
