// ServingMetrics: routeserve's Prometheus metric families (each one is described in
// docs/METRICS.md) in one registry, recorded through methods named for what happened; the
// families whose values live elsewhere (queue depth, fallbacks), read when scraped; and the
// process_* families (metrics/process_collector.h).
//
// NAMES: routeserve's own families are prefixed "routeserve_". Labels are few-valued: method
//   (2), code (the 17 gRPC codes), bucket (the configured bucket sizes), reason (4); never ids.
// BUCKETS: latencies 100 µs .. 10 s (1-2.5-5 per decade); batch sizes the powers of two up to
//   the largest batch; padding in tenths; the refine gain finer near 0; lateness 0 .. 2 days
//   (a route's lateness is summed over its stops: tight windows run to hours).
//   docs/METRICS.md lists them.
// COST: each call is a few atomic additions; RequestAnswered also finds its series by its labels
//   under the family's lock (two short critical sections per request).
// SCRAPE: Collect() is the registry's families plus the sampled ones, built from what the
//   sampler returns at that moment; without a sampler they are left out.
// THREADING: all methods are thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "metrics/process_collector.h"
#include "prometheus/collectable.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace routeserve::metrics {

inline constexpr char kPrefix[] = "routeserve_";

struct ServingMetricsOptions {
  std::vector<int> bucket_sizes;  // the batcher's buckets, in stops: the {bucket} label values
  int max_batch_size = 64;        // the largest batch: batch_size's top bucket
  // build_info's labels: the release, the source's git revision ("unknown" outside a git
  // checkout), the LibTorch linked and whether it was built with CUDA.
  std::string version;
  std::string revision = "unknown";
  std::string libtorch = "unknown";
  bool cuda = false;
};

// Values kept by others, read at each scrape.
struct ScrapeSample {
  std::vector<int64_t> queue_depth;  // tasks waiting, per bucket in bucket_sizes' order
  // Requests answered by the classical solver in the model's place since start-up, by reason.
  std::vector<std::pair<std::string, int64_t>> fallbacks;
  // Executors the watchdog took out of service since start-up (batching/batcher.h).
  int64_t executors_stuck = 0;
  // Requests captured (capture.*) since start-up: lines written, and those dropped.
  struct Captured {
    int64_t written = 0;
    int64_t dropped = 0;
  } captured;
  // The serving models' batch shapes x executors captured as CUDA graphs, and those whose
  // capture failed (run eagerly).
  struct CudaGraphs {
    int64_t captured = 0;
    int64_t failed = 0;
  } cuda_graphs;
};

// The labels of a model's per-stage series: the model's name (model.name, or model.path's
// directory) and the version that served (model_version); both empty for the classical solver.
struct ModelLabels {
  std::string model;
  std::string version;
};

class ServingMetrics final : public prometheus::Collectable {
 public:
  explicit ServingMetrics(ServingMetricsOptions options);
  ~ServingMetrics() override;

  // The handlers. A request is a Suggest call or one SuggestStream message: it arrives, and is
  // answered once with a gRPC code name ("OK", "INVALID_ARGUMENT") `latency` later.
  void RequestArrived();
  void RequestAnswered(std::string_view method, std::string_view code, absl::Duration latency);

  // The batcher: a task of bucket `bucket` (an index into bucket_sizes) waited `queued` in its
  // queue (run or dropped); a batch of `batch_size` tasks formed, with `padding_ratio` of its
  // padded stops (batch_size x bucket size) being padding; the proposal of a batch of bucket
  // `bucket` took `inference`. Each by the model that serves it (`model`).
  void TaskQueued(const ModelLabels& model, int bucket, absl::Duration queued);
  void BatchFormed(const ModelLabels& model, int batch_size, double padding_ratio);
  void BatchInferred(const ModelLabels& model, int bucket, absl::Duration inference);

  // The finishing stage: a task was refined and answered in `refine`; with a route, the cost of
  // the order proposed and of the route answered (routing objective units), and its lateness.
  void TaskFinished(const ModelLabels& model, absl::Duration refine);
  void RouteAnswered(const ModelLabels& model, double proposed_cost, double route_cost,
                     double lateness_s);

  // Makes `model`'s per-stage series (empty) before its first task, so that a scrape shows
  // the families from the start; the calls above make them when they are missing.
  void AddStageSeries(const ModelLabels& model) { Stages(model); }

  // model_info{name,version,device,precision} 1, one series per model name; absent until set
  // (no model, no family). A later call for the same name (a version swapped in) replaces its
  // series.
  void SetModelInfo(const std::string& name, const std::string& version,
                    const std::string& device, const std::string& precision);
  // A model reload ended with `result` ("swapped", "unchanged", "failed"): model_reloads_total.
  void ModelReloaded(std::string_view result);
  // A shadow run (planning/shadow_runner.h) of model `name`'s version `version` gave a route
  // `delta_ratio` dearer than the one answered (negative: cheaper); one was dropped.
  void ShadowCompared(const std::string& name, const std::string& version, double delta_ratio);
  void ShadowDropped();
  // The sampler is called at each scrape, on the scraping thread; it must outlive this object
  // or be replaced by an empty one first.
  void SetSampler(std::function<ScrapeSample()> sampler);

  // For other families of the same exposition (the GPU sampler's).
  prometheus::Registry& registry() { return *registry_; }

  std::vector<prometheus::MetricFamily> Collect() const override;

  // Implementation details follow.
 private:
  const ServingMetricsOptions options_;
  const std::shared_ptr<prometheus::Registry> registry_;

  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& request_duration_;
  prometheus::Gauge& inflight_;
  // The per-stage families, and their series of each model version seen (made on first use).
  struct StageSeries;
  StageSeries& Stages(const ModelLabels& model);
  prometheus::Family<prometheus::Histogram>& queue_duration_;
  prometheus::Family<prometheus::Histogram>& inference_duration_;
  prometheus::Family<prometheus::Histogram>& refine_duration_;
  prometheus::Family<prometheus::Histogram>& batch_size_;
  prometheus::Family<prometheus::Histogram>& batch_padding_;
  prometheus::Family<prometheus::Histogram>& cost_improvement_;
  prometheus::Family<prometheus::Histogram>& lateness_;
  std::mutex stages_mu_;
  // guarded by stages_mu_; keyed by model and version
  std::map<std::pair<std::string, std::string>, std::unique_ptr<StageSeries>> stages_;
  prometheus::Family<prometheus::Gauge>& model_info_;
  std::mutex model_info_mu_;
  std::map<std::string, prometheus::Gauge*> model_info_series_;  // by name; model_info_mu_
  prometheus::Family<prometheus::Counter>& model_reloads_;
  prometheus::Family<prometheus::Histogram>& shadow_delta_;
  prometheus::Family<prometheus::Counter>& shadow_routes_;
  prometheus::Counter& shadow_dropped_;

  const ProcessCollector process_;

  mutable std::mutex sampler_mu_;
  std::function<ScrapeSample()> sampler_;  // guarded by sampler_mu_
};

// The bucket boundaries, for tests and docs/METRICS.md.
std::vector<double> LatencyBuckets();
std::vector<double> BatchSizeBuckets(int max_batch_size);
std::vector<double> LatenessBuckets();
std::vector<double> ShadowDeltaBuckets();

}  // namespace routeserve::metrics
