// BatchingPlanner: submission, the executor stage, the finishing stage, shutdown.
#include "server/batching_planner.h"

#include <algorithm>
#include <cstdint>
#include <exception>
#include <limits>
#include <optional>
#include <thread>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "api/response.h"
#include "batching/policy.h"
#include "routing/evaluator.h"
#include "routing/instance.h"
#include "server/log.h"

namespace routeserve::server {

struct BatchingPlanner::Call {
  routing::RouteProblem problem;
  int num_alternatives = 0;
  absl::Time deadline;
  absl::Time submitted;
  // True for the first caller only, who then calls `done`: the executor's path, the
  // scheduling thread's drop, or the watchdog's, whichever comes first.
  bool Claim() { return !claimed.exchange(true, std::memory_order_acq_rel); }
  std::atomic<bool> claimed{false};
  // Its batch started: its answer took the server's work (admission by deadline counts the
  // pace of those answers only, not of calls dropped from the queue).
  std::atomic<bool> ran{false};
  PlanCallback done;
};

struct BatchingPlanner::Pending {
  std::shared_ptr<Call> call;
};

struct BatchingPlanner::Finishing {
  std::shared_ptr<Call> call;  // claimed: its `done` is this task's to call
  // The watchdog's: the classical solver proposes, here on the pool, in place of the batch
  // that never came back.
  bool stand_in = false;
  // Not OK: the task's answer, with nothing to finish. OK: `instance` and `proposal` are set
  // (by RunFinishing, for a stand-in).
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

// The status Submit() answers for the batcher's refusal `why` of a task of `stops` stops;
// `none_in_service`: every executor is out of service.
absl::Status Refusal(const absl::Status& why, int stops, int largest_bucket,
                     bool none_in_service) {
  switch (why.code()) {
    case absl::StatusCode::kResourceExhausted:
      return absl::ResourceExhaustedError("queue full");
    case absl::StatusCode::kUnavailable:
      if (none_in_service) {
        return absl::UnavailableError(
            "no executor in service: every one is stuck in a batch; the server awaits a "
            "restart");
      }
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
  batcher_options.stuck_after = config.batching.executor_stuck_after;
  batcher_options.clock = planner->clock_;
  BatchingPlanner* const self = planner.get();
  absl::StatusOr<std::unique_ptr<TaskBatcher>> batcher = TaskBatcher::Create(
      std::move(batcher_options),
      [self](batching::Batch<Pending>& batch) { self->RunBatch(batch); },
      [self](Pending& task, const absl::Status& why) { self->Drop(task, why); },
      [self](int executor, absl::Duration running, int in_service) {
        self->ExecutorStuck(executor, running, in_service);
      });
  if (!batcher.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("batching: ", batcher.status().message()));
  }
  planner->batcher_ = std::move(batcher).value();
  return planner;
}

BatchingPlanner::BatchingPlanner(const Config& config, Options options,
                                 std::unique_ptr<WorkQueue> refine)
    : objective_(config.objective), proposer_(std::move(options.proposer)),
      stand_in_(config.solver, v1::ROUTE_SOURCE_FALLBACK_HEURISTIC),
      model_version_(proposer_->model_version()), clock_(options.clock),
      observer_(options.observer), on_executor_stuck_(std::move(options.on_executor_stuck)),
      refine_(std::move(refine)), running_(ExecutorsFor(config)),
      admit_by_deadline_(config.batching.admit_by_deadline) {}

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
  const absl::Time now = clock_->Now();
  if (admit_by_deadline_) {
    if (absl::Status admitted = admission_.Check(request.deadline, now); !admitted.ok()) {
      if (observer_ != nullptr) observer_->OnRefused(admitted);
      return admitted;
    }
  }
  auto call = std::make_shared<Call>();
  call->problem = std::move(request.problem);
  call->num_alternatives = request.num_alternatives;
  call->deadline = request.deadline;
  call->submitted = now;
  // Every answer, whichever path gives it, passes here once: admission counts it. The call
  // outlives its `done`, which it owns.
  call->done = [this, call = call.get(),
                done = std::move(done)](absl::StatusOr<v1::SuggestResponse> result) mutable {
    admission_.OnAnswered(clock_->Now(), /*served=*/call->ran.load(std::memory_order_acquire));
    done(std::move(result));
  };
  task.payload = Pending{std::move(call)};
  const int stops = task.size;
  TaskBatcher::TaskId id = 0;
  admission_.OnAccepted(now);  // before its answer can come
  const absl::Status submitted = batcher_->Submit(task, &id);
  if (!submitted.ok()) {
    admission_.OnNotAccepted();
    // `task`, and `done` with it, is destroyed on return without being called.
    const bool none_in_service = executors_stuck() >= executors();
    const absl::Status refusal =
        Refusal(submitted, stops, bucket_sizes().back(), none_in_service);
    if (observer_ != nullptr) observer_->OnRefused(refusal);
    return refusal;
  }
  if (observer_ != nullptr) observer_->OnAccepted(batching::BucketFor(bucket_sizes(), stops));
  if (request.cancellation != nullptr) {
    // Cancel() only queues the drop for the scheduling thread: `done` never runs from here.
    request.cancellation->OnCancel([batcher = batcher_.get(), id] { batcher->Cancel(id); });
  }
  return absl::OkStatus();
}

void BatchingPlanner::Drop(Pending& task, const absl::Status& why) {
  Call& call = *task.call;
  if (!call.Claim()) return;  // never so: only a batch's tasks are claimed elsewhere
  if (observer_ != nullptr) {
    const int bucket =
        batching::BucketFor(bucket_sizes(), static_cast<int>(call.problem.stops.size()));
    observer_->OnDropped(bucket, why, clock_->Now() - call.submitted);
  }
  std::exchange(call.done, nullptr)(why);
}

bool BatchingPlanner::TakenByWatchdog(int executor) const {
  absl::MutexLock lock(&running_mu_);
  return running_[executor].taken;
}

void BatchingPlanner::ExecutorStuck(int executor, absl::Duration running, int in_service) {
  std::vector<std::shared_ptr<Call>> calls;
  {
    absl::MutexLock lock(&running_mu_);
    running_[executor].taken = true;
    calls = running_[executor].calls;
  }
  Log("batching: executor %d is stuck: its batch of %d has run for %s "
      "(batching.executor_stuck_after_s); it is out of service for good, %d left in service",
      executor, static_cast<int>(calls.size()), absl::FormatDuration(running), in_service);
  // First, so that by the time a caller has its answer, health and the observer know.
  if (observer_ != nullptr) observer_->OnExecutorStuck(executor, running, in_service);
  if (on_executor_stuck_) on_executor_stuck_(in_service);
  const absl::Time now = clock_->Now();
  const int batch_size = static_cast<int>(calls.size());
  for (const std::shared_ptr<Call>& call : calls) {
    if (!call->Claim()) continue;  // answered already, by the executor's own path
    auto finishing = std::make_shared<Finishing>();
    finishing->call = call;
    if (now >= call->deadline) {
      finishing->status = absl::DeadlineExceededError(
          "the executor running its batch is stuck, and the deadline has passed");
    } else {
      finishing->stand_in = true;
      finishing->inference = running;
      finishing->queued = std::max(absl::ZeroDuration(), now - call->submitted - running);
      finishing->batch_size = batch_size;
    }
    Finish(std::move(finishing));
  }
}

// ---------------------------------------------------------------------------------------------
// The executor stage.

void BatchingPlanner::RunBatch(batching::Batch<Pending>& batch) {
  int stops = 0;
  for (const Pending& task : batch.payloads) {
    stops += static_cast<int>(task.call->problem.stops.size());
  }
  const BatchInfo info{.bucket = batch.bucket,
                       .padded_size = batch.padded_size,
                       .batch_size = static_cast<int>(batch.payloads.size()),
                       .stops = stops,
                       .executor = batch.executor,
                       .executor_wait = batch.executor_wait,
                       .queued = batch.queued};
  {
    // What the watchdog answers should this batch never come back.
    absl::MutexLock lock(&running_mu_);
    Running& running = running_[batch.executor];
    running.taken = false;
    running.calls.clear();
    for (const Pending& task : batch.payloads) {
      task.call->ran.store(true, std::memory_order_release);
      running.calls.push_back(task.call);
    }
  }
  if (observer_ != nullptr) observer_->OnBatchStart(info);
  // The wall: an exception answers the tasks that have no answer yet, here on the executor.
  absl::Status failure;
  try {
    BuildAndPropose(batch, info);
  } catch (...) {
    failure = FromException("batch", std::current_exception());
  }
  if (!failure.ok()) {
    for (Pending& task : batch.payloads) {
      if (task.call->Claim()) std::exchange(task.call->done, nullptr)(failure);
    }
  }
  absl::MutexLock lock(&running_mu_);
  running_[batch.executor].calls.clear();
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
    absl::StatusOr<routing::Instance> instance =
        routing::Instance::Build(task.call->problem, objective_);
    if (!instance.ok()) {
      if (!task.call->Claim()) continue;  // the watchdog answered it
      auto failed = std::make_shared<Finishing>();
      failed->call = task.call;
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
  // Back after the watchdog gave up on it: its tasks have their answers; drop the results,
  // and say nothing to the observer, which may be gone by now.
  if (TakenByWatchdog(batch.executor)) return;
  if (observer_ != nullptr) observer_->OnBatchDone(info, inference);
  const bool one_each = proposals.size() == built.size();

  for (size_t k = 0; k < built.size(); ++k) {
    const int i = built_task[k];
    Pending& task = batch.payloads[i];
    if (!task.call->Claim()) continue;  // the watchdog answered it
    auto finishing = std::make_shared<Finishing>();
    finishing->call = task.call;
    if (!one_each) {
      finishing->status = absl::InternalError(absl::StrCat(
          "proposer returned ", proposals.size(), " results for ", built.size(), " problems"));
    } else if (!proposals[k].ok()) {
      finishing->status = proposals[k].status();
    } else {
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
    if (task.stand_in && task.status.ok()) {
      if (clock_->Now() >= task.call->deadline) {
        task.status = absl::DeadlineExceededError(
            "the executor running its batch is stuck, and the deadline has passed");
      } else {
        absl::StatusOr<routing::Instance> instance =
            routing::Instance::Build(task.call->problem, objective_);
        if (instance.ok()) {
          task.instance.emplace(*std::move(instance));
          task.proposal = stand_in_.ProposeOne(*task.instance);
          stuck_fallbacks_.fetch_add(1, std::memory_order_relaxed);
        } else {
          task.status = instance.status();
        }
      }
    }
    result = Respond(task, outcome);
  } catch (...) {
    result = FromException("finishing", std::current_exception());
  }
  outcome.refine = clock_->Now() - start;
  outcome.status = result.status();
  if (result.ok()) result->mutable_timings()->set_refine_s(absl::ToDoubleSeconds(outcome.refine));
  if (observer_ != nullptr) observer_->OnFinished(outcome);
  std::exchange(task.call->done, nullptr)(std::move(result));
}

// The proposal's other orders (the model's other decodings), as they were decoded: at most
// num_alternatives of them, cheapest first, skipping any the refinement turned the best into and
// any that is not an order of the stops.
void BatchingPlanner::AddAlternatives(const Finishing& task, const std::vector<int>& best,
                                      v1::SuggestResponse& response) const {
  const int num_alternatives = task.call->num_alternatives;
  if (num_alternatives <= 0) return;
  std::vector<routing::RouteEvaluation> evaluated;
  for (const std::vector<int>& order : task.proposal.alternatives) {
    if (order == best || !IsOrderOfStops(order, task.instance->num_stops())) continue;
    routing::RouteEvaluation evaluation = routing::Evaluate(*task.instance, order);
    if (evaluation.feasible()) evaluated.push_back(std::move(evaluation));
  }
  std::stable_sort(evaluated.begin(), evaluated.end(),
                   [](const auto& a, const auto& b) { return a.cost < b.cost; });
  const size_t count = std::min(evaluated.size(), static_cast<size_t>(num_alternatives));
  for (size_t i = 0; i < count; ++i) {
    api::ToRouteProto(task.call->problem, evaluated[i], response.add_alternatives());
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
  const BatchProposer& refiner =
      task.stand_in ? static_cast<const BatchProposer&>(stand_in_) : *proposer_;
  const std::vector<int> order = refiner.Refine(instance, task.proposal);
  if (!IsOrderOfStops(order, instance.num_stops())) {
    return absl::InternalError("refinement returned an order that is not one of the stops");
  }
  const routing::RouteEvaluation evaluation = routing::Evaluate(instance, order);
  outcome.route_cost = evaluation.cost;
  outcome.lateness_s = evaluation.lateness_s;
  v1::SuggestResponse response;
  api::ToRouteProto(task.call->problem, evaluation, response.mutable_route());
  AddAlternatives(task, order, response);
  response.set_source(source);
  // The model's version and time only where the model made the route: the classical solver's
  // answers, by configuration or standing in, carry neither (the API's comments say so).
  const bool from_model =
      source == v1::ROUTE_SOURCE_MODEL || source == v1::ROUTE_SOURCE_MODEL_REFINED;
  if (from_model) response.set_model_version(model_version_);
  v1::ServerTimings* timings = response.mutable_timings();
  timings->set_queue_s(absl::ToDoubleSeconds(task.queued));
  timings->set_inference_s(from_model ? absl::ToDoubleSeconds(task.inference) : 0.0);
  timings->set_executor_wait_s(absl::ToDoubleSeconds(task.executor_wait));
  timings->set_batch_size(task.batch_size);
  return response;
}

}  // namespace routeserve::server
