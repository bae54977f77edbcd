#include "planning/shadow_runner.h"

#include <exception>
#include <utility>
#include <vector>

#include "base/log.h"
#include "base/random.h"
#include "routing/evaluator.h"

namespace routeserve::planning {

double ShadowOutcome::delta_ratio() const {
  if (served_cost == 0) return shadow_cost == 0 ? 0 : 1;
  return (shadow_cost - served_cost) / served_cost;
}

ShadowRunner::ShadowRunner(Options options) : options_(std::move(options)) {
  thread_ = std::thread([this] { RunLoop(); });
}

ShadowRunner::~ShadowRunner() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    pending_.clear();
  }
  thread_.join();
}

void ShadowRunner::Offer(std::shared_ptr<const routing::Instance> instance, double served_cost,
                         int padded_size) {
  if (!base::DrawWithProbability(options_.ratio)) return;
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_ && pending_.size() < static_cast<size_t>(kMaxPending)) {
      pending_.push_back({std::move(instance), served_cost, padded_size});
      return;
    }
  }
  if (options_.on_dropped) options_.on_dropped();
}

void ShadowRunner::RunLoop() {
  while (true) {
    Job job;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](ShadowRunner* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
            return self->stopping_ || !self->pending_.empty();
          },
          this));
      if (stopping_) return;
      job = std::move(pending_.front());
      pending_.pop_front();
    }
    // Requests first: wait while any waits for an executor.
    while (options_.busy && options_.busy()) {
      absl::MutexLock lock(&mu_);
      if (mu_.AwaitWithTimeout(absl::Condition(&stopping_), kBusyPoll)) return;
    }
    try {
      Run(job);
    } catch (const std::exception& e) {
      base::Log("shadow: a shadow run failed: %s", e.what());
      if (options_.on_dropped) options_.on_dropped();
    }
  }
}

void ShadowRunner::Run(const Job& job) {
  const std::shared_ptr<ModelProposer> shadow = options_.shadow ? options_.shadow() : nullptr;
  if (shadow == nullptr) return;  // none now (the latest version is the one serving)
  const routing::Instance* const instances[] = {job.instance.get()};
  std::vector<absl::StatusOr<Proposal>> proposals =
      shadow->Propose(instances, BatchShape{.padded_size = job.padded_size, .executor = 0});
  if (proposals.size() != 1 || !proposals[0].ok()) {
    if (options_.on_dropped) options_.on_dropped();
    return;
  }
  const std::vector<int> order = shadow->Refine(*job.instance, *std::move(proposals[0]),
                                                absl::InfiniteFuture(), *batching::Clock::Real());
  const routing::RouteEvaluation evaluation = routing::Evaluate(*job.instance, order);
  if (options_.on_compared) {
    options_.on_compared({.version = shadow->model_version(),
                          .served_cost = job.served_cost,
                          .shadow_cost = evaluation.cost});
  }
}

}  // namespace routeserve::planning
