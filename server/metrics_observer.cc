// MetricsObserver: each hook records, then forwards.
#include "server/metrics_observer.h"

#include <string>

#include "absl/status/status.h"

namespace routeserve::server {

metrics::ModelLabels MetricsObserver::Serving() const {
  return {.model = model_, .version = version_ ? version_() : std::string()};
}

void MetricsObserver::OnAccepted(int bucket) {
  if (batching_ != nullptr) batching_->OnAccepted(bucket);
}

void MetricsObserver::OnRefused(const absl::Status& why) {
  // The handler answers the refusal; requests_total counts it there.
  if (batching_ != nullptr) batching_->OnRefused(why);
}

void MetricsObserver::OnBatchStart(const planning::BatchInfo& batch) {
  const metrics::ModelLabels serving = Serving();
  for (const absl::Duration queued : batch.queued) {
    metrics_->TaskQueued(serving, batch.bucket, queued);
  }
  const double padded = static_cast<double>(batch.batch_size) * batch.padded_size;
  metrics_->BatchFormed(serving, batch.batch_size, padded > 0 ? 1.0 - batch.stops / padded : 0.0);
  if (batching_ != nullptr) batching_->OnBatchStart(batch);
}

void MetricsObserver::OnBatchDone(const planning::BatchInfo& batch, absl::Duration inference) {
  metrics_->BatchInferred(Serving(), batch.bucket, inference);
  if (batching_ != nullptr) batching_->OnBatchDone(batch, inference);
}

void MetricsObserver::OnDropped(int bucket, const absl::Status& why, absl::Duration queued) {
  metrics_->TaskQueued(Serving(), bucket, queued);
  if (batching_ != nullptr) batching_->OnDropped(bucket, why, queued);
}

void MetricsObserver::OnFinished(const planning::FinishedTask& task) {
  // Under the version that proposed it (empty when the classical solver answered instead).
  const metrics::ModelLabels answered = {.model = model_, .version = task.model_version};
  metrics_->TaskFinished(answered, task.refine);
  if (task.status.ok()) {
    metrics_->RouteAnswered(answered, task.proposed_cost, task.route_cost, task.lateness_s);
  }
  if (batching_ != nullptr) batching_->OnFinished(task);
}

void MetricsObserver::OnArrived(RouteMethod method) {
  metrics_->RequestArrived();
  if (service_ != nullptr) service_->OnArrived(method);
}

void MetricsObserver::OnAnswered(RouteMethod method, grpc::StatusCode code,
                                 absl::Duration latency) {
  const absl::string_view name = RouteMethodName(method);
  // gRPC's codes are Abseil's, number for number; the label is the canonical name.
  metrics_->RequestAnswered(std::string_view(name.data(), name.size()),
                            absl::StatusCodeToString(static_cast<absl::StatusCode>(code)),
                            latency);
  if (service_ != nullptr) service_->OnAnswered(method, code, latency);
}

void MetricsObserver::OnStreamOpened() {
  if (service_ != nullptr) service_->OnStreamOpened();
}

void MetricsObserver::OnStreamClosed(grpc::StatusCode code) {
  if (service_ != nullptr) service_->OnStreamClosed(code);
}

}  // namespace routeserve::server
