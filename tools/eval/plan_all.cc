// PlanAll and ParallelFor (tools/eval/plan_all.h).
#include "tools/eval/plan_all.h"

#include <algorithm>
#include <atomic>
#include <optional>
#include <thread>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "planning/batching_planner.h"
#include "planning/reloading_proposer.h"

namespace routeserve::tools {

absl::StatusOr<std::vector<planning::PlanResult>> PlanAll(
    const config::Config& config, std::unique_ptr<planning::BatchProposer> proposer,
    const std::vector<const routing::RouteProblem*>& problems) {
  if (proposer == nullptr) {
    absl::StatusOr<std::unique_ptr<planning::BatchProposer>> created =
        planning::CreateProposer(config);
    if (!created.ok()) return created.status();
    proposer = *std::move(created);
  }
  planning::BatchingPlanner::Options options;
  options.proposer = std::move(proposer);
  absl::StatusOr<std::unique_ptr<planning::BatchingPlanner>> planner =
      planning::BatchingPlanner::Create(config, std::move(options));
  if (!planner.ok()) return planner.status();

  absl::Mutex mu;
  absl::CondVar answered_one;
  std::vector<std::optional<absl::StatusOr<planning::PlanResult>>> results(problems.size());
  int in_flight = 0;
  const int most_in_flight = std::max(1, config.batching.max_queue_size);
  auto record = [&](size_t i, absl::StatusOr<planning::PlanResult> result) {
    absl::MutexLock lock(&mu);
    results[i] = std::move(result);
    --in_flight;
    answered_one.Signal();
  };
  for (size_t i = 0; i < problems.size(); ++i) {
    {
      absl::MutexLock lock(&mu);
      while (in_flight >= most_in_flight) answered_one.Wait(&mu);
      ++in_flight;
    }
    planning::PlanRequest request;
    request.problem = *problems[i];
    const absl::Status submitted = (*planner)->Submit(
        std::move(request), [&record, i](absl::StatusOr<planning::PlanResult> result) {
          record(i, std::move(result));
        });
    if (!submitted.ok()) record(i, submitted);
  }
  (*planner)->Shutdown(absl::InfiniteDuration());
  std::vector<planning::PlanResult> answered;
  answered.reserve(problems.size());
  for (std::optional<absl::StatusOr<planning::PlanResult>>& result : results) {
    if (!result->ok()) return result->status();
    answered.push_back(**std::move(result));
  }
  return answered;
}

void ParallelFor(int n, int threads, const std::function<void(int)>& body) {
  std::atomic<int> next{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < std::max(1, threads); ++t) {
    pool.emplace_back([&] {
      for (int i = next++; i < n; i = next++) body(i);
    });
  }
  for (std::thread& thread : pool) thread.join();
}

}  // namespace routeserve::tools
