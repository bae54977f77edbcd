// The report: the JSON parses back (protobuf's JSON reader into a Struct) with the figures the
// table shows, strings escaped, on one line; throughput is answers over the counted time.
#include <catch2/catch.hpp>

#include <string>

#include "absl/strings/match.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "tools/bench/bench_report.h"

namespace routeserve::bench {
namespace {

BenchReport SampleReport(LoadMode mode) {
  BenchReport report;
  report.options.mode = mode;
  report.options.rate_per_s = 250;
  report.options.duration = absl::Seconds(4);
  report.options.target = "127.0.0.1:1234";
  LoadResult& load = report.load;
  for (int i = 1; i <= 100; ++i) load.ok_latency.Record(i * 1'000'000);  // 1..100 ms
  for (int i = 1; i <= 120; ++i) load.start_lag.Record(i * 1'000);       // 1..120 us
  load.answers_by_code[grpc::StatusCode::OK] = 100;
  load.answers_by_code[grpc::StatusCode::RESOURCE_EXHAUSTED] = 20;
  for (int i = 1; i <= 100; ++i) load.latency_by_code[grpc::StatusCode::OK].Record(i * 1'000'000);
  for (int i = 1; i <= 20; ++i) {
    load.latency_by_code[grpc::StatusCode::RESOURCE_EXHAUSTED].Record(i * 100'000);  // 0.1..2 ms
  }
  load.ok_by_source[v1::ROUTE_SOURCE_HEURISTIC] = 100;
  load.due = 1000;
  load.skipped = 3;
  load.answered = 120;
  load.ok = 100;
  load.queue_s = 0.5;
  load.inference_s = 0.25;
  load.refine_s = 1;
  load.batch_size = 400;
  load.counted_for = absl::Seconds(5);
  report.routes.checked = 130;
  report.routes.bad = 2;
  report.routes.bad_examples = {"bench-1: \"quoted\"\nnext line\\", "bench-2: no route"};
  return report;
}

std::string Json(const BenchReport& report) {
  const absl::StatusOr<std::string> json = FormatReportJson(report);
  REQUIRE(json.ok());
  return *json;
}

google::protobuf::Struct ParseJson(const std::string& json) {
  google::protobuf::Struct parsed;
  const auto status = google::protobuf::util::JsonStringToMessage(json, &parsed);
  INFO(json);
  REQUIRE(status.ok());
  return parsed;
}

double NumberAt(const google::protobuf::Struct& object, const std::string& key) {
  INFO(key);
  REQUIRE(object.fields().count(key) == 1);
  return object.fields().at(key).number_value();
}

TEST_CASE("FormatReportJson: the open loop's figures, as JSON that parses back") {
  const std::string json = Json(SampleReport(LoadMode::kOpenLoop));
  CHECK(json.back() == '\n');
  CHECK(json.find('\n') == json.size() - 1);
  const google::protobuf::Struct report = ParseJson(json);
  CHECK(report.fields().at("mode").string_value() == "open_loop");
  CHECK(report.fields().at("rpc").string_value() == "unary");
  CHECK(report.fields().at("target").string_value() == "127.0.0.1:1234");
  CHECK(NumberAt(report, "rate_per_s") == 250);
  CHECK(NumberAt(report, "answers") == 120);
  CHECK(NumberAt(report, "ok") == 100);
  CHECK(NumberAt(report, "non_ok") == 20);
  CHECK(NumberAt(report, "answers_per_s") == Approx(24));  // 120 answers over 5 s counted
  CHECK(NumberAt(report, "ok_per_s") == Approx(20));
  CHECK(NumberAt(report, "offered_per_s") == Approx(250));  // 1000 due over the 4 s window
  CHECK(NumberAt(report, "skipped") == 3);
  CHECK(NumberAt(report, "bad_routes") == 2);
  CHECK(NumberAt(report, "routes_checked") == 130);
  const google::protobuf::Struct& lag = report.fields().at("start_lag_ms").struct_value();
  CHECK(NumberAt(lag, "p99") == Approx(0.119).epsilon(0.005));
  CHECK(NumberAt(lag, "max") == Approx(0.120));

  const google::protobuf::Struct& latency = report.fields().at("latency_ms").struct_value();
  CHECK(NumberAt(latency, "p50") == Approx(50).epsilon(0.005));
  CHECK(NumberAt(latency, "p99") == Approx(99).epsilon(0.005));
  CHECK(NumberAt(latency, "p99_9") == Approx(100));
  CHECK(NumberAt(latency, "max") == Approx(100));
  CHECK(NumberAt(latency, "mean") == Approx(50.5));

  const google::protobuf::Struct& codes = report.fields().at("codes").struct_value();
  CHECK(NumberAt(codes, "OK") == 100);
  CHECK(NumberAt(codes, "RESOURCE_EXHAUSTED") == 20);
  CHECK(codes.fields().size() == 2);

  const google::protobuf::Struct& by_code =
      report.fields().at("latency_ms_by_code").struct_value();
  CHECK(by_code.fields().size() == 2);
  const google::protobuf::Struct& ok_latency = by_code.fields().at("OK").struct_value();
  CHECK(NumberAt(ok_latency, "p50") == Approx(50).epsilon(0.005));
  CHECK(NumberAt(ok_latency, "p99") == Approx(99).epsilon(0.005));
  CHECK(NumberAt(ok_latency, "max") == Approx(100));
  const google::protobuf::Struct& refused =
      by_code.fields().at("RESOURCE_EXHAUSTED").struct_value();
  CHECK(NumberAt(refused, "p50") == Approx(1.0).epsilon(0.005));  // 10th of 20
  CHECK(NumberAt(refused, "p99") == Approx(2.0));                 // 20th of 20: the max
  CHECK(NumberAt(refused, "max") == Approx(2.0));

  const google::protobuf::Struct& server = report.fields().at("server").struct_value();
  CHECK(NumberAt(server, "mean_batch_size") == Approx(4));
  CHECK(NumberAt(server, "mean_queue_s") == Approx(0.005));
  CHECK(NumberAt(server, "mean_inference_s") == Approx(0.0025));
  CHECK(NumberAt(server, "mean_refine_s") == Approx(0.01));
  CHECK(NumberAt(report.fields().at("sources").struct_value(), "HEURISTIC") == 100);

  const auto& examples = report.fields().at("bad_route_examples").list_value();
  REQUIRE(examples.values_size() == 2);
  CHECK(examples.values(0).string_value() == "bench-1: \"quoted\"\nnext line\\");
}

TEST_CASE("FormatReportJson: the closed loop has its concurrency and no offered rate") {
  const google::protobuf::Struct report =
      ParseJson(Json(SampleReport(LoadMode::kClosedLoop)));
  CHECK(report.fields().at("mode").string_value() == "closed_loop");
  CHECK(NumberAt(report, "concurrency") == 8);
  CHECK(report.fields().count("offered_per_s") == 0);
  CHECK(report.fields().count("rate_per_s") == 0);
}

TEST_CASE("FormatReportJson: an empty run is valid JSON with zeros") {
  BenchReport report;
  report.load.counted_for = report.options.duration;
  const google::protobuf::Struct parsed = ParseJson(Json(report));
  CHECK(NumberAt(parsed, "answers") == 0);
  CHECK(NumberAt(parsed.fields().at("latency_ms").struct_value(), "p99") == 0);
  CHECK(parsed.fields().at("latency_ms_by_code").struct_value().fields().empty());
}

TEST_CASE("FormatReportTable: one line per figure") {
  const std::string table = FormatReportTable(SampleReport(LoadMode::kOpenLoop));
  INFO(table);
  for (const char* line :
       {"offered/s", "skipped", "answers/s", "OK answers/s", "latency p50 ms", "latency p99.9 ms",
        "latency max ms", "code RESOURCE_EXHAUSTED", "code RESOURCE_EXHAUSTED ms", "bad routes",
        "mean batch size",
        "mean queue ms", "mean inference ms", "mean refine ms", "source HEURISTIC"}) {
    CHECK(absl::StrContains(table, std::string("\n") + line + " "));
  }
  CHECK_FALSE(
      absl::StrContains(FormatReportTable(SampleReport(LoadMode::kClosedLoop)), "offered/s"));
}

}  // namespace
}  // namespace routeserve::bench
