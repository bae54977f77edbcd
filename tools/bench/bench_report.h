// What a routeserve-bench run reports: a table for people (stdout), JSON for scripts (--json),
// and the progress line on stderr.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "tools/bench/bench_options.h"
#include "tools/bench/load_generator.h"
#include "tools/bench/route_verifier.h"

namespace routeserve::bench {

struct BenchReport {
  BenchOptions options;
  LoadResult load;
  RouteCheckSummary routes;
};

// One "label  value" line per figure: the run's settings on '#' lines, then throughput
// (answers/s and OK answers/s over LoadResult::counted_for), latency of OK answers
// (p50/p90/p99/p99.9/max/mean, ms), answers by status code, the latency of each code's answers
// (p50/p99/max, ms: how fast refusals come back, not only OK answers), routes checked and bad, the
// server's mean batch size and queue/inference/refine times, route sources, and for the open
// loop the offered rate (arrivals due per second of the window), skipped arrivals and how late
// calls started (LoadResult::start_lag).
std::string FormatReportTable(const BenchReport& report);

// The same figures as one JSON object on one line, ending with a newline (keys in alphabetical
// order; times in seconds where the key ends in _s, milliseconds in latency_ms and
// latency_ms_by_code {code: {p50, p99, max}}; a figure that is not a number is null).
absl::StatusOr<std::string> FormatReportJson(const BenchReport& report);

// "[  3.0 s] counted  answered 12345  rate 4123/s  p99 4.21 ms  errors 0  outstanding 8";
// `rate_per_s` is the caller's rate of answers (warmup included) over the last interval.
std::string FormatProgressLine(const LoadProgress& progress, double rate_per_s);

// "OK", "RESOURCE_EXHAUSTED", ... as gRPC spells its codes.
std::string StatusCodeName(grpc::StatusCode code);

}  // namespace routeserve::bench
