// routeserve-bench against the real server: build/routeserve on a free loopback port, the bench
// in a closed and then an open loop with --json, unary and streaming; every answer OK, no bad
// route, exit 0. Streamed messages whose timeout passes are counted by their own error's code.
// Also the exit codes without a server: 2 on a usage error, 1 when nothing answers.
#include <catch2/catch.hpp>

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "server_process.h"

namespace routeserve::testing {
namespace {

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TMPDIR");
  return absl::StrCat(dir != nullptr ? dir : "/tmp", "/routeserve-bench-", getpid(), "-", name);
}

google::protobuf::Struct ReadJsonReport(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in);
  std::ostringstream text;
  text << in.rdbuf();
  google::protobuf::Struct report;
  INFO(text.str());
  REQUIRE(google::protobuf::util::JsonStringToMessage(text.str(), &report).ok());
  return report;
}

double NumberAt(const google::protobuf::Struct& report, const std::string& key) {
  INFO(key);
  REQUIRE(report.fields().count(key) == 1);
  return report.fields().at(key).number_value();
}

TEST_CASE(
    "routeserve-bench against the running server: closed and open loop, every answer OK "
    "and every route good",
    "[process]") {
  ServerProcess server(ROUTESERVE_BINARY,
                       {"--config", ROUTESERVE_CONFIG_PATH, "--set", "server.address=127.0.0.1:0",
                        "--set", "metrics.address=127.0.0.1:0", "--set",
                        "shutdown.drain_delay_s=0"});
  const std::string target = absl::StrCat("127.0.0.1:", server.WaitForPort());

  // A modest load: the machine may be small and busy, and the server must not shed any of it.
  const std::vector<std::vector<std::string>> loads = {
      {"--concurrency", "4"},
      {"--rate", "50"},
      {"--concurrency", "4", "--rpc", "stream"},
      {"--rate", "50", "--rpc", "stream"}};
  for (const std::vector<std::string>& load : loads) {
    const std::string json = TempPath("report.json");
    std::vector<std::string> args = {"--target", target,       "--warmup", "0.5",     "--duration",
                                     "2",        "--requests", "100",      "--stops", "10-30",
                                     "--json",   json,         "--quiet"};
    args.insert(args.end(), load.begin(), load.end());
    ServerProcess bench(ROUTESERVE_BENCH_BINARY, args);
    const int exit_code = bench.WaitForExit();
    INFO(absl::StrJoin(load, " ") << "; bench stderr:\n" << bench.Stderr());
    REQUIRE(exit_code == 0);
    const google::protobuf::Struct report = ReadJsonReport(json);
    std::remove(json.c_str());
    CHECK(report.fields().at("mode").string_value() ==
          (load[0] == "--rate" ? "open_loop" : "closed_loop"));
    CHECK(report.fields().at("rpc").string_value() == (load.size() > 2 ? "stream" : "unary"));
    CHECK(NumberAt(report, "answers") > 0);
    CHECK(NumberAt(report, "ok") == NumberAt(report, "answers"));
    CHECK(NumberAt(report, "non_ok") == 0);
    CHECK(NumberAt(report, "bad_routes") == 0);
    CHECK(NumberAt(report, "routes_checked") >= NumberAt(report, "answers"));
    const google::protobuf::Struct& codes = report.fields().at("codes").struct_value();
    CHECK(codes.fields().size() == 1);
    CHECK(NumberAt(codes, "OK") == NumberAt(report, "answers"));
    if (load[0] == "--rate") CHECK(NumberAt(report, "skipped") == 0);
  }

  server.Signal(SIGTERM);
  CHECK(server.WaitForExit() == 0);
}

TEST_CASE("routeserve-bench --rpc stream: messages past their timeout count under their code",
          "[process]") {
  // A queue delay far beyond the messages' timeout: every message's deadline passes while it
  // waits for company, and the server answers each with its own DEADLINE_EXCEEDED.
  ServerProcess server(ROUTESERVE_BINARY,
                       {"--config", ROUTESERVE_CONFIG_PATH, "--set", "server.address=127.0.0.1:0",
                        "--set", "metrics.address=127.0.0.1:0", "--set",
                        "shutdown.drain_delay_s=0", "--set", "batching.max_queue_delay_us=2000000"});
  const std::string target = absl::StrCat("127.0.0.1:", server.WaitForPort());
  const std::string json = TempPath("deadline.json");
  ServerProcess bench(ROUTESERVE_BENCH_BINARY,
                      {"--target", target, "--rpc", "stream", "--concurrency", "3", "--warmup",
                       "0", "--duration", "1", "--deadline_ms", "50", "--requests", "10",
                       "--json", json, "--quiet"});
  const int exit_code = bench.WaitForExit();
  INFO("bench stderr:\n" << bench.Stderr());
  CHECK(exit_code == 1);  // nothing answered OK
  CHECK(absl::StrContains(bench.Stderr(), "no call was answered OK"));
  const google::protobuf::Struct report = ReadJsonReport(json);
  std::remove(json.c_str());
  CHECK(NumberAt(report, "ok") == 0);
  CHECK(NumberAt(report, "answers") > 0);
  const google::protobuf::Struct& codes = report.fields().at("codes").struct_value();
  CHECK(codes.fields().size() == 1);
  CHECK(NumberAt(codes, "DEADLINE_EXCEEDED") == NumberAt(report, "answers"));

  server.Signal(SIGTERM);
  CHECK(server.WaitForExit() == 0);
}

TEST_CASE("routeserve-bench: a usage error exits 2 and names the flag", "[process]") {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--concurrency", "0"}, "--concurrency"},
      {{"--concurrency", "3", "--rate", "10"}, "--rate"},
      {{"--stops", "50-8"}, "--stops"},
      {{"--no-such-flag"}, "--no-such-flag"},
  };
  for (const auto& [args, names] : cases) {
    ServerProcess bench(ROUTESERVE_BENCH_BINARY, args);
    const int exit_code = bench.WaitForExit();
    const std::string log = bench.Stderr();
    INFO(log);
    CHECK(exit_code == 2);
    CHECK(absl::StrContains(log, names));
    // One line, the program's name first.
    CHECK(absl::StartsWith(log, "routeserve-bench: "));
    CHECK(log.find('\n') == std::string::npos);
  }
  ServerProcess help(ROUTESERVE_BENCH_BINARY, {"--help"});
  CHECK(help.WaitForExit() == 0);
}

TEST_CASE("routeserve-bench: no server to answer exits 1", "[process]") {
  // Port 1 (tcpmux) is privileged and unused on any machine that runs these tests.
  ServerProcess bench(ROUTESERVE_BENCH_BINARY, {"--target", "127.0.0.1:1", "--deadline_ms", "300",
                                                "--duration", "1", "--requests", "5", "--quiet"});
  const int exit_code = bench.WaitForExit();
  const std::string log = bench.Stderr();
  INFO(log);
  CHECK(exit_code == 1);
  CHECK(absl::StrContains(log, "127.0.0.1:1"));
}

}  // namespace
}  // namespace routeserve::testing
