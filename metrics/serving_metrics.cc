// ServingMetrics: the families, their buckets, and the sampled families.
#include "metrics/serving_metrics.h"

#include <algorithm>
#include <string>
#include <utility>

namespace routeserve::metrics {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;
using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

std::string Name(std::string_view suffix) { return std::string(kPrefix) + std::string(suffix); }

// Ratios in [0, 1]: tenths.
const std::vector<double>& TenthsBuckets() {
  static const auto* const buckets =
      new std::vector<double>{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9};
  return *buckets;
}

// The refine gain is mostly small: fine buckets near 0, and 0 itself (no gain).
const std::vector<double>& ImprovementBuckets() {
  static const auto* const buckets =
      new std::vector<double>{0, 0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5};
  return *buckets;
}

prometheus::Family<prometheus::Histogram>& AddFamily(prometheus::Registry& registry,
                                                     std::string_view name,
                                                     const std::string& help) {
  return BuildHistogram().Name(Name(name)).Help(help).Register(registry);
}

ClientMetric Sampled(std::string label, std::string value, double number, MetricType type) {
  ClientMetric metric;
  metric.label.push_back({std::move(label), std::move(value)});
  if (type == MetricType::Counter) {
    metric.counter.value = number;
  } else {
    metric.gauge.value = number;
  }
  return metric;
}

}  // namespace

std::vector<double> LatencyBuckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,     10};
}

// Lateness of a route, summed over its stops, in seconds: on time .. two days. Tight windows
// over many stops run to hours; the top buckets tell an hour from a day.
std::vector<double> LatenessBuckets() {
  return {0,    1,    5,    15,   30,    60,    120,   300,
          600,  1800, 3600, 7200, 14400, 28800, 86400, 172800};
}

std::vector<double> ShadowDeltaBuckets() {
  return {-0.2, -0.1, -0.05, -0.02, -0.01, -0.005, -0.001, -1e-9,
          1e-9, 0.001, 0.005, 0.01,  0.02,  0.05,  0.1,    0.2};
}

std::vector<double> BatchSizeBuckets(int max_batch_size) {
  std::vector<double> buckets;
  for (int size = 1; size < max_batch_size; size *= 2) buckets.push_back(size);
  buckets.push_back(std::max(max_batch_size, 1));
  return buckets;
}

ServingMetrics::ServingMetrics(ServingMetricsOptions options)
    : options_(std::move(options)),
      registry_(std::make_shared<prometheus::Registry>()),
      requests_(BuildCounter()
                    .Name(Name("requests_total"))
                    .Help("Requests answered: Suggest calls, and SuggestStream messages one by "
                          "one, by method and gRPC status code.")
                    .Register(*registry_)),
      request_duration_(BuildHistogram()
                            .Name(Name("request_duration_seconds"))
                            .Help("Server-side time from a request's arrival to its answer, in "
                                  "seconds, by method.")
                            .Register(*registry_)),
      inflight_(BuildGauge()
                    .Name(Name("inflight_requests"))
                    .Help("Requests arrived and not yet answered.")
                    .Register(*registry_)
                    .Add({})),
      queue_duration_(AddFamily(*registry_, "queue_duration_seconds",
                                "Time a task waited in the batcher's queue before its batch "
                                "started (or it was dropped), in seconds, by model, version and "
                                "bucket.")),
      inference_duration_(AddFamily(*registry_, "inference_duration_seconds",
                                    "Time of one batch's proposal (the model's forward pass, or "
                                    "the classical solver's insertion), in seconds, by model, "
                                    "version and bucket.")),
      refine_duration_(AddFamily(*registry_, "refine_duration_seconds",
                                 "Time a task spent in the finishing stage (refinement, "
                                 "evaluation, the response), in seconds, by model and version.")),
      batch_size_(AddFamily(*registry_, "batch_size", "Tasks per batch, by model and version.")),
      batch_padding_(AddFamily(*registry_, "batch_padding_ratio",
                               "Share of a batch's padded stops (tasks x bucket size) that are "
                               "padding, by model and version.")),
      cost_improvement_(AddFamily(*registry_, "route_cost_improvement_ratio",
                                  "Refinement's gain: (proposed cost - answered cost) / proposed "
                                  "cost, per route answered, by model and version.")),
      lateness_(AddFamily(*registry_, "route_lateness_seconds",
                          "Lateness of an answered route, summed over its stops, in seconds, by "
                          "model and version.")),
      model_info_(BuildGauge()
                      .Name(Name("model_info"))
                      .Help("The route model serving (value 1); absent without a model.")
                      .Register(*registry_)),
      model_reloads_(BuildCounter()
                         .Name(Name("model_reloads_total"))
                         .Help("Model reloads (SIGHUP), by result: swapped (a new model "
                               "serves), unchanged (the same files), failed (the new model was "
                               "refused; the old one serves).")
                         .Register(*registry_)),
      shadow_delta_(BuildHistogram()
                        .Name(Name("shadow_cost_delta_ratio"))
                        .Help("Shadow runs (model.shadow_version): (shadow route's cost - "
                              "answered route's cost) / answered route's cost, by the shadow's "
                              "model name and version; below 0 the shadow did better.")
                        .Register(*registry_)),
      shadow_routes_(BuildCounter()
                         .Name(Name("shadow_routes_total"))
                         .Help("Shadow runs by the shadow's model name and version and by "
                               "result: better, worse or equal (within 1e-9) than the route "
                               "answered.")
                         .Register(*registry_)),
      shadow_dropped_(BuildCounter()
                          .Name(Name("shadow_dropped_total"))
                          .Help("Requests drawn for a shadow run and dropped: too many waiting "
                                "for an idle moment, or the run failed.")
                          .Register(*registry_)
                          .Add({})) {
  for (const char* result : {"swapped", "unchanged", "failed"}) {
    model_reloads_.Add({{"result", result}});
  }
  BuildGauge()
      .Name(Name("build_info"))
      .Help("The routeserve build (value 1): its version, git revision, and the LibTorch it "
            "links, with or without CUDA.")
      .Register(*registry_)
      .Add({{"version", options_.version},
            {"revision", options_.revision},
            {"libtorch", options_.libtorch},
            {"cuda", options_.cuda ? "true" : "false"}})
      .Set(1);
}

ServingMetrics::~ServingMetrics() = default;

void ServingMetrics::RequestArrived() { inflight_.Increment(); }

void ServingMetrics::RequestAnswered(std::string_view method, std::string_view code,
                                     absl::Duration latency) {
  inflight_.Decrement();
  const std::string method_label(method);
  requests_.Add({{"method", method_label}, {"code", std::string(code)}}).Increment();
  request_duration_.Add({{"method", method_label}}, LatencyBuckets())
      .Observe(absl::ToDoubleSeconds(latency));
}

// One model version's series of the per-stage families.
struct ServingMetrics::StageSeries {
  std::vector<prometheus::Histogram*> queue_duration;      // per bucket
  std::vector<prometheus::Histogram*> inference_duration;  // per bucket
  prometheus::Histogram* refine_duration = nullptr;
  prometheus::Histogram* batch_size = nullptr;
  prometheus::Histogram* batch_padding = nullptr;
  prometheus::Histogram* cost_improvement = nullptr;
  prometheus::Histogram* lateness = nullptr;
};

ServingMetrics::StageSeries& ServingMetrics::Stages(const ModelLabels& model) {
  std::lock_guard lock(stages_mu_);
  std::unique_ptr<StageSeries>& series = stages_[{model.model, model.version}];
  if (series != nullptr) return *series;
  series = std::make_unique<StageSeries>();
  const prometheus::Labels labels = {{"model", model.model}, {"version", model.version}};
  for (const int size : options_.bucket_sizes) {
    prometheus::Labels bucket = labels;
    bucket.emplace("bucket", std::to_string(size));
    series->queue_duration.push_back(&queue_duration_.Add(bucket, LatencyBuckets()));
    series->inference_duration.push_back(&inference_duration_.Add(bucket, LatencyBuckets()));
  }
  series->refine_duration = &refine_duration_.Add(labels, LatencyBuckets());
  series->batch_size = &batch_size_.Add(labels, BatchSizeBuckets(options_.max_batch_size));
  series->batch_padding = &batch_padding_.Add(labels, TenthsBuckets());
  series->cost_improvement = &cost_improvement_.Add(labels, ImprovementBuckets());
  series->lateness = &lateness_.Add(labels, LatenessBuckets());
  return *series;
}

void ServingMetrics::TaskQueued(const ModelLabels& model, int bucket, absl::Duration queued) {
  if (bucket < 0 || bucket >= static_cast<int>(options_.bucket_sizes.size())) return;
  Stages(model).queue_duration[bucket]->Observe(absl::ToDoubleSeconds(queued));
}

void ServingMetrics::BatchFormed(const ModelLabels& model, int batch_size, double padding_ratio) {
  StageSeries& series = Stages(model);
  series.batch_size->Observe(batch_size);
  series.batch_padding->Observe(padding_ratio);
}

void ServingMetrics::BatchInferred(const ModelLabels& model, int bucket,
                                   absl::Duration inference) {
  if (bucket < 0 || bucket >= static_cast<int>(options_.bucket_sizes.size())) return;
  Stages(model).inference_duration[bucket]->Observe(absl::ToDoubleSeconds(inference));
}

void ServingMetrics::TaskFinished(const ModelLabels& model, absl::Duration refine) {
  Stages(model).refine_duration->Observe(absl::ToDoubleSeconds(refine));
}

void ServingMetrics::RouteAnswered(const ModelLabels& model, double proposed_cost,
                                   double route_cost, double lateness_s) {
  StageSeries& series = Stages(model);
  // A proposal of no cost (a route that costs nothing) leaves nothing to gain.
  if (proposed_cost > 0) {
    series.cost_improvement->Observe((proposed_cost - route_cost) / proposed_cost);
  }
  series.lateness->Observe(lateness_s);
}

void ServingMetrics::SetModelInfo(const std::string& name, const std::string& version,
                                  const std::string& device, const std::string& precision) {
  std::lock_guard lock(model_info_mu_);
  prometheus::Gauge*& series = model_info_series_[name];
  if (series != nullptr) model_info_.Remove(series);
  series = &model_info_.Add(
      {{"name", name}, {"version", version}, {"device", device}, {"precision", precision}});
  series->Set(1);
}

void ServingMetrics::ShadowCompared(const std::string& name, const std::string& version,
                                    double delta_ratio) {
  shadow_delta_.Add({{"model", name}, {"version", version}}, ShadowDeltaBuckets())
      .Observe(delta_ratio);
  const char* result = delta_ratio < -1e-9 ? "better" : delta_ratio > 1e-9 ? "worse" : "equal";
  shadow_routes_.Add({{"model", name}, {"version", version}, {"result", result}}).Increment();
}

void ServingMetrics::ShadowDropped() { shadow_dropped_.Increment(); }

void ServingMetrics::ModelReloaded(std::string_view result) {
  model_reloads_.Add({{"result", std::string(result)}}).Increment();
}

void ServingMetrics::SetSampler(std::function<ScrapeSample()> sampler) {
  std::lock_guard lock(sampler_mu_);
  sampler_ = std::move(sampler);
}

std::vector<MetricFamily> ServingMetrics::Collect() const {
  std::vector<MetricFamily> families = registry_->Collect();
  for (MetricFamily& family : process_.Collect()) families.push_back(std::move(family));
  std::lock_guard lock(sampler_mu_);
  if (!sampler_) return families;
  const ScrapeSample sample = sampler_();

  MetricFamily depth{Name("queue_depth"), "Tasks waiting in the batcher's queue, by bucket.",
                     MetricType::Gauge, {}};
  const size_t buckets = std::min(sample.queue_depth.size(), options_.bucket_sizes.size());
  for (size_t i = 0; i < buckets; ++i) {
    depth.metric.push_back(Sampled("bucket", std::to_string(options_.bucket_sizes[i]),
                                   static_cast<double>(sample.queue_depth[i]), MetricType::Gauge));
  }
  families.push_back(std::move(depth));

  MetricFamily fallbacks{Name("fallback_total"),
                         "Requests the classical solver answered in the model's place, by "
                         "reason.",
                         MetricType::Counter, {}};
  for (const auto& [reason, count] : sample.fallbacks) {
    fallbacks.metric.push_back(
        Sampled("reason", reason, static_cast<double>(count), MetricType::Counter));
  }
  families.push_back(std::move(fallbacks));

  MetricFamily stuck{Name("executors_stuck"),
                     "Executors taken out of service because a batch ran past "
                     "batching.executor_stuck_after_s.",
                     MetricType::Gauge, {}};
  ClientMetric stuck_value;
  stuck_value.gauge.value = static_cast<double>(sample.executors_stuck);
  stuck.metric.push_back(std::move(stuck_value));
  families.push_back(std::move(stuck));

  MetricFamily captured{Name("captured_requests_total"),
                        "Answered requests captured to capture.path, by result: written, or "
                        "dropped (the writer behind, or the file failing); zero when capture "
                        "is off.",
                        MetricType::Counter, {}};
  for (const auto& [result, count] : {std::pair{"written", sample.captured.written},
                                      std::pair{"dropped", sample.captured.dropped}}) {
    captured.metric.push_back(
        Sampled("result", result, static_cast<double>(count), MetricType::Counter));
  }
  families.push_back(std::move(captured));

  MetricFamily graphs{Name("model_cuda_graphs"),
                      "Batch shapes x executors of the serving models whose forward pass runs "
                      "as a captured CUDA graph (captured), or eagerly because its capture "
                      "failed (eager); zero on the CPU and with model.cuda_graphs off.",
                      MetricType::Gauge, {}};
  for (const auto& [state, count] : {std::pair{"captured", sample.cuda_graphs.captured},
                                     std::pair{"eager", sample.cuda_graphs.failed}}) {
    graphs.metric.push_back(
        Sampled("state", state, static_cast<double>(count), MetricType::Gauge));
  }
  families.push_back(std::move(graphs));
  return families;
}

}  // namespace routeserve::metrics
