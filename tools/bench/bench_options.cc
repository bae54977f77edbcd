// The routeserve-bench command line: usage text and parser.
#include "tools/bench/bench_options.h"

#include <cmath>
#include <set>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace routeserve::bench {

const char kBenchUsage[] =
    R"(usage: routeserve-bench [--target HOST:PORT] [--concurrency N | --rate R] [--channels N]
                        [--rpc unary|stream]
                        [--duration S] [--warmup S] [--deadline_ms MS] [--max_outstanding N]
                        [--stops SPEC] [--windows none|loose|tight] [--matrix] [--seed N]
                        [--requests N] [--verify_threads N] [--json FILE] [--quiet]
                        [--write_request FILE]

Load generator for routeserve: sends RouteService.Suggest calls (or SuggestStream messages)
from a pool of generated requests, checks every answered route, and reports throughput,
latency, status codes and the server's timings as a table on stdout (and as JSON with --json).

Load:
  --target HOST:PORT    the server (default 127.0.0.1:50051)
  --concurrency N       closed loop: N calls outstanding at all times, each answer starts the
                        next (the default, N = 8)
  --rate R              open loop: calls start at Poisson arrivals, R per second on average,
                        whether or not earlier calls were answered; latency counts from the
                        scheduled start (the report's start lag says how late calls started)
  --channels N          connections to the server, calls spread over them (default 4)
  --rpc KIND            unary: a Suggest call per request (the default); stream: one
                        SuggestStream call per channel, kept open for the run, a message per
                        request (a "call" below), answers matched by request_id; a message's
                        own error counts under its code, like a failed call
  --warmup S            seconds of calls that are not counted (default 1)
  --duration S          seconds of counted calls after the warmup (default 10)
  --deadline_ms MS      every call's deadline; with --rpc stream, every message's timeout_s
                        (default 10000)
  --max_outstanding N   open loop: an arrival that finds N calls outstanding is skipped and
                        counted as such (default 100000)
Requests (a pool of distinct problems from the instance generator, sent in turn):
  --requests N          the pool's size (default 1000)
  --stops SPEC          stops per request: 20, a range 8-50 (uniform) or a list 10,20,50
                        (in turn) (default 20)
  --windows KIND        time windows: none, loose or tight (default loose)
  --matrix              add a caller's travel-time matrix
  --seed N              seeds the pool and the arrivals (default 1)
Output:
  --verify_threads N    threads that check answered routes (default 1)
  --json FILE           also write the report as JSON to FILE
  --quiet               no progress line on stderr
  --write_request FILE  write the pool's first request to FILE as a serialized SuggestRequest
                        and exit without calling the server: the request another load
                        generator can send (with --requests 1, the only one this one sends)
  --help                print this text

Every OK answer is checked: each stop of the request exactly once, every pickup before its
dropoff, the load never above capacity. A route that fails is a bad route.

Exit status: 0 when the run completed, errors included (they are in the report); 1 when a bad
route was found, no call was answered OK, or the JSON could not be written; 2 on a usage error.
)";

namespace {

constexpr int kMaxConcurrency = 100'000;
constexpr int kMaxChannels = 256;
constexpr int kMaxRequests = 1'000'000;
constexpr int kMaxVerifyThreads = 64;
constexpr int64_t kMaxOutstanding = 10'000'000;

bool TakesValue(const std::string& flag) {
  static const std::set<std::string> kFlags = {
      "--target",   "--concurrency",    "--rate",           "--channels", "--rpc",
      "--warmup",   "--duration",       "--deadline_ms",    "--max_outstanding",
      "--requests", "--stops",          "--windows",        "--seed",
      "--json",     "--verify_threads", "--write_request"};
  return kFlags.count(flag) > 0;
}

bool IsSwitch(const std::string& flag) {
  return flag == "--matrix" || flag == "--quiet" || flag == "--help";
}

absl::Status Bad(const std::string& flag, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(flag, ": ", what));
}

// An integer in [low, high].
template <typename Int>
absl::Status ParseInt(const std::string& flag, const std::string& value, Int low, Int high,
                      Int& out) {
  if (!absl::SimpleAtoi(value, &out) || out < low || out > high) {
    return Bad(flag, absl::StrCat("\"", value, "\" is not an integer in [", low, ", ", high, "]"));
  }
  return absl::OkStatus();
}

// A finite number > 0, or >= 0 when zero is allowed.
absl::Status ParseNumber(const std::string& flag, const std::string& value, bool zero_allowed,
                         double& out) {
  if (!absl::SimpleAtod(value, &out) || !std::isfinite(out) || out < 0 ||
      (out == 0 && !zero_allowed)) {
    return Bad(flag,
               absl::StrCat("\"", value, "\" is not a number ", zero_allowed ? ">= 0" : "> 0"));
  }
  return absl::OkStatus();
}

absl::Status Apply(const std::string& flag, const std::string& value, BenchOptions& options) {
  double number = 0;
  if (flag == "--target") {
    if (value.empty()) return Bad(flag, "must not be empty");
    options.target = value;
  } else if (flag == "--concurrency") {
    options.mode = LoadMode::kClosedLoop;
    return ParseInt<int>(flag, value, 1, kMaxConcurrency, options.concurrency);
  } else if (flag == "--rate") {
    if (auto status = ParseNumber(flag, value, /*zero_allowed=*/false, number); !status.ok()) {
      return status;
    }
    options.mode = LoadMode::kOpenLoop;
    options.rate_per_s = number;
  } else if (flag == "--rpc") {
    if (value == "unary") {
      options.rpc = RpcKind::kUnary;
    } else if (value == "stream") {
      options.rpc = RpcKind::kStream;
    } else {
      return Bad(flag, absl::StrCat("\"", value, "\" is not one of unary, stream"));
    }
  } else if (flag == "--channels") {
    return ParseInt<int>(flag, value, 1, kMaxChannels, options.channels);
  } else if (flag == "--warmup" || flag == "--duration" || flag == "--deadline_ms") {
    const bool is_warmup = flag == "--warmup";
    if (auto status = ParseNumber(flag, value, is_warmup, number); !status.ok()) return status;
    if (is_warmup) {
      options.warmup = absl::Seconds(number);
    } else if (flag == "--duration") {
      options.duration = absl::Seconds(number);
    } else {
      options.deadline = absl::Milliseconds(number);
    }
  } else if (flag == "--max_outstanding") {
    return ParseInt<int64_t>(flag, value, 1, kMaxOutstanding, options.max_outstanding);
  } else if (flag == "--requests") {
    return ParseInt<int>(flag, value, 1, kMaxRequests, options.requests);
  } else if (flag == "--stops") {
    absl::StatusOr<StopsSpec> stops = StopsSpec::Parse(value);
    if (!stops.ok()) return Bad(flag, std::string(stops.status().message()));
    options.stops = *stops;
  } else if (flag == "--windows") {
    if (value == "none") {
      options.windows = routing::TimeWindowTightness::kNone;
    } else if (value == "loose") {
      options.windows = routing::TimeWindowTightness::kLoose;
    } else if (value == "tight") {
      options.windows = routing::TimeWindowTightness::kTight;
    } else {
      return Bad(flag, absl::StrCat("\"", value, "\" is not one of none, loose, tight"));
    }
  } else if (flag == "--seed") {
    if (!absl::SimpleAtoi(value, &options.seed)) {
      return Bad(flag, absl::StrCat("\"", value, "\" is not an unsigned 64-bit integer"));
    }
  } else if (flag == "--verify_threads") {
    return ParseInt<int>(flag, value, 1, kMaxVerifyThreads, options.verify_threads);
  } else if (flag == "--json") {
    if (value.empty()) return Bad(flag, "must name a file");
    options.json_file = value;
  } else if (flag == "--write_request") {
    if (value.empty()) return Bad(flag, "must name a file");
    options.write_request_file = value;
  } else if (flag == "--matrix") {
    options.matrix = true;
  } else if (flag == "--quiet") {
    options.quiet = true;
  } else if (flag == "--help") {
    options.help = true;
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<BenchOptions> ParseBenchArgs(const std::vector<std::string>& args) {
  BenchOptions options;
  std::set<std::string> seen;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string flag = args[i];
    std::optional<std::string> value;
    if (const size_t equals = flag.find('=');
        flag.rfind("--", 0) == 0 && equals != std::string::npos) {
      value = flag.substr(equals + 1);
      flag.resize(equals);
    }
    if (flag == "-h") flag = "--help";
    if (!TakesValue(flag) && !IsSwitch(flag)) {
      return absl::InvalidArgumentError(absl::StrCat("unknown argument ", args[i]));
    }
    if (!seen.insert(flag).second) {
      return absl::InvalidArgumentError(absl::StrCat(flag, " given twice"));
    }
    if (IsSwitch(flag) && value.has_value()) return Bad(flag, "takes no value");
    if (TakesValue(flag) && !value.has_value()) {
      if (i + 1 >= args.size()) return Bad(flag, "needs a value");
      value = args[++i];
    }
    if (absl::Status status = Apply(flag, value.value_or(""), options); !status.ok()) {
      return status;
    }
  }
  if (options.help) return options;
  if (seen.count("--concurrency") > 0 && seen.count("--rate") > 0) {
    return absl::InvalidArgumentError(
        "give --concurrency (closed loop) or --rate (open loop), not both");
  }
  if (options.mode == LoadMode::kClosedLoop && seen.count("--max_outstanding") > 0) {
    return Bad("--max_outstanding", "goes with --rate (closed loop: --concurrency bounds it)");
  }
  return options;
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
