// ProcessCollector: exact values from a procfs written by the test; what is left out when a
// file is missing or malformed; and this test process's own /proc, moved by what the test does
// (descriptors opened, memory touched, CPU burnt), scraped and checked by promtool.
#include <catch2/catch.hpp>

#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "metrics/process_collector.h"
#include "prometheus/text_serializer.h"
#include "scrape.h"

namespace routeserve::testing {
namespace {

using metrics::ProcessCollector;

// Family name -> its one value.
std::map<std::string, double> Values(const ProcessCollector& collector) {
  std::map<std::string, double> values;
  for (const prometheus::MetricFamily& family : collector.Collect()) {
    REQUIRE(family.metric.size() == 1);
    const prometheus::ClientMetric& metric = family.metric[0];
    values[family.name] = family.type == prometheus::MetricType::Counter ? metric.counter.value
                                                                         : metric.gauge.value;
  }
  return values;
}

// A directory laid out as procfs: <root>/stat, <root>/self/{stat,limits,fd/}.
class FakeProc {
 public:
  FakeProc() {
    std::string root = (std::filesystem::temp_directory_path() / "routeserve-proc-XXXXXX");
    REQUIRE(mkdtemp(root.data()) != nullptr);
    root_ = root;
    std::filesystem::create_directories(root_ / "self/fd");
  }
  ~FakeProc() { std::filesystem::remove_all(root_); }
  void Write(const std::string& path, const std::string& text) {
    std::ofstream(root_ / path) << text;
  }
  std::string root() const { return root_.string(); }

 private:
  std::filesystem::path root_;
};

// Fields 1..24 of proc(5)'s stat, the command with a space and a parenthesis in it: utime 250,
// stime 50, starttime 1000 ticks, vsize 123456789 bytes, rss 2500 pages.
constexpr char kStat[] =
    "4242 (rs (worker) x) S 1 4242 4242 0 -1 4194560 900 0 0 0 250 50 0 0 20 0 7 0 1000 "
    "123456789 2500 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
constexpr char kBootStat[] = "cpu  1 2 3 4\nbtime 1700000000\nprocesses 99\n";
constexpr char kLimits[] =
    "Limit                     Soft Limit           Hard Limit           Units\n"
    "Max cpu time              unlimited            unlimited            seconds\n"
    "Max open files            4096                 524288               files\n";

TEST_CASE("the process families are read from procfs as proc(5) lays it out", "[metrics]") {
  FakeProc proc;
  proc.Write("self/stat", kStat);
  proc.Write("stat", kBootStat);
  proc.Write("self/limits", kLimits);
  for (const char* fd : {"0", "1", "2"}) proc.Write(std::string("self/fd/") + fd, "");

  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  const std::map<std::string, double> values = Values(ProcessCollector(proc.root()));
  CHECK(values.size() == 6);
  CHECK(values.at("process_cpu_seconds_total") == Approx(300 / ticks));
  CHECK(values.at("process_resident_memory_bytes") == 2500 * page);
  CHECK(values.at("process_virtual_memory_bytes") == 123456789);
  CHECK(values.at("process_start_time_seconds") == Approx(1700000000 + 1000 / ticks));
  CHECK(values.at("process_open_fds") == 3);
  CHECK(values.at("process_max_fds") == 4096);
}

TEST_CASE("a family whose file is missing or malformed is left out, the others stay",
          "[metrics]") {
  SECTION("no procfs at all") {
    CHECK(Values(ProcessCollector("/nonexistent-proc")).empty());
  }
  SECTION("a stat cut short, no boot time, an unlimited descriptor limit") {
    FakeProc proc;
    proc.Write("self/stat", "4242 (rs) S 1 4242 4242 0 -1 4194560 900 0 0 0 250 50\n");
    proc.Write("stat", "cpu  1 2 3 4\n");
    proc.Write("self/limits", "Max open files      unlimited      unlimited      files\n");
    const std::map<std::string, double> values = Values(ProcessCollector(proc.root()));
    CHECK(values.size() == 1);
    CHECK(values.count("process_open_fds") == 1);
  }
  SECTION("a stat with a field that is not a number") {
    FakeProc proc;
    std::string stat = kStat;
    stat.replace(stat.find(" 250 "), 5, " x50 ");
    proc.Write("self/stat", stat);
    proc.Write("self/limits", kLimits);
    const std::map<std::string, double> values = Values(ProcessCollector(proc.root()));
    CHECK(values.count("process_cpu_seconds_total") == 0);
    CHECK(values.count("process_max_fds") == 1);
  }
  SECTION("the stat's fields, but no boot time: everything but the start time") {
    FakeProc proc;
    proc.Write("self/stat", kStat);
    const std::map<std::string, double> values = Values(ProcessCollector(proc.root()));
    CHECK(values.count("process_cpu_seconds_total") == 1);
    CHECK(values.count("process_start_time_seconds") == 0);
  }
}

TEST_CASE("this process's families follow what it does, and promtool accepts them",
          "[metrics]") {
  const ProcessCollector collector;
  const std::map<std::string, double> before = Values(collector);
  REQUIRE(before.size() == 6);

  rlimit files{};
  REQUIRE(getrlimit(RLIMIT_NOFILE, &files) == 0);
  CHECK(before.at("process_max_fds") == static_cast<double>(files.rlim_cur));
  const double now = static_cast<double>(std::time(nullptr));
  CHECK(before.at("process_start_time_seconds") <= now + 1);
  CHECK(before.at("process_start_time_seconds") > now - 24 * 3600);
  CHECK(before.at("process_virtual_memory_bytes") >= before.at("process_resident_memory_bytes"));

  // 10 pipes (20 descriptors), 64 MiB touched, and CPU burnt until getrusage has counted 0.2 s.
  int pipes[10][2];
  for (auto& pipe_fds : pipes) REQUIRE(pipe(pipe_fds) == 0);
  std::vector<char> memory(64 << 20);
  for (size_t i = 0; i < memory.size(); i += 4096) memory[i] = 1;
  const auto cpu_seconds = [] {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
           (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  };
  const double cpu_start = cpu_seconds();
  volatile double sink = 0;
  while (cpu_seconds() < cpu_start + 0.2) sink = sink + 1;

  const std::map<std::string, double> after = Values(collector);
  CHECK(after.at("process_open_fds") >= before.at("process_open_fds") + 20);
  CHECK(after.at("process_resident_memory_bytes") >=
        before.at("process_resident_memory_bytes") + (48 << 20));
  CHECK(after.at("process_cpu_seconds_total") >= before.at("process_cpu_seconds_total") + 0.15);
  CHECK(after.at("process_start_time_seconds") == before.at("process_start_time_seconds"));
  for (auto& pipe_fds : pipes) {
    close(pipe_fds[0]);
    close(pipe_fds[1]);
  }

  const std::string text = prometheus::TextSerializer().Serialize(collector.Collect());
  const CommandResult check = RunCommand("/usr/bin/promtool check metrics", text);
  INFO(text << check.output);
  CHECK(check.exit_code == 0);
}

}  // namespace
}  // namespace routeserve::testing
