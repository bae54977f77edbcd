// The report of a routeserve-bench run as a table, as JSON, and as a progress line.
#include "tools/bench/bench_report.h"

#include <cmath>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "tools/common/json.h"

namespace routeserve::bench {
namespace {

namespace json = tools::json;

constexpr double kNsPerMs = 1e6;

// The figures both formats show, worked out once.
struct Figures {
  double counted_s = 0;
  double answers_per_s = 0;
  double ok_per_s = 0;
  double offered_per_s = 0;
  int64_t non_ok = 0;
  double mean_batch_size = 0;
  double mean_queue_s = 0;
  double mean_executor_wait_s = 0;
  double mean_inference_s = 0;
  double mean_refine_s = 0;
  double start_lag_p99_ms = 0;
  double start_lag_max_ms = 0;
  // Quantile label, value in ms.
  std::vector<std::pair<std::string, double>> latency_ms;
};

Figures WorkOut(const BenchReport& report) {
  const LoadResult& load = report.load;
  Figures figures;
  figures.counted_s = absl::ToDoubleSeconds(load.counted_for);
  const double window_s = absl::ToDoubleSeconds(report.options.duration);
  if (figures.counted_s > 0) {
    figures.answers_per_s = static_cast<double>(load.answered) / figures.counted_s;
    figures.ok_per_s = static_cast<double>(load.ok) / figures.counted_s;
  }
  if (window_s > 0) figures.offered_per_s = static_cast<double>(load.due) / window_s;
  figures.non_ok = load.answered - load.ok;
  if (load.ok > 0) {
    const double ok = static_cast<double>(load.ok);
    figures.mean_batch_size = load.batch_size / ok;
    figures.mean_queue_s = load.queue_s / ok;
    figures.mean_executor_wait_s = load.executor_wait_s / ok;
    figures.mean_inference_s = load.inference_s / ok;
    figures.mean_refine_s = load.refine_s / ok;
  }
  figures.start_lag_p99_ms = static_cast<double>(load.start_lag.ValueAtQuantile(0.99)) / kNsPerMs;
  figures.start_lag_max_ms = static_cast<double>(load.start_lag.max_ns()) / kNsPerMs;
  const LatencyHistogram& latency = load.ok_latency;
  for (const auto& [label, q] : std::vector<std::pair<std::string, double>>{
           {"p50", 0.5}, {"p90", 0.9}, {"p99", 0.99}, {"p99.9", 0.999}}) {
    figures.latency_ms.emplace_back(label,
                                    static_cast<double>(latency.ValueAtQuantile(q)) / kNsPerMs);
  }
  figures.latency_ms.emplace_back("max", static_cast<double>(latency.max_ns()) / kNsPerMs);
  figures.latency_ms.emplace_back("mean", latency.mean_ns() / kNsPerMs);
  return figures;
}

// p50, p99 and max of one status code's answers, in ms.
struct CodeLatency {
  double p50_ms = 0;
  double p99_ms = 0;
  double max_ms = 0;
};

CodeLatency CodeLatencyOf(const LatencyHistogram& latency) {
  return {static_cast<double>(latency.ValueAtQuantile(0.5)) / kNsPerMs,
          static_cast<double>(latency.ValueAtQuantile(0.99)) / kNsPerMs,
          static_cast<double>(latency.max_ns()) / kNsPerMs};
}

std::string SourceName(v1::RouteSource source) {
  const std::string name = v1::RouteSource_Name(source);
  return name.empty() ? absl::StrCat(static_cast<int>(source))
                      : std::string(absl::StripPrefix(name, "ROUTE_SOURCE_"));
}

std::string ModeLine(const BenchOptions& options) {
  if (options.mode == LoadMode::kClosedLoop) {
    return absl::StrCat("closed loop, concurrency ", options.concurrency);
  }
  return absl::StrFormat("open loop (Poisson), rate %.1f/s", options.rate_per_s);
}

}  // namespace

std::string StatusCodeName(grpc::StatusCode code) {
  // gRPC's codes are Abseil's, number for number.
  const std::string name = absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
  return name.empty() ? absl::StrCat("CODE_", static_cast<int>(code)) : name;
}

std::string FormatReportTable(const BenchReport& report) {
  const BenchOptions& options = report.options;
  const LoadResult& load = report.load;
  const Figures figures = WorkOut(report);
  std::string out;
  const auto line = [&out](const std::string& label, const std::string& value) {
    absl::StrAppendFormat(&out, "%-26s %s\n", label, value);
  };
  absl::StrAppend(&out, "# routeserve-bench: ", ModeLine(options), ", ",
                  std::string(RpcName(options.rpc)), ", ", options.channels,
                  " channels, target ", options.target, "\n");
  absl::StrAppend(&out, "# requests: ", options.requests, " generated, stops ",
                  options.stops.ToString(), ", windows ", std::string(WindowsName(options.windows)),
                  options.matrix ? ", caller matrix" : "", ", seed ", options.seed,
                  absl::StrFormat("; warmup %.1f s, counted %.1f s (last answer at %.2f s)\n",
                                  absl::ToDoubleSeconds(options.warmup),
                                  absl::ToDoubleSeconds(options.duration), figures.counted_s));
  if (options.mode == LoadMode::kOpenLoop) {
    line("offered/s", absl::StrFormat("%.1f", figures.offered_per_s));
    line("skipped", absl::StrCat(load.skipped, " (arrivals that found ", options.max_outstanding,
                                 " calls outstanding)"));
    line("start lag p99 ms", absl::StrFormat("%.3f", figures.start_lag_p99_ms));
    line("start lag max ms", absl::StrFormat("%.3f", figures.start_lag_max_ms));
  }
  line("answers", absl::StrCat(load.answered));
  line("answers/s", absl::StrFormat("%.1f", figures.answers_per_s));
  line("OK answers/s", absl::StrFormat("%.1f", figures.ok_per_s));
  for (const auto& [label, ms] : figures.latency_ms) {
    line(absl::StrCat("latency ", label, " ms"), absl::StrFormat("%.3f", ms));
  }
  for (const auto& [code, count] : load.answers_by_code) {
    line(absl::StrCat("code ", StatusCodeName(code)), absl::StrCat(count));
  }
  for (const auto& [code, latency] : load.latency_by_code) {
    const CodeLatency figures_ms = CodeLatencyOf(latency);
    line(absl::StrCat("code ", StatusCodeName(code), " ms"),
         absl::StrFormat("p50 %.3f  p99 %.3f  max %.3f", figures_ms.p50_ms, figures_ms.p99_ms,
                         figures_ms.max_ms));
  }
  line("bad routes", absl::StrCat(report.routes.bad, " of ", report.routes.checked,
                                  " checked (warmup included)"));
  line("mean batch size", absl::StrFormat("%.2f", figures.mean_batch_size));
  line("mean queue ms", absl::StrFormat("%.3f", figures.mean_queue_s * 1e3));
  line("mean executor wait ms", absl::StrFormat("%.3f", figures.mean_executor_wait_s * 1e3));
  line("mean inference ms", absl::StrFormat("%.3f", figures.mean_inference_s * 1e3));
  line("mean refine ms", absl::StrFormat("%.3f", figures.mean_refine_s * 1e3));
  for (const auto& [source, count] : load.ok_by_source) {
    line(absl::StrCat("source ", SourceName(source)), absl::StrCat(count));
  }
  return out;
}

absl::StatusOr<std::string> FormatReportJson(const BenchReport& report) {
  const BenchOptions& options = report.options;
  const LoadResult& load = report.load;
  const Figures figures = WorkOut(report);
  json::Object out;
  out.Set("mode", json::String(options.mode == LoadMode::kClosedLoop ? "closed_loop" : "open_loop"))
      .Set("rpc", json::String(std::string(RpcName(options.rpc))))
      .Set("target", json::String(options.target));
  if (options.mode == LoadMode::kClosedLoop) {
    out.Set("concurrency", json::Number(options.concurrency));
  } else {
    out.Set("rate_per_s", json::Number(options.rate_per_s))
        .Set("max_outstanding", json::Number(options.max_outstanding));
  }
  out.Set("channels", json::Number(options.channels))
      .Set("warmup_s", json::Number(absl::ToDoubleSeconds(options.warmup)))
      .Set("duration_s", json::Number(absl::ToDoubleSeconds(options.duration)))
      .Set("deadline_s", json::Number(absl::ToDoubleSeconds(options.deadline)))
      .Set("requests", json::Number(options.requests))
      .Set("stops", json::String(options.stops.ToString()))
      .Set("windows", json::String(std::string(WindowsName(options.windows))))
      .Set("matrix", json::Bool(options.matrix))
      // A string: a 64-bit seed is not exact as a JSON number.
      .Set("seed", json::String(absl::StrCat(options.seed)))
      .Set("counted_s", json::Number(figures.counted_s));
  if (options.mode == LoadMode::kOpenLoop) {
    out.Set("due", json::Number(load.due))
        .Set("offered_per_s", json::Number(figures.offered_per_s))
        .Set("skipped", json::Number(load.skipped))
        .Set("start_lag_ms", json::Object()
                                 .Set("p99", json::Number(figures.start_lag_p99_ms))
                                 .Set("max", json::Number(figures.start_lag_max_ms))
                                 .Build());
  }
  out.Set("answers", json::Number(load.answered))
      .Set("ok", json::Number(load.ok))
      .Set("non_ok", json::Number(figures.non_ok))
      .Set("answers_per_s", json::Number(figures.answers_per_s))
      .Set("ok_per_s", json::Number(figures.ok_per_s));
  json::Object latency;
  for (const auto& [label, ms] : figures.latency_ms) {
    latency.Set(label == "p99.9" ? "p99_9" : label, json::Number(ms));
  }
  out.Set("latency_ms", std::move(latency).Build());
  json::Object codes, latency_by_code;
  for (const auto& [code, count] : load.answers_by_code) {
    codes.Set(StatusCodeName(code), json::Number(count));
  }
  for (const auto& [code, histogram] : load.latency_by_code) {
    const CodeLatency figures_ms = CodeLatencyOf(histogram);
    latency_by_code.Set(StatusCodeName(code), json::Object()
                                                  .Set("p50", json::Number(figures_ms.p50_ms))
                                                  .Set("p99", json::Number(figures_ms.p99_ms))
                                                  .Set("max", json::Number(figures_ms.max_ms))
                                                  .Build());
  }
  out.Set("codes", std::move(codes).Build())
      .Set("latency_ms_by_code", std::move(latency_by_code).Build());
  std::vector<json::Value> examples;
  for (const std::string& example : report.routes.bad_examples) {
    examples.push_back(json::String(example));
  }
  out.Set("routes_checked", json::Number(report.routes.checked))
      .Set("routes_checked_inline", json::Number(report.routes.checked_inline))
      .Set("bad_routes", json::Number(report.routes.bad))
      .Set("bad_route_examples", json::List(std::move(examples)));
  out.Set("server", json::Object()
                        .Set("mean_batch_size", json::Number(figures.mean_batch_size))
                        .Set("mean_queue_s", json::Number(figures.mean_queue_s))
                        .Set("mean_executor_wait_s", json::Number(figures.mean_executor_wait_s))
                        .Set("mean_inference_s", json::Number(figures.mean_inference_s))
                        .Set("mean_refine_s", json::Number(figures.mean_refine_s))
                        .Build());
  json::Object sources;
  for (const auto& [source, count] : load.ok_by_source) {
    sources.Set(SourceName(source), json::Number(count));
  }
  out.Set("sources", std::move(sources).Build());
  absl::StatusOr<std::string> text = json::ToJson(std::move(out).Build(), json::Layout::kOneLine);
  if (!text.ok()) return text.status();
  return *text + "\n";
}

std::string FormatProgressLine(const LoadProgress& progress, double rate_per_s) {
  return absl::StrFormat(
      "[%5.1f s] %-7s  answered %d  rate %.0f/s  p99 %.2f ms  errors %d  outstanding %d",
      absl::ToDoubleSeconds(progress.elapsed), progress.warming_up ? "warmup" : "counted",
      progress.answered, rate_per_s, static_cast<double>(progress.ok_p99_ns) / kNsPerMs,
      progress.errors, progress.outstanding);
}

}  // namespace routeserve::bench
