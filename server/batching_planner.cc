// BatchingPlanner: submission, the executor stage, the finishing stage, shutdown.
#include "server/batching_planner.h"

#include <algorithm>
#include <cstdint>
#include <exception>
#include <limits>
#include <optional>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "api/response.h"
#include "batching/policy.h"
#include "routing/evaluator.h"
#include "routing/instance.h"

namespace routeserve::server {

struct BatchingPlanner::Pending {
  routing::RouteProblem problem;
  int num_alternatives = 0;
  PlanCallback done;
  absl::Time submitted;
};

struct BatchingPlanner::Finishing {
  routing::RouteProblem problem;
  int num_alternatives = 0;
  PlanCallback done;
  // Not OK: the task's answer, with nothing to finish. OK: `instance` and `proposal` are set.
  absl::Status status;
  std::optional<routing::Instance> instance;
  Proposal proposal;
  absl::Duration queued;     // from Submit() to its batch's start
  absl::Duration inference;  // its batch's Propose()
  absl::Duration executor_wait;  // of `queued`, its batch's wait for a free executor
  int batch_size = 0;
};

namespace {

// Finishing jobs the refine pool holds per executor and task of a full batch: two batches' worth,
// so that an executor can hand on a batch while the pool still works on its previous one.
constexpr int64_t kRefineBatchesPerExecutor = 2;

int OnePerCore() {
  const unsigned hardware = std::thread::hardware_concurrency();
  return hardware > 0 ? static_cast<int>(hardware) : 1;  // 0 when the platform cannot tell
}

// True when `order` holds every stop index 0..num_stops-1 exactly once.
bool IsOrderOfStops(std::span<const int> order, int num_stops) {
  if (static_cast<int64_t>(order.size()) != num_stops) return false;
  std::vector<char> seen(num_stops, 0);
  for (const int stop : order) {
    if (stop < 0 || stop >= num_stops || seen[stop]) return false;
    seen[stop] = 1;
  }
  return true;
}

// The status Submit() answers for the batcher's refusal `why` of a task of `stops` stops.
absl::Status Refusal(const absl::Status& why, int stops, int largest_bucket) {
  switch (why.code()) {
    case absl::StatusCode::kResourceExhausted:
      return absl::ResourceExhaustedError("queue full");
    case absl::StatusCode::kUnavailable:
      return absl::UnavailableError("server is shutting down");
    case absl::StatusCode::kInvalidArgument:
      return absl::InvalidArgumentError(absl::StrCat(
          "stops: ", stops, " stops, more than the largest batching bucket holds (",
          largest_bucket, ")"));
    default:
      return why;
  }
}

// The answer of a task whose batch failed with an exception.
absl::Status FromException(absl::string_view stage, std::exception_ptr exception) {
  try {
    std::rethrow_exception(std::move(exception));
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat(stage, " failed: ", e.what()));
  } catch (...) {
    return absl::InternalError(absl::StrCat(stage, " failed with an unknown exception"));
  }
}

}  // namespace

int BatchingPlanner::ExecutorsFor(const Config& config) {
  return config.batching.executors > 0 ? config.batching.executors : OnePerCore();
}

absl::StatusOr<std::unique_ptr<BatchingPlanner>> BatchingPlanner::Create(const Config& config,
                                                                         Options options) {
  if (options.clock == nullptr) return absl::InvalidArgumentError("planner: clock is null");
  if (options.proposer == nullptr) {
    options.proposer = std::make_unique<SolverProposer>(config.solver);
  }
  const int executors = ExecutorsFor(config);

  WorkQueueOptions refine_options;
  refine_options.num_threads = config.server.worker_threads;
  refine_options.max_queue_size = static_cast<int>(std::clamp<int64_t>(
      kRefineBatchesPerExecutor * executors * config.batching.max_batch_size, 1,
      std::numeric_limits<int>::max()));
  refine_options.clock = options.clock;
  absl::StatusOr<std::unique_ptr<WorkQueue>> refine = WorkQueue::Create(refine_options);
  if (!refine.ok()) return refine.status();

  std::unique_ptr<BatchingPlanner> planner(
      new BatchingPlanner(config, std::move(options), std::move(refine).value()));

  batching::BatcherOptions batcher_options;
  batcher_options.bucket_sizes = config.batching.buckets;
  batcher_options.policy.max_batch_size = config.batching.max_batch_size;
  batcher_options.policy.max_queue_delay = config.batching.max_queue_delay;
  batcher_options.max_queue_size = config.batching.max_queue_size;
  batcher_options.executors = executors;
  batcher_options.clock = planner->clock_;
  BatchingPlanner* const self = planner.get();
  absl::StatusOr<std::unique_ptr<TaskBatcher>> batcher = TaskBatcher::Create(
      std::move(batcher_options),
      [self](batching::Batch<Pending>& batch) { self->RunBatch(batch); },
      [self](Pending& task, const absl::Status& why) { self->Drop(task, why); });
  if (!batcher.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("batching: ", batcher.status().message()));
  }
  planner->batcher_ = std::move(batcher).value();
  return planner;
}

BatchingPlanner::BatchingPlanner(const Config& config, Options options,
                                 std::unique_ptr<WorkQueue> refine)
    : objective_(config.objective), proposer_(std::move(options.proposer)),
      model_version_(proposer_->model_version()), clock_(options.clock),
      observer_(options.observer), refine_(std::move(refine)) {}

BatchingPlanner::~BatchingPlanner() { Shutdown(absl::ZeroDuration()); }

void BatchingPlanner::Shutdown(absl::Duration grace) {
  // The batcher first: its executors hand their last tasks to the pool before it closes.
  if (batcher_ != nullptr) batcher_->Shutdown(grace);
  refine_->Close();
  refine_->Join();
}

batching::BatcherStats BatchingPlanner::stats() const { return batcher_->stats(); }

const std::vector<int>& BatchingPlanner::bucket_sizes() const {
  return batcher_->options().bucket_sizes;
}

int BatchingPlanner::executors() const { return batcher_->options().executors; }

absl::Status BatchingPlanner::Submit(PlanRequest request, PlanCallback done) {
  batching::Task<Pending> task;
  task.size = static_cast<int>(request.problem.stops.size());
  task.deadline = request.deadline;
  if (request.is_cancelled) {
    // The batcher wants a const probe; the handlers' probes are not.
    auto probe = std::make_shared<absl::AnyInvocable<bool()>>(std::move(request.is_cancelled));
    task.is_cancelled = [probe] { return (*probe)(); };
  }
  task.payload = Pending{std::move(request.problem), request.num_alternatives, std::move(done),
                         clock_->Now()};
  const int stops = task.size;
  const absl::Status submitted = batcher_->Submit(task);
  if (!submitted.ok()) {
    // `task`, and `done` with it, is destroyed on return without being called.
    const absl::Status refusal = Refusal(submitted, stops, bucket_sizes().back());
    if (observer_ != nullptr) observer_->OnRefused(refusal);
    return refusal;
  }
  if (observer_ != nullptr) observer_->OnAccepted(batching::BucketFor(bucket_sizes(), stops));
  return absl::OkStatus();
}

void BatchingPlanner::Drop(Pending& task, const absl::Status& why) {
  if (observer_ != nullptr) observer_->OnDropped(why, clock_->Now() - task.submitted);
  std::exchange(task.done, nullptr)(why);
}

// ---------------------------------------------------------------------------------------------
// The executor stage.

void BatchingPlanner::RunBatch(batching::Batch<Pending>& batch) {
  int stops = 0;
  for (const Pending& task : batch.payloads) stops += static_cast<int>(task.problem.stops.size());
  const BatchInfo info{.bucket = batch.bucket,
                       .padded_size = batch.padded_size,
                       .batch_size = static_cast<int>(batch.payloads.size()),
                       .stops = stops,
                       .executor = batch.executor,
                       .executor_wait = batch.executor_wait,
                       .queued = batch.queued};
  if (observer_ != nullptr) observer_->OnBatchStart(info);
  // The wall: an exception answers the tasks that have no answer yet, here on the executor.
  absl::Status failure;
  try {
    BuildAndPropose(batch, info);
  } catch (...) {
    failure = FromException("batch", std::current_exception());
  }
  if (failure.ok()) return;
  for (Pending& task : batch.payloads) {
    if (task.done) std::exchange(task.done, nullptr)(failure);
  }
}

void BatchingPlanner::BuildAndPropose(batching::Batch<Pending>& batch, const BatchInfo& info) {
  const int batch_size = info.batch_size;
  // A failed Build is answered at once; the others go to the proposer together.
  std::vector<std::optional<routing::Instance>> instances(batch_size);
  std::vector<const routing::Instance*> built;
  std::vector<int> built_task;  // built[k] is the instance of task built_task[k]
  built.reserve(batch_size);
  built_task.reserve(batch_size);
  for (int i = 0; i < batch_size; ++i) {
    Pending& task = batch.payloads[i];
    absl::StatusOr<routing::Instance> instance = routing::Instance::Build(task.problem, objective_);
    if (!instance.ok()) {
      auto failed = std::make_shared<Finishing>();
      failed->done = std::exchange(task.done, nullptr);
      failed->status = instance.status();
      Finish(std::move(failed));
      continue;
    }
    instances[i].emplace(*std::move(instance));
    built.push_back(&*instances[i]);
    built_task.push_back(i);
  }
  if (built.empty()) return;

  const absl::Time start = clock_->Now();
  std::vector<absl::StatusOr<Proposal>> proposals = proposer_->Propose(
      built, BatchShape{.padded_size = batch.padded_size, .executor = batch.executor});
  const absl::Duration inference = clock_->Now() - start;
  if (observer_ != nullptr) observer_->OnBatchDone(info, inference);
  const bool one_each = proposals.size() == built.size();

  for (size_t k = 0; k < built.size(); ++k) {
    const int i = built_task[k];
    Pending& task = batch.payloads[i];
    auto finishing = std::make_shared<Finishing>();
    finishing->done = std::exchange(task.done, nullptr);
    if (!one_each) {
      finishing->status = absl::InternalError(absl::StrCat(
          "proposer returned ", proposals.size(), " results for ", built.size(), " problems"));
    } else if (!proposals[k].ok()) {
      finishing->status = proposals[k].status();
    } else {
      finishing->problem = std::move(task.problem);
      finishing->num_alternatives = task.num_alternatives;
      finishing->instance = std::move(instances[i]);
      finishing->proposal = *std::move(proposals[k]);
      finishing->queued = batch.queued[i];
      finishing->inference = inference;
      finishing->executor_wait = batch.executor_wait;
      finishing->batch_size = batch_size;
    }
    Finish(std::move(finishing));
  }
}

void BatchingPlanner::Finish(std::shared_ptr<Finishing> task) {
  bool handed_on = false;
  try {
    Job job;  // no deadline, no probe: a task whose batch ran is always finished
    job.run = [this, task](absl::Duration /*queued*/) { RunFinishing(*task); };
    handed_on = refine_->Submit(std::move(job)).ok();
  } catch (...) {
    // Out of memory on the way to the pool: finish here, as when it is full.
  }
  // The pool is full (the refused job is gone, `task` is not): finish here, slower but answered.
  if (!handed_on) RunFinishing(*task);
}

// ---------------------------------------------------------------------------------------------
// The finishing stage.

void BatchingPlanner::RunFinishing(Finishing& task) {
  const absl::Time start = clock_->Now();
  FinishedTask outcome;
  absl::StatusOr<v1::SuggestResponse> result;
  // The wall: an exception (std::bad_alloc above all) answers this task Internal.
  try {
    result = Respond(task, outcome);
  } catch (...) {
    result = FromException("finishing", std::current_exception());
  }
  outcome.refine = clock_->Now() - start;
  outcome.status = result.status();
  if (result.ok()) result->mutable_timings()->set_refine_s(absl::ToDoubleSeconds(outcome.refine));
  if (observer_ != nullptr) observer_->OnFinished(outcome);
  std::exchange(task.done, nullptr)(std::move(result));
}

// The proposal's other orders (the model's other decodings), as they were decoded: at most
// num_alternatives of them, cheapest first, skipping any the refinement turned the best into and
// any that is not an order of the stops.
void BatchingPlanner::AddAlternatives(const Finishing& task, const std::vector<int>& best,
                                      v1::SuggestResponse& response) const {
  if (task.num_alternatives <= 0) return;
  std::vector<routing::RouteEvaluation> evaluated;
  for (const std::vector<int>& order : task.proposal.alternatives) {
    if (order == best || !IsOrderOfStops(order, task.instance->num_stops())) continue;
    routing::RouteEvaluation evaluation = routing::Evaluate(*task.instance, order);
    if (evaluation.feasible()) evaluated.push_back(std::move(evaluation));
  }
  std::stable_sort(evaluated.begin(), evaluated.end(),
                   [](const auto& a, const auto& b) { return a.cost < b.cost; });
  const size_t count = std::min(evaluated.size(), static_cast<size_t>(task.num_alternatives));
  for (size_t i = 0; i < count; ++i) {
    api::ToRouteProto(task.problem, evaluated[i], response.add_alternatives());
  }
}

absl::StatusOr<v1::SuggestResponse> BatchingPlanner::Respond(const Finishing& task,
                                                             FinishedTask& outcome) const {
  if (!task.status.ok()) return task.status;
  const routing::Instance& instance = *task.instance;
  if (!IsOrderOfStops(task.proposal.order, instance.num_stops())) {
    return absl::InternalError(absl::StrCat("proposer returned an order that is not one of the ",
                                            instance.num_stops(), " stops"));
  }
  const v1::RouteSource source = task.proposal.source;
  if (source == v1::ROUTE_SOURCE_UNSPECIFIED) {
    return absl::InternalError("proposer returned a proposal without a source");
  }
  // Refinement's gain is measured only for an observer: one more evaluation of the route.
  if (observer_ != nullptr) {
    outcome.proposed_cost = routing::Evaluate(instance, task.proposal.order).cost;
  }
  const std::vector<int> order = proposer_->Refine(instance, task.proposal);
  if (!IsOrderOfStops(order, instance.num_stops())) {
    return absl::InternalError("refinement returned an order that is not one of the stops");
  }
  const routing::RouteEvaluation evaluation = routing::Evaluate(instance, order);
  outcome.route_cost = evaluation.cost;
  outcome.lateness_s = evaluation.lateness_s;
  v1::SuggestResponse response;
  api::ToRouteProto(task.problem, evaluation, response.mutable_route());
  AddAlternatives(task, order, response);
  response.set_source(source);
  response.set_model_version(model_version_);
  v1::ServerTimings* timings = response.mutable_timings();
  timings->set_queue_s(absl::ToDoubleSeconds(task.queued));
  timings->set_inference_s(absl::ToDoubleSeconds(task.inference));
  timings->set_executor_wait_s(absl::ToDoubleSeconds(task.executor_wait));
  timings->set_batch_size(task.batch_size);
  return response;
}

}  // namespace routeserve::server
