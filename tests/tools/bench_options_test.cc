// routeserve-bench's command line: the --stops SPEC parser, and its flags read through
// program/command_line.h: their defaults and the usage errors (each names the flag at fault).
#include <catch2/catch.hpp>

#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "program/failure.h"
#include "tools/bench/bench_options.h"
#include "tools/bench/random.h"
#include "tools/common/stops_spec.h"

namespace routeserve::bench {
namespace {

TEST_CASE("StopsSpec: one size, a range, a list") {
  SplitMix64 random(3);
  {
    const absl::StatusOr<StopsSpec> spec = StopsSpec::Parse("20");
    REQUIRE(spec.ok());
    CHECK(spec->ToString() == "20");
    CHECK(spec->min_stops() == 20);
    CHECK(spec->max_stops() == 20);
    for (int i = 0; i < 100; ++i) CHECK(spec->SizeOf(i, random.Next()) == 20);
  }
  {
    const absl::StatusOr<StopsSpec> spec = StopsSpec::Parse("8-50");
    REQUIRE(spec.ok());
    CHECK(spec->ToString() == "8-50");
    CHECK(spec->min_stops() == 8);
    CHECK(spec->max_stops() == 50);
    std::set<int> seen;
    for (int i = 0; i < 10'000; ++i) seen.insert(spec->SizeOf(i, random.Next()));
    CHECK(seen.size() == 43);  // every size of the range, and nothing else
    CHECK(*seen.begin() == 8);
    CHECK(*seen.rbegin() == 50);
  }
  {
    const absl::StatusOr<StopsSpec> spec = StopsSpec::Parse("10,20,50");
    REQUIRE(spec.ok());
    CHECK(spec->ToString() == "10,20,50");
    CHECK(spec->min_stops() == 10);
    CHECK(spec->max_stops() == 50);
    std::vector<int> sizes;
    for (int i = 0; i < 6; ++i) sizes.push_back(spec->SizeOf(i, random.Next()));
    CHECK(sizes == std::vector<int>{10, 20, 50, 10, 20, 50});
  }
  CHECK(StopsSpec::Parse("7-7")->SizeOf(0, 12345) == 7);
  CHECK(StopsSpec::Parse("1")->min_stops() == 1);
  CHECK(StopsSpec::Parse("10000")->max_stops() == 10'000);
  CHECK(StopsSpec().ToString() == "20");
}

TEST_CASE("StopsSpec: malformed specs are errors that quote them") {
  for (const std::string text : {"", "0", "-5", "5-", "-", "50-8", "10,,20", "10,", "abc", "10001",
                                 "1e3", " 20", "20 ", "+20", "8-50-60", "1-2,3", "2.5"}) {
    INFO("\"" << text << "\"");
    const absl::StatusOr<StopsSpec> spec = StopsSpec::Parse(text);
    REQUIRE_FALSE(spec.ok());
    CHECK(spec.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(absl::StrContains(spec.status().message(), "\"" + text + "\""));
  }
}

TEST_CASE("ParseBenchArgs: defaults") {
  const absl::StatusOr<BenchOptions> options = ParseBenchArgs({});
  REQUIRE(options.ok());
  CHECK(options->target == "127.0.0.1:50051");
  CHECK(options->mode == LoadMode::kClosedLoop);
  CHECK(options->rpc == RpcKind::kUnary);
  CHECK(options->concurrency == 8);
  CHECK(options->channels == 4);
  CHECK(options->warmup == absl::Seconds(1));
  CHECK(options->duration == absl::Seconds(10));
  CHECK(options->deadline == absl::Seconds(10));
  CHECK(options->max_outstanding == 100'000);
  CHECK(options->requests == 1000);
  CHECK(options->stops.ToString() == "20");
  CHECK(options->windows == routing::TimeWindowTightness::kLoose);
  CHECK_FALSE(options->matrix);
  CHECK(options->seed == 1);
  CHECK_FALSE(options->json_file.has_value());
  CHECK_FALSE(options->write_request_file.has_value());
  CHECK_FALSE(options->quiet);
  CHECK_FALSE(options->help);
}

TEST_CASE("ParseBenchArgs: every flag, in both spellings") {
  const absl::StatusOr<BenchOptions> options = ParseBenchArgs({"--target",
                                                               "10.0.0.1:9000",
                                                               "--rate=2500.5",
                                                               "--channels",
                                                               "16",
                                                               "--rpc=stream",
                                                               "--warmup=0",
                                                               "--duration",
                                                               "2.5",
                                                               "--deadline_ms",
                                                               "250",
                                                               "--max_outstanding=5000",
                                                               "--requests",
                                                               "7",
                                                               "--stops",
                                                               "8-50",
                                                               "--windows=tight",
                                                               "--matrix",
                                                               "--seed",
                                                               "18446744073709551615",
                                                               "--json",
                                                               "out.json",
                                                               "--quiet",
                                                               "--verify_threads",
                                                               "3",
                                                               "--write_request=req.bin"});
  INFO(options.status().ToString());
  REQUIRE(options.ok());
  CHECK(options->target == "10.0.0.1:9000");
  CHECK(options->mode == LoadMode::kOpenLoop);
  CHECK(options->rate_per_s == 2500.5);
  CHECK(options->channels == 16);
  CHECK(options->rpc == RpcKind::kStream);
  CHECK(options->warmup == absl::ZeroDuration());
  CHECK(options->duration == absl::Milliseconds(2500));
  CHECK(options->deadline == absl::Milliseconds(250));
  CHECK(options->max_outstanding == 5000);
  CHECK(options->requests == 7);
  CHECK(options->stops.ToString() == "8-50");
  CHECK(options->windows == routing::TimeWindowTightness::kTight);
  CHECK(options->matrix);
  CHECK(options->seed == 18446744073709551615ULL);
  CHECK(options->json_file == "out.json");
  CHECK(options->quiet);
  CHECK(options->verify_threads == 3);
  CHECK(options->write_request_file == "req.bin");

  const absl::StatusOr<BenchOptions> closed = ParseBenchArgs({"--concurrency=64"});
  REQUIRE(closed.ok());
  CHECK(closed->mode == LoadMode::kClosedLoop);
  CHECK(closed->concurrency == 64);
}

TEST_CASE("ParseBenchArgs: --help, also as -h, whatever else is given") {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--help"}, {"-h"}, {"--rate", "5", "--concurrency", "3", "-h"}}) {
    const absl::StatusOr<BenchOptions> options = ParseBenchArgs(args);
    REQUIRE(options.ok());
    CHECK(options->help);
  }
}

TEST_CASE("ParseBenchArgs: usage errors name what is wrong") {
  struct Case {
    std::vector<std::string> args;
    std::string names;  // the error message contains this
  };
  const std::vector<Case> cases = {
      {{"--no-such-flag"}, "unknown flag --no-such-flag"},
      {{"stray"}, "unexpected argument \"stray\""},
      {{"--concurrency", "4", "--rate", "100"}, "not both"},
      {{"--concurrency"}, "--concurrency: needs a value"},
      {{"--concurrency", "0"}, "--concurrency"},
      {{"--concurrency", "100001"}, "--concurrency"},
      {{"--concurrency", "eight"}, "--concurrency"},
      {{"--rate", "0"}, "--rate"},
      {{"--rate", "-3"}, "--rate"},
      {{"--rate", "inf"}, "--rate"},
      {{"--rate", "nan"}, "--rate"},
      {{"--channels", "0"}, "--channels"},
      {{"--channels", "257"}, "--channels"},
      {{"--duration", "0"}, "--duration"},
      {{"--warmup", "-1"}, "--warmup"},
      {{"--deadline_ms", "0"}, "--deadline_ms"},
      {{"--max_outstanding", "10"}, "--max_outstanding: goes with --rate"},
      {{"--rate", "5", "--max_outstanding", "0"}, "--max_outstanding"},
      {{"--requests", "0"}, "--requests"},
      {{"--stops", "50-8"}, "--stops: \"50-8\""},
      {{"--stops", "0"}, "--stops"},
      {{"--windows", "medium"}, "--windows"},
      {{"--rpc", "bidi"}, "--rpc: \"bidi\" is not one of unary, stream"},
      {{"--seed", "-1"}, "--seed"},
      {{"--verify_threads", "0"}, "--verify_threads"},
      {{"--json", ""}, "--json"},
      {{"--write_request", ""}, "--write_request"},
      {{"--target="}, "--target"},
      {{"--quiet=loud"}, "--quiet: bad value 'loud'"},
  };
  for (const Case& c : cases) {
    std::string line;
    for (const std::string& arg : c.args) line += "[" + arg + "] ";
    INFO(line);
    const absl::StatusOr<BenchOptions> options = ParseBenchArgs(c.args);
    REQUIRE_FALSE(options.ok());
    CHECK(options.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(program::ExitCode(options.status()) == program::kExitUsage);
    INFO(options.status().message());
    CHECK(absl::StrContains(options.status().message(), c.names));
  }
}

TEST_CASE("PoissonArrivals: exponential gaps with mean 1 / rate, the same for the same seed") {
  constexpr double kRate = 2000;
  constexpr int kGaps = 200'000;
  PoissonArrivals arrivals(kRate, 42);
  double sum = 0;
  double sum_of_squares = 0;
  for (int i = 0; i < kGaps; ++i) {
    const double gap = arrivals.NextGapS();
    REQUIRE(gap >= 0);
    sum += gap;
    sum_of_squares += gap * gap;
  }
  const double mean = sum / kGaps;
  const double variance = sum_of_squares / kGaps - mean * mean;
  // An exponential's standard deviation equals its mean. With 200,000 draws the sample mean is
  // within 1% of 1/rate by over four standard errors (and the seed is fixed).
  CHECK(mean == Approx(1 / kRate).epsilon(0.01));
  CHECK(std::sqrt(variance) == Approx(1 / kRate).epsilon(0.02));

  PoissonArrivals again(kRate, 42), other(kRate, 43);
  PoissonArrivals first(kRate, 42);
  CHECK(again.NextGapS() == first.NextGapS());
  CHECK(other.NextGapS() != PoissonArrivals(kRate, 42).NextGapS());
}

}  // namespace
}  // namespace routeserve::bench
