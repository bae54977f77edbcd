// BatchingPlanner without gRPC: generated problems through the batcher, a scripted proposer and
// the refine pool. Deterministic: time comes from a FakeClock (batches go when full, or when the
// test moves time or shuts down), executors are held in the observer, and every wait is on a
// condition bounded by a guard that only a broken planner reaches.
#include "planning/batching_planner.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "api/request.h"
#include "api/response.h"
#include "batching/clock.h"
#include "route_checks.h"
#include "routing/generator.h"
#include "routing/instance.h"
#include "routing/solver.h"
#include "tests/eventually.h"
#include "tests/notification.h"

namespace routeserve::planning {
namespace {

// Generous: only a broken planner makes a test wait this long.
constexpr absl::Duration kGuard = absl::Seconds(60);
// What each Propose() call costs on the planner's (fake) clock.
constexpr absl::Duration kInference = absl::Milliseconds(40);

// Batches of 3 in buckets of 8..128 stops, one executor, two refine threads; with a FakeClock
// that only the test moves, a batch goes when it is full (the delay is 10 s).
config::Config TestConfig(const std::vector<std::string>& overrides = {}) {
  std::vector<std::string> all = {"batching.max_batch_size=3",
                                  "batching.max_queue_delay_us=10000000", "batching.executors=1",
                                  "server.worker_threads=2"};
  all.insert(all.end(), overrides.begin(), overrides.end());
  absl::StatusOr<config::Config> config = config::ParseConfig("", all);
  INFO(config.status().ToString());
  REQUIRE(config.ok());
  return *config;
}

routing::RouteProblem Problem(int stops, uint64_t seed) {
  routing::GeneratorOptions options;
  options.num_stops = stops;
  return routing::GenerateProblem(options, seed);
}

// A well-formed problem whose travel-time matrix has the wrong side: Instance::Build refuses it.
routing::RouteProblem InconsistentProblem(int stops, uint64_t seed) {
  routing::RouteProblem problem = Problem(stops, seed);
  problem.travel_times =
      routing::TravelTimeMatrix{.side = 3, .seconds = std::vector<double>(9, 60.0)};
  return problem;
}

// Empty when `result` is a good route for `problem`, from `source`.
std::string CheckRoute(const routing::RouteProblem& problem,
                       const absl::StatusOr<PlanResult>& result,
                       RouteSource source = RouteSource::kHeuristic) {
  if (!result.ok()) return result.status().ToString();
  v1::SuggestRequest request = api::ToSuggestRequest(problem);
  request.set_request_id("checked");
  v1::SuggestResponse response = api::ToSuggestResponse(*result);
  response.set_request_id("checked");
  return testing::CheckRouteResponse(request, response, api::ToProto(source));
}

// Proposes with the classical solver, or as the test's script says; moves the clock by
// kInference on each call and records it.
class ScriptedProposer final : public BatchProposer {
 public:
  using Script = std::function<std::vector<absl::StatusOr<Proposal>>(
      std::span<const routing::Instance* const> instances, int call)>;
  struct Call {
    int instances;
    BatchShape shape;
    std::thread::id thread;
  };

  ScriptedProposer(const routing::SolverOptions& solver, batching::FakeClock* clock,
                   Script script)
      : solver_(solver), clock_(clock), script_(std::move(script)) {}

  std::vector<absl::StatusOr<Proposal>> Propose(
      std::span<const routing::Instance* const> instances, const BatchShape& shape) override {
    int call;
    {
      std::lock_guard lock(mu_);
      call = static_cast<int>(calls_.size());
      calls_.push_back({static_cast<int>(instances.size()), shape, std::this_thread::get_id()});
    }
    clock_->Advance(kInference);
    return script_ ? script_(instances, call) : solver_.Propose(instances, shape);
  }
  std::vector<int> Refine(const routing::Instance& instance, Proposal proposed,
                          absl::Time deadline, const batching::Clock& clock) const override {
    {
      std::lock_guard lock(mu_);
      refine_threads_.push_back(std::this_thread::get_id());
    }
    return solver_.Refine(instance, std::move(proposed), deadline, clock);
  }

  std::vector<std::thread::id> refine_threads() {
    std::lock_guard lock(mu_);
    return refine_threads_;
  }

  std::vector<Call> calls() {
    std::lock_guard lock(mu_);
    return calls_;
  }

 private:
  SolverProposer solver_;
  batching::FakeClock* const clock_;
  const Script script_;
  mutable std::mutex mu_;
  std::vector<Call> calls_;
  mutable std::vector<std::thread::id> refine_threads_;
};

// Records what it hears; while holding, every batch waits in OnBatchStart until Release().
class TestObserver final : public BatchingObserver {
 public:
  struct Started {
    BatchInfo info;  // `queued` is left empty: it does not outlive the call
    std::thread::id thread;
  };

  void Hold() {
    std::lock_guard lock(mu_);
    holding_ = true;
  }
  void Release() {
    std::lock_guard lock(mu_);
    holding_ = false;
    changed_.notify_all();
  }

  void OnAccepted(int /*bucket*/) override { Note([this] { ++accepted_; }); }
  void OnRefused(const absl::Status& why) override {
    Note([this, &why] { refused_.push_back(why.code()); });
  }
  void OnBatchStart(const BatchInfo& batch) override {
    std::unique_lock lock(mu_);
    BatchInfo info = batch;
    info.queued = {};
    started_.push_back({info, std::this_thread::get_id()});
    changed_.notify_all();
    changed_.wait_for(lock, absl::ToChronoSeconds(kGuard), [this] { return !holding_; });
  }
  void OnBatchDone(const BatchInfo& /*batch*/, absl::Duration inference) override {
    Note([this, inference] { inference_.push_back(inference); });
  }
  void OnDropped(int /*bucket*/, const absl::Status& why, absl::Duration queued) override {
    Note([this, &why, queued] { dropped_.push_back({why.code(), queued}); });
  }
  void OnFinished(const FinishedTask& /*task*/) override {
    Note([this] { ++finished_; });
  }

  bool AwaitStarted(size_t count) {
    std::unique_lock lock(mu_);
    return changed_.wait_for(lock, absl::ToChronoSeconds(kGuard),
                             [&] { return started_.size() >= count; });
  }
  std::vector<Started> started() {
    std::lock_guard lock(mu_);
    return started_;
  }
  std::vector<absl::Duration> inference() {
    std::lock_guard lock(mu_);
    return inference_;
  }
  std::vector<std::pair<absl::StatusCode, absl::Duration>> dropped() {
    std::lock_guard lock(mu_);
    return dropped_;
  }
  std::vector<absl::StatusCode> refused() {
    std::lock_guard lock(mu_);
    return refused_;
  }
  int accepted() {
    std::lock_guard lock(mu_);
    return accepted_;
  }
  int finished() {
    std::lock_guard lock(mu_);
    return finished_;
  }

 private:
  template <typename Change>
  void Note(Change change) {
    std::lock_guard lock(mu_);
    change();
    changed_.notify_all();
  }

  std::mutex mu_;
  std::condition_variable changed_;
  bool holding_ = false;
  int accepted_ = 0;
  int finished_ = 0;
  std::vector<absl::StatusCode> refused_;
  std::vector<Started> started_;
  std::vector<absl::Duration> inference_;
  std::vector<std::pair<absl::StatusCode, absl::Duration>> dropped_;
};

// The answers the planner gave, by task name, with the thread each came on.
class Answers {
 public:
  struct Answer {
    absl::StatusOr<PlanResult> result;
    std::thread::id thread;
  };

  PlanCallback For(std::string task) {
    return [this, task = std::move(task)](absl::StatusOr<PlanResult> result) {
      std::lock_guard lock(mu_);
      answers_.insert_or_assign(task, Answer{std::move(result), std::this_thread::get_id()});
      ++calls_;
      changed_.notify_all();
    };
  }
  // Waits until `count` answers have come in all.
  bool Await(int count) {
    std::unique_lock lock(mu_);
    return changed_.wait_for(lock, absl::ToChronoSeconds(kGuard),
                             [&] { return calls_ >= count; });
  }
  Answer Get(const std::string& task) {
    std::lock_guard lock(mu_);
    const auto it = answers_.find(task);
    INFO("task " << task);
    REQUIRE(it != answers_.end());
    return it->second;
  }
  int calls() {
    std::lock_guard lock(mu_);
    return calls_;
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  std::map<std::string, Answer> answers_;
  int calls_ = 0;
};

struct Fixture {
  explicit Fixture(const std::vector<std::string>& overrides = {},
                   ScriptedProposer::Script script = nullptr)
      : config(TestConfig(overrides)) {
    auto scripted = std::make_unique<ScriptedProposer>(config.solver, &clock, std::move(script));
    proposer = scripted.get();
    BatchingPlanner::Options options;
    options.proposer = std::move(scripted);
    options.clock = &clock;
    options.observer = &observer;
    absl::StatusOr<std::unique_ptr<BatchingPlanner>> created =
        BatchingPlanner::Create(config, std::move(options));
    INFO(created.status().ToString());
    REQUIRE(created.ok());
    planner = std::move(created).value();
  }
  ~Fixture() {
    observer.Release();
    planner->Shutdown(absl::ZeroDuration());
  }

  absl::Status Submit(const std::string& task, routing::RouteProblem problem,
                      absl::Time deadline = absl::InfiniteFuture(),
                      absl::AnyInvocable<bool()> is_cancelled = nullptr) {
    PlanRequest request;
    request.problem = std::move(problem);
    request.deadline = deadline;
    request.is_cancelled = std::move(is_cancelled);
    return planner->Submit(std::move(request), answers.For(task));
  }

  const config::Config config;
  batching::FakeClock clock;
  TestObserver observer;
  Answers answers;
  ScriptedProposer* proposer = nullptr;      // owned by the planner
  std::unique_ptr<BatchingPlanner> planner;  // last: goes first
};

TEST_CASE("a problem Instance::Build rejects is refused by Submit on the caller's thread; a "
          "batch is proposed once on its executor and finished on the refine pool",
          "[batching_planner]") {
  Fixture f;
  const routing::RouteProblem a = Problem(6, 1), b = Problem(7, 2), c = Problem(8, 3);
  const absl::Status bad = f.Submit("bad", InconsistentProblem(7, 2));
  CHECK(bad.code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StartsWith(bad.message(), "travel_time_matrix_s"));
  CHECK(f.observer.refused() == std::vector<absl::StatusCode>{absl::StatusCode::kInvalidArgument});
  REQUIRE(f.Submit("a", a).ok());
  REQUIRE(f.Submit("b", b).ok());
  f.clock.Advance(absl::Milliseconds(250));
  REQUIRE(f.Submit("c", c).ok());  // the bucket of 8 holds 3: the batch goes
  REQUIRE(f.answers.Await(3));

  const Answers::Answer good_a = f.answers.Get("a"), good_b = f.answers.Get("b"),
                        good_c = f.answers.Get("c");
  CHECK(CheckRoute(a, good_a.result) == "");
  CHECK(CheckRoute(b, good_b.result) == "");
  CHECK(CheckRoute(c, good_c.result) == "");

  // Timings, on the planner's clock: the wait for the batch, the batch's Propose(), the batch.
  const PlanTimings& timings_a = good_a.result->timings;
  const PlanTimings& timings_c = good_c.result->timings;
  CHECK(timings_a.batch_size == 3);
  CHECK(timings_c.batch_size == 3);
  CHECK(timings_a.queued == absl::Milliseconds(250));
  CHECK(timings_c.queued == absl::ZeroDuration());
  CHECK(timings_a.executor_wait == absl::ZeroDuration());  // the executor was idle then
  // The classical solver's answers: no model ran for them, so no inference time.
  CHECK(timings_a.inference == absl::ZeroDuration());
  CHECK(timings_c.inference == absl::ZeroDuration());
  CHECK(timings_a.refine == absl::ZeroDuration());  // the clock stands still while finishing

  // One batch, one Propose() with its three instances, on the executor.
  const std::vector<TestObserver::Started> started = f.observer.started();
  REQUIRE(started.size() == 1);
  CHECK(started[0].info.bucket == 0);
  CHECK(started[0].info.padded_size == 8);
  CHECK(started[0].info.batch_size == 3);
  CHECK(started[0].info.executor == 0);
  const std::vector<ScriptedProposer::Call> calls = f.proposer->calls();
  REQUIRE(calls.size() == 1);
  CHECK(calls[0].instances == 3);
  CHECK(calls[0].shape.padded_size == 8);
  CHECK(calls[0].shape.executor == 0);
  const std::thread::id executor = started[0].thread;
  CHECK(calls[0].thread == executor);
  CHECK(f.observer.inference() == std::vector<absl::Duration>{kInference});

  // Finishing is not the executor's.
  CHECK(good_a.thread != executor);
  CHECK(good_b.thread != executor);
  CHECK(good_c.thread != executor);
  const std::vector<std::thread::id> refined = f.proposer->refine_threads();
  CHECK(refined.size() == 3);
  for (std::thread::id thread : refined) CHECK(thread != executor);
  CHECK(f.planner->refine_stats().refused_full == 0);

  const batching::BatcherStats stats = f.planner->stats();
  CHECK(stats.accepted == 3);
  CHECK(stats.batches == 1);
  CHECK(stats.executed == 3);
  CHECK(f.observer.accepted() == 3);
  CHECK(f.observer.finished() == 3);
}

TEST_CASE("the caller's deadline reaches refinement: a task finished after it gets the route "
          "of the search cut short",
          "[batching_planner]") {
  Fixture f;
  // A problem on which the iterated search's rounds improve on its first descent.
  routing::SolverOptions descent_only = f.config.solver;
  descent_only.perturbation_rounds = 0;
  std::optional<routing::RouteProblem> problem;
  std::vector<int> cut_short, full;
  for (uint64_t seed = 31; seed < 61 && !problem.has_value(); ++seed) {
    routing::GeneratorOptions options;
    options.num_stops = 25;
    options.windows = routing::TimeWindowTightness::kTight;
    routing::RouteProblem candidate = routing::GenerateProblem(options, seed);
    const routing::Instance instance = *routing::Instance::Build(candidate, f.config.objective);
    const std::vector<int> start = routing::InsertionRoute(instance).order;
    cut_short = routing::SolveFrom(instance, start, descent_only).order;
    full = routing::SolveFrom(instance, start, f.config.solver).order;
    if (full != cut_short) problem = std::move(candidate);
  }
  REQUIRE(problem.has_value());

  // The batch's Propose() takes kInference (40 ms) on the planner's clock: by its finishing,
  // a deadline 30 ms away has passed, one a minute away has not.
  const absl::Time now = f.clock.Now();
  REQUIRE(f.Submit("late", *problem, now + absl::Milliseconds(30)).ok());
  REQUIRE(f.Submit("in time", *problem, now + absl::Minutes(1)).ok());
  REQUIRE(f.Submit("no deadline", *problem).ok());
  REQUIRE(f.answers.Await(3));
  CHECK(f.answers.Get("late").result->order == cut_short);
  CHECK(f.answers.Get("in time").result->order == full);
  CHECK(f.answers.Get("no deadline").result->order == full);
}

TEST_CASE("the same problem gets the same route in a batch of one and in a batch of three",
          "[batching_planner]") {
  const routing::RouteProblem problem = Problem(20, 7);
  std::vector<int> alone;
  {
    Fixture f({"batching.max_batch_size=1"});
    REQUIRE(f.Submit("alone", problem).ok());
    REQUIRE(f.answers.Await(1));
    alone = f.answers.Get("alone").result->order;
  }
  Fixture f;
  REQUIRE(f.Submit("first", problem).ok());
  REQUIRE(f.Submit("other", Problem(20, 8)).ok());
  REQUIRE(f.Submit("again", problem).ok());
  REQUIRE(f.answers.Await(3));
  CHECK(f.answers.Get("first").result->timings.batch_size == 3);
  CHECK(f.answers.Get("first").result->order == alone);
  CHECK(f.answers.Get("again").result->order == alone);
}

TEST_CASE("a proposer that throws answers its batch INTERNAL: the next batch goes on",
          "[batching_planner]") {
  Fixture f({}, [](std::span<const routing::Instance* const> instances, int call)
                    -> std::vector<absl::StatusOr<Proposal>> {
    if (call == 0) throw std::runtime_error("device lost");
    return SolverProposer(routing::SolverOptions{}).Propose(instances, BatchShape{});
  });
  for (const char* task : {"x1", "x2", "x3"}) REQUIRE(f.Submit(task, Problem(5, 11)).ok());
  REQUIRE(f.answers.Await(3));
  for (const char* task : {"x1", "x2", "x3"}) {
    const absl::Status status = f.answers.Get(task).result.status();
    CHECK(status.code() == absl::StatusCode::kInternal);
    CHECK(status.message() == "batch failed: device lost");
  }
  const routing::RouteProblem problem = Problem(5, 12);
  for (const char* task : {"y1", "y2", "y3"}) REQUIRE(f.Submit(task, problem).ok());
  REQUIRE(f.answers.Await(6));
  for (const char* task : {"y1", "y2", "y3"}) {
    CHECK(CheckRoute(problem, f.answers.Get(task).result) == "");
  }
}

TEST_CASE("a proposal that is no order of the stops is answered INTERNAL: a proposer's own "
          "status reaches its task",
          "[batching_planner]") {
  Fixture f({}, [](std::span<const routing::Instance* const> instances, int call)
                    -> std::vector<absl::StatusOr<Proposal>> {
    if (call == 1) return {};  // not one result per instance
    std::vector<absl::StatusOr<Proposal>> results =
        SolverProposer(routing::SolverOptions{}).Propose(instances, BatchShape{});
    // The first stop, n times.
    results[0] = Proposal{.order = std::vector<int>(instances[0]->num_stops(), 0),
                          .source = RouteSource::kHeuristic};
    results[1] = absl::UnavailableError("device busy");
    return results;
  });
  const routing::RouteProblem problem = Problem(6, 21);
  for (const char* task : {"repeats", "busy", "good"}) REQUIRE(f.Submit(task, problem).ok());
  REQUIRE(f.answers.Await(3));
  const absl::Status repeats = f.answers.Get("repeats").result.status();
  CHECK(repeats.code() == absl::StatusCode::kInternal);
  CHECK(absl::StartsWith(repeats.message(), "proposer returned an order that is not one of"));
  CHECK(f.answers.Get("busy").result.status() == absl::UnavailableError("device busy"));
  CHECK(CheckRoute(problem, f.answers.Get("good").result) == "");

  for (const char* task : {"n1", "n2", "n3"}) REQUIRE(f.Submit(task, problem).ok());
  REQUIRE(f.answers.Await(6));
  for (const char* task : {"n1", "n2", "n3"}) {
    CHECK(f.answers.Get(task).result.status() ==
          absl::InternalError("proposer returned 0 results for 3 problems"));
  }
}

TEST_CASE("each response says its own proposal's source, and a proposal without one is answered "
          "INTERNAL",
          "[batching_planner]") {
  Fixture f({}, [](std::span<const routing::Instance* const> instances, int /*call*/) {
    std::vector<absl::StatusOr<Proposal>> results =
        SolverProposer(routing::SolverOptions{}).Propose(instances, BatchShape{});
    results[0]->source = RouteSource::kModelRefined;
    results[1]->source = RouteSource::kFallbackHeuristic;
    results[2]->source = std::nullopt;
    return results;
  });
  const routing::RouteProblem problem = Problem(7, 41);
  for (const char* task : {"refined", "fallback", "none"}) REQUIRE(f.Submit(task, problem).ok());
  REQUIRE(f.answers.Await(3));
  CHECK(CheckRoute(problem, f.answers.Get("refined").result, RouteSource::kModelRefined) ==
        "");
  CHECK(CheckRoute(problem, f.answers.Get("fallback").result,
                   RouteSource::kFallbackHeuristic) == "");
  CHECK(f.answers.Get("refined").result->model_version.empty());
  // The model's batch time only on the model's answers; none on the classical solver's.
  CHECK(f.answers.Get("refined").result->timings.inference == kInference);
  CHECK(f.answers.Get("fallback").result->timings.inference == absl::ZeroDuration());
  CHECK(f.answers.Get("none").result.status() ==
        absl::InternalError("proposer returned a proposal without a source"));
}

TEST_CASE("Submit refuses at once, without calling done: a full bucket, a problem above the "
          "largest bucket, and after Shutdown",
          "[batching_planner]") {
  Fixture f({"batching.max_queue_size=1"});
  REQUIRE(f.Submit("waits", Problem(8, 31)).ok());
  const absl::Status full = f.Submit("full", Problem(8, 32));
  CHECK(full == absl::ResourceExhaustedError("queue full"));
  REQUIRE(f.Submit("other bucket", Problem(9, 33)).ok());  // queues are per bucket
  const absl::Status too_large = f.Submit("too large", Problem(129, 34));
  CHECK(too_large.code() == absl::StatusCode::kInvalidArgument);
  CHECK(too_large.message() ==
        "stops: 129 stops, more than the largest batching bucket holds (128)");

  // With no grace, what is queued is answered UNAVAILABLE; then Submit refuses.
  f.planner->Shutdown(absl::ZeroDuration());
  CHECK(f.Submit("late", Problem(8, 35)) == absl::UnavailableError("server is shutting down"));
  CHECK(f.answers.calls() == 2);
  CHECK(f.answers.Get("waits").result.status().code() == absl::StatusCode::kUnavailable);
  CHECK(f.answers.Get("other bucket").result.status().code() == absl::StatusCode::kUnavailable);

  const batching::BatcherStats stats = f.planner->stats();
  CHECK(stats.accepted == 2);
  CHECK(stats.refused_full == 1);
  CHECK(stats.refused_closed == 1);
  CHECK(stats.shut_down == 2);
  CHECK(stats.executed == 0);
  CHECK(f.observer.refused() ==
        std::vector<absl::StatusCode>{absl::StatusCode::kResourceExhausted,
                                      absl::StatusCode::kInvalidArgument,
                                      absl::StatusCode::kUnavailable});
  CHECK(f.proposer->calls().empty());
}

TEST_CASE("a task whose deadline passes while queued gets DEADLINE_EXCEEDED, one whose caller "
          "has gone gets CANCELLED; neither is proposed",
          "[batching_planner]") {
  Fixture f;
  REQUIRE(f.Submit("late", Problem(5, 41), f.clock.Now() + absl::Seconds(1)).ok());
  REQUIRE(f.Submit("gone", Problem(5, 42), absl::InfiniteFuture(), [] { return true; }).ok());
  f.clock.Advance(absl::Seconds(2));
  REQUIRE(f.answers.Await(1));
  CHECK(f.answers.Get("late").result.status().code() == absl::StatusCode::kDeadlineExceeded);

  const routing::RouteProblem problem = Problem(5, 43);
  REQUIRE(f.Submit("in time 1", problem).ok());
  REQUIRE(f.Submit("in time 2", problem).ok());  // 3 queued: the batch forms, "gone" is dropped
  REQUIRE(f.answers.Await(4));
  CHECK(f.answers.Get("gone").result.status().code() == absl::StatusCode::kCancelled);
  for (const char* task : {"in time 1", "in time 2"}) {
    const Answers::Answer answer = f.answers.Get(task);
    CHECK(CheckRoute(problem, answer.result) == "");
    CHECK(answer.result->timings.batch_size == 2);
  }

  const std::vector<ScriptedProposer::Call> calls = f.proposer->calls();
  REQUIRE(calls.size() == 1);
  CHECK(calls[0].instances == 3);
  const batching::BatcherStats stats = f.planner->stats();
  CHECK(stats.expired == 1);
  CHECK(stats.cancelled == 1);
  CHECK(stats.executed == 2);
  const auto dropped = f.observer.dropped();
  REQUIRE(dropped.size() == 2);
  CHECK(dropped[0] == std::pair{absl::StatusCode::kDeadlineExceeded, absl::Seconds(2)});
  CHECK(dropped[1].first == absl::StatusCode::kCancelled);
}

TEST_CASE("a caller who cancels through its CallCancellation is answered CANCELLED at once, its "
          "slot freed, whichever of the cancellation and the acceptance comes first",
          "[batching_planner]") {
  Fixture f;
  f.observer.Hold();
  const routing::RouteProblem problem = Problem(5, 44);
  for (const char* task : {"a", "b", "c"}) REQUIRE(f.Submit(task, problem).ok());
  REQUIRE(f.observer.AwaitStarted(1));  // the executor is busy: later tasks wait in the queue

  auto after = std::make_shared<CallCancellation>();
  PlanRequest request;
  request.problem = problem;
  request.cancellation = after;
  REQUIRE(f.planner->Submit(std::move(request), f.answers.For("cancelled after")).ok());
  CHECK(f.planner->stats().depth[0] == 1);
  after->Cancel();  // without the clock moving, with the executor still held
  REQUIRE(f.answers.Await(1));
  CHECK(f.answers.Get("cancelled after").result.status().code() == absl::StatusCode::kCancelled);
  CHECK(f.planner->stats().depth[0] == 0);

  auto before = std::make_shared<CallCancellation>();
  before->Cancel();  // the client went away while the handler was still at work
  request = {};
  request.problem = problem;
  request.cancellation = before;
  REQUIRE(f.planner->Submit(std::move(request), f.answers.For("cancelled before")).ok());
  REQUIRE(f.answers.Await(2));
  CHECK(f.answers.Get("cancelled before").result.status().code() ==
        absl::StatusCode::kCancelled);

  f.observer.Release();
  REQUIRE(f.answers.Await(5));
  for (const char* task : {"a", "b", "c"}) {
    CHECK(CheckRoute(problem, f.answers.Get(task).result) == "");
  }
  CHECK(f.planner->stats().cancelled == 2);
  CHECK(f.proposer->calls().size() == 1);
}

TEST_CASE("the tasks of a batch whose executor is stuck get the classical solver's route, or "
          "DEADLINE_EXCEEDED past their deadline, once, even when the batch returns later",
          "[batching_planner]") {
  Fixture f({"batching.executor_stuck_after_s=30"});
  f.observer.Hold();
  const absl::Time start = f.clock.Now();
  const routing::RouteProblem problem = Problem(6, 45);
  REQUIRE(f.Submit("in time 1", problem).ok());
  REQUIRE(f.Submit("late", problem, start + absl::Seconds(10)).ok());
  REQUIRE(f.Submit("in time 2", problem, start + absl::Seconds(600)).ok());
  REQUIRE(f.observer.AwaitStarted(1));  // held: as good as a forward pass that never returns
  CHECK(f.planner->executors_stuck() == 0);

  f.clock.Advance(absl::Seconds(30));
  REQUIRE(f.answers.Await(3));
  for (const char* task : {"in time 1", "in time 2"}) {
    INFO(task);
    CHECK(CheckRoute(problem, f.answers.Get(task).result,
                     RouteSource::kFallbackHeuristic) == "");
  }
  CHECK(f.answers.Get("late").result.status().code() == absl::StatusCode::kDeadlineExceeded);
  CHECK(f.planner->executors_stuck() == 1);
  CHECK(f.planner->executor_stuck_fallbacks() == 2);

  // Its only executor is out of service: nothing more is taken.
  const absl::Status refused = f.Submit("after", problem);
  CHECK(refused.code() == absl::StatusCode::kUnavailable);
  CHECK_THAT(std::string(refused.message()), Catch::Contains("no executor in service"));

  // The batch comes back at last: its results are dropped, nobody is answered twice.
  f.observer.Release();
  REQUIRE(testing::Eventually([&] { return f.planner->stats().late_returns == 1; }, kGuard));
  CHECK(f.proposer->calls().size() == 1);
  CHECK(f.answers.calls() == 3);
  CHECK(f.observer.inference().empty());
}

TEST_CASE("a batch that waits for a busy executor reports the wait", "[batching_planner]") {
  Fixture f;
  f.observer.Hold();
  for (const char* task : {"a1", "a2", "a3"}) REQUIRE(f.Submit(task, Problem(5, 51)).ok());
  REQUIRE(f.observer.AwaitStarted(1));  // the only executor is held
  for (const char* task : {"b1", "b2", "b3"}) REQUIRE(f.Submit(task, Problem(5, 52)).ok());
  f.clock.Advance(absl::Milliseconds(30));  // the full second batch waits this long...
  f.observer.Release();                      // ...plus the first batch's kInference
  REQUIRE(f.answers.Await(6));
  // Held by name: Get() returns a copy, whose timings a reference would outlive.
  const Answers::Answer b1 = f.answers.Get("b1");
  const PlanTimings& waited = b1.result->timings;
  CHECK(waited.executor_wait == absl::Milliseconds(30) + kInference);
  CHECK(waited.queued == waited.executor_wait);
  CHECK(f.answers.Get("a1").result->timings.executor_wait == absl::ZeroDuration());
}

TEST_CASE("when the refine pool is full, the executor finishes the task itself",
          "[batching_planner]") {
  // One refine thread with room for 2 jobs (1 executor x batches of 1 x 2).
  Fixture f({"batching.max_batch_size=1", "server.worker_threads=1"});
  testing::Notification first_answering, release_first;
  PlanRequest first;
  first.problem = Problem(5, 51);
  REQUIRE(f.planner
              ->Submit(std::move(first),
                       [&](absl::StatusOr<PlanResult>) {
                         first_answering.Notify();
                         release_first.WaitForNotificationWithTimeout(kGuard);
                       })
              .ok());
  REQUIRE(first_answering.WaitForNotificationWithTimeout(kGuard));  // the refine thread is held

  const routing::RouteProblem problem = Problem(5, 52);
  for (const char* task : {"queued 1", "queued 2", "inline"}) {
    REQUIRE(f.Submit(task, problem).ok());
  }
  // "inline" is answered although the refine thread is still held: by its executor.
  REQUIRE(f.answers.Await(1));
  const Answers::Answer finished_inline = f.answers.Get("inline");
  CHECK(CheckRoute(problem, finished_inline.result) == "");
  const std::vector<TestObserver::Started> started = f.observer.started();
  REQUIRE(started.size() == 4);
  CHECK(finished_inline.thread == started[3].thread);
  CHECK(f.planner->refine_stats().refused_full == 1);

  release_first.Notify();
  REQUIRE(f.answers.Await(3));
  for (const char* task : {"queued 1", "queued 2"}) {
    const Answers::Answer answer = f.answers.Get(task);
    CHECK(CheckRoute(problem, answer.result) == "");
    CHECK(answer.thread != started[3].thread);
  }
}

TEST_CASE("Shutdown runs what is queued without waiting for company", "[batching_planner]") {
  Fixture f;
  const routing::RouteProblem problem = Problem(12, 61);
  REQUIRE(f.Submit("lonely", problem).ok());  // 1 of 3, and the delay never passes
  f.planner->Shutdown(absl::Hours(1));
  REQUIRE(f.answers.calls() == 1);
  const Answers::Answer answer = f.answers.Get("lonely");
  CHECK(CheckRoute(problem, answer.result) == "");
  CHECK(answer.result->timings.batch_size == 1);
}

TEST_CASE("Shutdown answers UNAVAILABLE what is still queued past the grace period: the batch "
          "running finishes",
          "[batching_planner]") {
  Fixture f;
  f.observer.Hold();
  const routing::RouteProblem problem = Problem(12, 71);
  for (const char* task : {"run 1", "run 2", "run 3"}) REQUIRE(f.Submit(task, problem).ok());
  REQUIRE(f.observer.AwaitStarted(1));  // the only executor is held
  REQUIRE(f.Submit("queued", problem).ok());

  const absl::Time grace_end = f.clock.Now() + absl::Seconds(1);
  const int64_t sleeps = f.clock.sleeps();
  std::thread shutdown([&] { f.planner->Shutdown(absl::Seconds(1)); });
  // The scheduler now waits for the end of the grace period; move time past it.
  REQUIRE(f.clock.AwaitSleep(grace_end, sleeps, kGuard));
  f.clock.Advance(absl::Seconds(2));
  REQUIRE(f.answers.Await(1));
  const absl::Status queued = f.answers.Get("queued").result.status();
  CHECK(queued.code() == absl::StatusCode::kUnavailable);

  f.observer.Release();
  shutdown.join();
  REQUIRE(f.answers.calls() == 4);
  for (const char* task : {"run 1", "run 2", "run 3"}) {
    CHECK(CheckRoute(problem, f.answers.Get(task).result) == "");
  }
  CHECK(f.planner->stats().shut_down == 1);
}

}  // namespace
}  // namespace routeserve::planning
