// PlanWithSolver and SolverPlanner.
#include "server/route_planner.h"

#include <exception>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "api/response.h"
#include "routing/evaluator.h"
#include "routing/instance.h"

namespace routeserve::server {

absl::StatusOr<v1::SuggestResponse> PlanWithSolver(const routing::RouteProblem& problem,
                                                   const routing::ObjectiveParams& objective,
                                                   const routing::SolverOptions& solver,
                                                   const batching::Clock& clock) {
  absl::StatusOr<routing::Instance> instance = routing::Instance::Build(problem, objective);
  if (!instance.ok()) return instance.status();

  const absl::Time solve_start = clock.Now();
  const routing::Solution solution = routing::Solve(*instance, solver);
  const absl::Duration solve_time = clock.Now() - solve_start;

  const routing::RouteEvaluation evaluation = routing::Evaluate(*instance, solution.order);
  v1::SuggestResponse response;
  api::ToRouteProto(problem, evaluation, response.mutable_route());
  // options.num_alternatives is not looked at: the classical solver keeps one route, and the
  // API allows fewer alternatives than asked. Alternatives come with the model's decodings.
  response.set_source(v1::ROUTE_SOURCE_HEURISTIC);
  v1::ServerTimings* timings = response.mutable_timings();
  timings->set_refine_s(absl::ToDoubleSeconds(solve_time));
  timings->set_inference_s(0);
  timings->set_batch_size(1);
  return response;
}

absl::StatusOr<std::unique_ptr<SolverPlanner>> SolverPlanner::Create(const Config& config,
                                                                     Options options) {
  if (options.clock == nullptr) return absl::InvalidArgumentError("planner: clock is null");
  WorkQueueOptions queue_options;
  queue_options.num_threads = config.server.worker_threads;
  queue_options.max_queue_size = config.server.max_queue_size;
  queue_options.clock = options.clock;
  queue_options.observer = options.queue_observer;
  absl::StatusOr<std::unique_ptr<WorkQueue>> queue = WorkQueue::Create(queue_options);
  if (!queue.ok()) return queue.status();
  return std::unique_ptr<SolverPlanner>(
      new SolverPlanner(config, options.clock, std::move(queue).value()));
}

SolverPlanner::SolverPlanner(const Config& config, const batching::Clock* clock,
                             std::unique_ptr<WorkQueue> queue)
    : objective_(config.objective), solver_(config.solver), clock_(clock),
      queue_(std::move(queue)) {}

SolverPlanner::~SolverPlanner() { Shutdown(); }

void SolverPlanner::Shutdown() {
  queue_->Close();
  queue_->Join();
}

absl::Status SolverPlanner::Submit(PlanRequest request, PlanCallback done) {
  // `run` and `drop` both need the callback and only one of them is called: they share it.
  auto shared_done = std::make_shared<PlanCallback>(std::move(done));
  auto problem = std::make_shared<routing::RouteProblem>(std::move(request.problem));

  Job job;
  job.deadline = request.deadline;
  job.is_cancelled = std::move(request.is_cancelled);
  job.run = [this, shared_done, problem](absl::Duration queued) {
    absl::StatusOr<v1::SuggestResponse> result;
    // The wall for exceptions (std::bad_alloc above all): they become a status here.
    try {
      result = PlanWithSolver(*problem, objective_, solver_, *clock_);
    } catch (const std::exception& e) {
      result = absl::InternalError(absl::StrCat("solver failed: ", e.what()));
    } catch (...) {
      result = absl::InternalError("solver failed with an unknown exception");
    }
    if (result.ok()) result->mutable_timings()->set_queue_s(absl::ToDoubleSeconds(queued));
    (*shared_done)(std::move(result));
  };
  job.drop = [shared_done](absl::Status why) { (*shared_done)(std::move(why)); };
  return queue_->Submit(std::move(job));
}

}  // namespace routeserve::server
