// MetricsObserver: the serving stages' observers (planning/batching_planner.h,
// server/route_service.h) recording into metrics::ServingMetrics (metrics/serving_metrics.h).
// RouteServer (server/server.h) puts one in front of the observers of its hooks.
//
// FORWARDING: each hook is passed on, after recording, to the observer the server's hooks name
//   (tests hold batches that way), so metrics and tests see the same events.
// COST: per request, a few atomic additions, a series looked up by its labels and one
//   status-code name; per finished route, one more evaluation (refinement's gain,
//   planning/batching_planner.cc).
// THREADING: as the observer interfaces: thread-safe, never blocking (a forwarded hook may).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "metrics/serving_metrics.h"
#include "planning/batching_planner.h"
#include "server/route_service.h"

namespace routeserve::server {

class MetricsObserver final : public planning::BatchingObserver, public RouteServiceObserver {
 public:
  // The version a model serves now; empty: the classical solver's (no version).
  using VersionSource = std::function<std::string()>;

  // `metrics` outlives the observer; `batching` and `service` (may be null) are forwarded to.
  // The batching hooks record under `model`'s name and the version `version` gives when the
  // batch runs (a finished task, under the version that proposed it).
  MetricsObserver(metrics::ServingMetrics* metrics, planning::BatchingObserver* batching,
                  RouteServiceObserver* service, std::string model = {},
                  VersionSource version = {})
      : metrics_(metrics),
        batching_(batching),
        service_(service),
        model_(std::move(model)),
        version_(std::move(version)) {}

  // planning::BatchingObserver.
  void OnAccepted(int bucket) override;
  void OnRefused(const absl::Status& why) override;
  void OnBatchStart(const planning::BatchInfo& batch) override;
  void OnBatchDone(const planning::BatchInfo& batch, absl::Duration inference) override;
  void OnDropped(int bucket, const absl::Status& why, absl::Duration queued) override;
  void OnFinished(const planning::FinishedTask& task) override;

  // RouteServiceObserver.
  void OnArrived(RouteMethod method) override;
  void OnAnswered(RouteMethod method, grpc::StatusCode code, absl::Duration latency) override;
  void OnStreamOpened() override;
  void OnStreamClosed(grpc::StatusCode code) override;

 private:
  // The labels of the model version serving now.
  metrics::ModelLabels Serving() const;

  metrics::ServingMetrics* const metrics_;
  planning::BatchingObserver* const batching_;
  RouteServiceObserver* const service_;
  const std::string model_;
  const VersionSource version_;
};

}  // namespace routeserve::server
