// The report of a routeserve-bench run as a table, as JSON, and as a progress line.
#include "tools/bench/bench_report.h"

#include <cmath>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"

namespace routeserve::bench {
namespace {

constexpr double kNsPerMs = 1e6;

// Writes one JSON value, objects nested, commas where they belong. Numbers that are not finite
// are written as null (JSON has no NaN or infinity).
class JsonWriter {
 public:
  JsonWriter& BeginObject(const std::string& key = "") {
    Prefix(key);
    out_ += '{';
    first_.push_back(true);
    return *this;
  }
  JsonWriter& EndObject() {
    first_.pop_back();
    out_ += '}';
    return *this;
  }
  JsonWriter& BeginArray(const std::string& key) {
    Prefix(key);
    out_ += '[';
    first_.push_back(true);
    return *this;
  }
  JsonWriter& EndArray() {
    first_.pop_back();
    out_ += ']';
    return *this;
  }
  JsonWriter& Number(const std::string& key, double value) {
    Prefix(key);
    out_ += std::isfinite(value) ? absl::StrFormat("%.9g", value) : "null";
    return *this;
  }
  JsonWriter& Integer(const std::string& key, int64_t value) {
    Prefix(key);
    absl::StrAppend(&out_, value);
    return *this;
  }
  JsonWriter& Bool(const std::string& key, bool value) {
    Prefix(key);
    out_ += value ? "true" : "false";
    return *this;
  }
  JsonWriter& String(const std::string& key, const std::string& value) {
    Prefix(key);
    AppendQuoted(value);
    return *this;
  }
  std::string Take() { return std::move(out_); }

 private:
  // The comma before a sibling, and the key inside an object ("" inside an array).
  void Prefix(const std::string& key) {
    if (!first_.empty()) {
      if (!first_.back()) out_ += ',';
      first_.back() = false;
    }
    if (!key.empty()) {
      AppendQuoted(key);
      out_ += ':';
    }
  }
  void AppendQuoted(const std::string& text) {
    out_ += '"';
    for (const char c : text) {
      switch (c) {
        case '"': out_ += "\\\""; break;
        case '\\': out_ += "\\\\"; break;
        case '\n': out_ += "\\n"; break;
        case '\r': out_ += "\\r"; break;
        case '\t': out_ += "\\t"; break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) {
            out_ += absl::StrFormat("\\u%04x", static_cast<int>(c));
          } else {
            out_ += c;
          }
      }
    }
    out_ += '"';
  }

  std::string out_;
  std::vector<bool> first_;
};

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

std::string FormatReportJson(const BenchReport& report) {
  const BenchOptions& options = report.options;
  const LoadResult& load = report.load;
  const Figures figures = WorkOut(report);
  JsonWriter json;
  json.BeginObject()
      .String("mode", options.mode == LoadMode::kClosedLoop ? "closed_loop" : "open_loop")
      .String("rpc", std::string(RpcName(options.rpc)))
      .String("target", options.target);
  if (options.mode == LoadMode::kClosedLoop) {
    json.Integer("concurrency", options.concurrency);
  } else {
    json.Number("rate_per_s", options.rate_per_s)
        .Integer("max_outstanding", options.max_outstanding);
  }
  json.Integer("channels", options.channels)
      .Number("warmup_s", absl::ToDoubleSeconds(options.warmup))
      .Number("duration_s", absl::ToDoubleSeconds(options.duration))
      .Number("deadline_s", absl::ToDoubleSeconds(options.deadline))
      .Integer("requests", options.requests)
      .String("stops", options.stops.ToString())
      .String("windows", std::string(WindowsName(options.windows)))
      .Bool("matrix", options.matrix)
      .String("seed", absl::StrCat(options.seed))
      .Number("counted_s", figures.counted_s);
  if (options.mode == LoadMode::kOpenLoop) {
    json.Integer("due", load.due)
        .Number("offered_per_s", figures.offered_per_s)
        .Integer("skipped", load.skipped)
        .BeginObject("start_lag_ms")
        .Number("p99", figures.start_lag_p99_ms)
        .Number("max", figures.start_lag_max_ms)
        .EndObject();
  }
  json.Integer("answers", load.answered)
      .Integer("ok", load.ok)
      .Integer("non_ok", figures.non_ok)
      .Number("answers_per_s", figures.answers_per_s)
      .Number("ok_per_s", figures.ok_per_s);
  json.BeginObject("latency_ms");
  for (const auto& [label, ms] : figures.latency_ms) {
    json.Number(label == "p99.9" ? "p99_9" : label, ms);
  }
  json.EndObject();
  json.BeginObject("codes");
  for (const auto& [code, count] : load.answers_by_code) {
    json.Integer(StatusCodeName(code), count);
  }
  json.EndObject();
  json.BeginObject("latency_ms_by_code");
  for (const auto& [code, latency] : load.latency_by_code) {
    const CodeLatency figures_ms = CodeLatencyOf(latency);
    json.BeginObject(StatusCodeName(code))
        .Number("p50", figures_ms.p50_ms)
        .Number("p99", figures_ms.p99_ms)
        .Number("max", figures_ms.max_ms)
        .EndObject();
  }
  json.EndObject();
  json.Integer("routes_checked", report.routes.checked)
      .Integer("routes_checked_inline", report.routes.checked_inline)
      .Integer("bad_routes", report.routes.bad);
  json.BeginArray("bad_route_examples");
  for (const std::string& example : report.routes.bad_examples) json.String("", example);
  json.EndArray();
  json.BeginObject("server")
      .Number("mean_batch_size", figures.mean_batch_size)
      .Number("mean_queue_s", figures.mean_queue_s)
      .Number("mean_executor_wait_s", figures.mean_executor_wait_s)
      .Number("mean_inference_s", figures.mean_inference_s)
      .Number("mean_refine_s", figures.mean_refine_s)
      .EndObject();
  json.BeginObject("sources");
  for (const auto& [source, count] : load.ok_by_source) json.Integer(SourceName(source), count);
  json.EndObject();
  json.EndObject();
  return json.Take() + "\n";
}

std::string FormatProgressLine(const LoadProgress& progress, double rate_per_s) {
  return absl::StrFormat(
      "[%5.1f s] %-7s  answered %d  rate %.0f/s  p99 %.2f ms  errors %d  outstanding %d",
      absl::ToDoubleSeconds(progress.elapsed), progress.warming_up ? "warmup" : "counted",
      progress.answered, rate_per_s, static_cast<double>(progress.ok_p99_ns) / kNsPerMs,
      progress.errors, progress.outstanding);
}

}  // namespace routeserve::bench
