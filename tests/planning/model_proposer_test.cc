// ModelProposer and CreateProposer (planning/model_proposer.h) with the test models of
// tests/model/make_test_models.py (fixture routeserve_test_models): the best decoding, the
// sources, refinement, the fallback by reason, and a BatchingPlanner answering through it.
#include "planning/model_proposer.h"
#include "planning/reloading_proposer.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/synchronization/blocking_counter.h"
#include "api/request.h"
#include "api/response.h"
#include "route_checks.h"
#include "routing/edge_scores.h"
#include "routing/evaluator.h"
#include "routing/generator.h"
#include "routing/solver.h"
#include "tests/model/problems.h"
#include "planning/batching_planner.h"

namespace routeserve::planning {
namespace {

using model::Pointers;

// `proposal` refined by `proposer`, without a deadline of its caller's.
std::vector<int> Refined(const BatchProposer& proposer, const routing::Instance& instance,
                         const Proposal& proposal) {
  return proposer.Refine(instance, proposal, absl::InfiniteFuture(), *batching::Clock::Real());
}

std::string ModelDir(const std::string& name) {
  return std::string(ROUTESERVE_TEST_MODELS_DIR) + "/" + name;
}

std::unique_ptr<model::ModelRunner> Runner(const std::string& name, int max_batch_size = 16) {
  model::ModelRunnerOptions options;
  options.device = model::DeviceSpec{.kind = model::DeviceSpec::Kind::kCpu};
  options.threads = 1;
  options.executors = 2;  // as PlannerConfig's batching.executors
  options.max_batch_size = max_batch_size;
  absl::StatusOr<std::unique_ptr<model::ModelRunner>> runner =
      model::ModelRunner::Load(ModelDir(name), options);
  INFO(runner.status().ToString());
  REQUIRE(runner.ok());
  return *std::move(runner);
}

ModelProposerOptions ProposerOptions(int decodings = 8, int64_t refine_max_moves = 200) {
  ModelProposerOptions options;
  options.decodings = decodings;
  options.refine_max_moves = refine_max_moves;
  options.solver.perturbation_rounds = 2;  // a quick stand-in
  return options;
}

routing::RouteProblem Problem(int stops, uint64_t seed) {
  routing::GeneratorOptions options;
  options.num_stops = stops;
  options.windows = static_cast<routing::TimeWindowTightness>(seed % 3);
  options.end_position_probability = seed % 2 == 0 ? 1.0 : 0.0;
  options.caller_matrix = seed % 4 == 1;
  return routing::GenerateProblem(options, seed);
}

std::vector<routing::Instance> Instances(const std::vector<int>& sizes, uint64_t seed) {
  std::vector<routing::Instance> instances;
  for (const int size : sizes) {
    absl::StatusOr<routing::Instance> instance =
        routing::Instance::Build(Problem(size, seed++), routing::ObjectiveParams{});
    REQUIRE(instance.ok());
    instances.push_back(*std::move(instance));
  }
  return instances;
}

double CostOf(const routing::Instance& instance, const std::vector<int>& order) {
  const routing::RouteEvaluation evaluation = routing::Evaluate(instance, order);
  REQUIRE(evaluation.feasible());
  return evaluation.cost;
}

TEST_CASE("the proposal is the cheapest decoding, MODEL_REFINED, with the other distinct ones "
          "as alternatives",
          "[model_proposer]") {
  ModelProposer proposer(Runner("nearest"), ProposerOptions(/*decodings=*/8));
  const std::unique_ptr<model::ModelRunner> reference = Runner("nearest");
  CHECK(proposer.model_version() == reference->model_version());
  const std::vector<routing::Instance> instances = Instances({3, 12, 9, 16, 1, 14}, 10);
  const std::vector<const routing::Instance*> batch = Pointers(instances);
  const std::vector<absl::StatusOr<Proposal>> proposals =
      proposer.Propose(batch, BatchShape{.padded_size = 16, .executor = 0});
  const auto decoded = reference->Run(batch, 16, 8, 0);
  REQUIRE(proposals.size() == batch.size());
  int with_alternatives = 0;
  for (size_t i = 0; i < batch.size(); ++i) {
    INFO("problem " << i);
    REQUIRE(proposals[i].ok());
    REQUIRE(decoded[i].ok());
    const Proposal& proposal = *proposals[i];
    CHECK(proposal.source == RouteSource::kModelRefined);
    double best = decoded[i]->front().cost;
    for (const model::Decoding& d : *decoded[i]) best = std::min(best, d.cost);
    CHECK(CostOf(*batch[i], proposal.order) == best);
    CHECK(proposal.cost == best);  // the runner's cost, carried
    double previous = best;
    std::vector<std::vector<int>> seen = {proposal.order};
    for (const CostedOrder& alternative : proposal.alternatives) {
      const double cost = CostOf(*batch[i], alternative.order);
      CHECK(alternative.cost == cost);
      CHECK(cost >= previous);
      previous = cost;
      CHECK(std::find(seen.begin(), seen.end(), alternative.order) == seen.end());
      seen.push_back(alternative.order);
    }
    if (!proposal.alternatives.empty()) ++with_alternatives;
    CHECK(proposal.alternatives.size() <= 7);
    // Refinement never makes the route worse.
    const std::vector<int> refined = Refined(proposer, *batch[i], proposal);
    CHECK(CostOf(*batch[i], refined) <= best + 1e-9);
  }
  CHECK(with_alternatives > 0);
  CHECK(proposer.fallback_counts().total() == 0);
}

TEST_CASE("route-v2: the cheapest start is the proposal, each node's best-scored successors "
          "its candidate lists, and refinement searches them from the cheaper of it and the "
          "insertion route",
          "[model_proposer]") {
  ModelProposerOptions options = ProposerOptions(/*decodings=*/6);
  options.candidates = 5;
  options.refine_perturbation_rounds = 3;
  ModelProposer proposer(Runner("nearest_edges"), options);
  const std::unique_ptr<model::ModelRunner> reference = Runner("nearest_edges");
  REQUIRE(reference->family() == model::ModelFamily::kEdges);
  const std::vector<routing::Instance> instances = Instances({3, 40, 1, 90, 17, 64}, 30);
  const std::vector<const routing::Instance*> batch = Pointers(instances);
  const std::vector<absl::StatusOr<Proposal>> proposals =
      proposer.Propose(batch, BatchShape{.padded_size = 128, .executor = 1});
  const auto scored = reference->Score(batch, 128, 6, 0);
  REQUIRE(proposals.size() == batch.size());
  int from_insertion = 0;
  for (size_t i = 0; i < batch.size(); ++i) {
    const routing::Instance& instance = *batch[i];
    INFO("problem " << i << " of " << instance.num_stops() << " stops");
    REQUIRE(proposals[i].ok());
    REQUIRE(scored[i].ok());
    const Proposal& proposal = *proposals[i];
    CHECK(proposal.source == RouteSource::kModelRefined);
    const model::Decoding& best = model::BestDecoding(scored[i]->starts);
    CHECK(proposal.order == best.order);
    CHECK(proposal.cost == best.cost);
    for (const CostedOrder& alternative : proposal.alternatives) {
      CHECK(alternative.order != proposal.order);
      CHECK(alternative.cost >= proposal.cost);
    }
    REQUIRE(proposal.candidates != nullptr);
    const routing::CandidateLists lists = routing::BestScored(instance, scored[i]->scores, 5);
    REQUIRE(proposal.candidates->num_nodes() == lists.num_nodes());
    for (int node = 0; node < lists.num_nodes(); ++node) {
      CHECK(std::ranges::equal(proposal.candidates->of(node), lists.of(node)));
    }

    routing::Solution insertion = routing::InsertionRoute(instance);
    if (insertion.cost < proposal.cost) ++from_insertion;
    routing::SolverOptions search = options.solver;
    search.max_moves = options.refine_max_moves;
    search.perturbation_rounds = options.refine_perturbation_rounds;
    search.candidates = &lists;
    const std::vector<int> expected =
        routing::SolveFrom(instance,
                           insertion.cost < proposal.cost ? insertion.order : proposal.order,
                           search)
            .order;
    CHECK(Refined(proposer, instance, proposal) == expected);
  }
  CHECK(from_insertion > 0);  // nearest-neighbour starts lose to insertion on large problems

  // model.candidates 0: no lists, the search tries every move.
  options.candidates = 0;
  ModelProposer without_lists(Runner("nearest_edges"), options);
  const auto plain = without_lists.Propose(batch, BatchShape{.padded_size = 128, .executor = 0});
  for (const auto& proposal : plain) {
    REQUIRE(proposal.ok());
    CHECK(proposal->candidates == nullptr);
  }
  CHECK(proposer.fallback_counts().total() == 0);
}

TEST_CASE("with refine.max_moves 0 the source is MODEL and Refine keeps the order",
          "[model_proposer]") {
  ModelProposer proposer(Runner("nearest"), ProposerOptions(/*decodings=*/1, /*refine=*/0));
  const std::vector<routing::Instance> instances = Instances({10, 7}, 20);
  const auto proposals =
      proposer.Propose(Pointers(instances), BatchShape{.padded_size = 16, .executor = 0});
  for (size_t i = 0; i < instances.size(); ++i) {
    REQUIRE(proposals[i].ok());
    CHECK(proposals[i]->source == RouteSource::kModel);
    CHECK(proposals[i]->alternatives.empty());  // one decoding
    CHECK(Refined(proposer, instances[i], *proposals[i]) == proposals[i]->order);
  }
}

TEST_CASE("refine.perturbation_rounds: iterated local search after the descent, never worse "
          "than the descent and better somewhere",
          "[model_proposer]") {
  ModelProposer descent(Runner("nearest", 64), ProposerOptions(/*decodings=*/1));
  ModelProposerOptions with_rounds = ProposerOptions(/*decodings=*/1);
  with_rounds.refine_perturbation_rounds = 10;
  ModelProposer iterated(Runner("nearest", 64), with_rounds);
  const std::vector<routing::Instance> instances =
      Instances(std::vector<int>(24, 30), /*seed=*/40);
  const auto proposals =
      descent.Propose(Pointers(instances), BatchShape{.padded_size = 32, .executor = 0});
  int better = 0;
  for (size_t i = 0; i < instances.size(); ++i) {
    INFO("problem " << i);
    REQUIRE(proposals[i].ok());
    const double after_descent =
        CostOf(instances[i], Refined(descent, instances[i], *proposals[i]));
    const std::vector<int> after_rounds = Refined(iterated, instances[i], *proposals[i]);
    CHECK(CostOf(instances[i], after_rounds) <= after_descent + 1e-9);
    if (CostOf(instances[i], after_rounds) < after_descent - 1e-9) ++better;
    CHECK(Refined(iterated, instances[i], *proposals[i]) == after_rounds);  // deterministic
  }
  CHECK(better > 0);
}

TEST_CASE("the classical solver stands in, counted by reason, with source FALLBACK_HEURISTIC",
          "[model_proposer]") {
  SECTION("stops above the model's max_stops") {
    ModelProposer proposer(Runner("nearest_max16"), ProposerOptions());
    const std::vector<routing::Instance> instances = Instances({20, 12, 17}, 30);
    const auto proposals =
        proposer.Propose(Pointers(instances), BatchShape{.padded_size = 32, .executor = 0});
    CHECK(proposals[0]->source == RouteSource::kFallbackHeuristic);
    CHECK(proposals[0]->order == routing::InsertionRoute(instances[0]).order);
    CHECK(proposals[1]->source == RouteSource::kModelRefined);  // runs at N = 16
    CHECK(proposals[2]->source == RouteSource::kFallbackHeuristic);
    CHECK(proposer.fallback_counts().stops_above_model_max == 2);
    CHECK(proposer.fallback_counts().total() == 2);
    // The stand-in's refinement is the solver's search: the route routing::Solve gives.
    routing::SolverOptions solver = ProposerOptions().solver;
    CHECK(Refined(proposer, instances[0], *proposals[0]) ==
          routing::Solve(instances[0], solver).order);
  }
  SECTION("an invalid order") {
    ModelProposer garbage(Runner("garbage"), ProposerOptions());
    const std::vector<routing::Instance> instances = Instances({5, 6, 7}, 40);
    for (const auto& proposal :
         garbage.Propose(Pointers(instances), BatchShape{.padded_size = 8, .executor = 0})) {
      REQUIRE(proposal.ok());
      CHECK(proposal->source == RouteSource::kFallbackHeuristic);
    }
    CHECK(garbage.fallback_counts().invalid_order == 3);
    CHECK(garbage.fallback_counts().total() == 3);
  }
  SECTION("a model error, or no model") {
    ModelProposer raises(Runner("raises"), ProposerOptions());
    const std::vector<routing::Instance> instances = Instances({5, 6}, 50);
    for (const auto& proposal :
         raises.Propose(Pointers(instances), BatchShape{.padded_size = 8, .executor = 0})) {
      CHECK(proposal->source == RouteSource::kFallbackHeuristic);
    }
    CHECK(raises.fallback_counts().model_error == 2);

    ModelProposer none(nullptr, ProposerOptions());
    CHECK(none.model_version().empty());
    const auto proposals =
        none.Propose(Pointers(instances), BatchShape{.padded_size = 8, .executor = 0});
    CHECK(proposals[1]->source == RouteSource::kFallbackHeuristic);
    CHECK(none.fallback_counts().model_error == 2);
  }
  CHECK(FallbackReasonName(FallbackReason::kStopsAboveModelMax) == "stops_above_model_max");
  CHECK(FallbackReasonName(FallbackReason::kModelError) == "model_error");
  CHECK(FallbackReasonName(FallbackReason::kInvalidOrder) == "invalid_order");
}

config::Config PlannerConfig(const std::vector<std::string>& overrides) {
  std::vector<std::string> all = {"batching.max_batch_size=4", "batching.executors=2",
                                  "batching.max_queue_delay_us=2000", "server.worker_threads=2",
                                  "solver.perturbation_rounds=2"};
  all.insert(all.end(), overrides.begin(), overrides.end());
  absl::StatusOr<config::Config> config = config::ParseConfig("", all);
  INFO(config.status().ToString());
  REQUIRE(config.ok());
  return *config;
}

// Submits `problems` to a planner with `proposer` and returns the answers, in order.
std::vector<absl::StatusOr<PlanResult>> PlanAll(
    const config::Config& config, std::unique_ptr<BatchProposer> proposer,
    const std::vector<routing::RouteProblem>& problems) {
  BatchingPlanner::Options options;
  options.proposer = std::move(proposer);
  absl::StatusOr<std::unique_ptr<BatchingPlanner>> planner =
      BatchingPlanner::Create(config, std::move(options));
  REQUIRE(planner.ok());
  std::vector<absl::StatusOr<PlanResult>> answers(problems.size(),
                                                           absl::UnknownError("no answer"));
  absl::BlockingCounter answered(static_cast<int>(problems.size()));
  for (size_t i = 0; i < problems.size(); ++i) {
    PlanRequest request;
    request.problem = problems[i];
    REQUIRE((*planner)->Submit(std::move(request),
                               [&answers, &answered, i](absl::StatusOr<PlanResult> r) {
                                 answers[i] = std::move(r);
                                 answered.DecrementCount();
                               })
                .ok());
  }
  answered.Wait();
  (*planner)->Shutdown(absl::ZeroDuration());
  return answers;
}

std::string Check(const routing::RouteProblem& problem,
                  const absl::StatusOr<PlanResult>& answer, RouteSource source) {
  if (!answer.ok()) return answer.status().ToString();
  v1::SuggestRequest request = api::ToSuggestRequest(problem);
  request.set_request_id("r");
  v1::SuggestResponse response = api::ToSuggestResponse(*answer);
  response.set_request_id("r");
  return testing::CheckRouteResponse(request, response, api::ToProto(source));
}

TEST_CASE("through the planner: the model answers MODEL_REFINED, and where it gives invalid "
          "orders the planner still answers feasible routes from the stand-in",
          "[model_proposer]") {
  const config::Config config = PlannerConfig({});
  std::vector<routing::RouteProblem> problems;
  for (int i = 0; i < 24; ++i) problems.push_back(Problem(2 + i % 14, 60 + i));

  auto model = std::make_unique<ModelProposer>(Runner("nearest", 4), ProposerOptions());
  const std::string version = model->model_version();
  const auto good = PlanAll(config, std::move(model), problems);
  for (size_t i = 0; i < problems.size(); ++i) {
    INFO("problem " << i);
    CHECK(Check(problems[i], good[i], RouteSource::kModelRefined) == "");
    CHECK(good[i]->model_version == version);
  }

  // index_order: feasible only where the request's order happens to be.
  auto index_order = std::make_unique<ModelProposer>(Runner("index_order", 4), ProposerOptions());
  const ModelProposer* counted = index_order.get();
  std::vector<bool> index_feasible;
  for (const routing::RouteProblem& problem : problems) {
    const routing::Instance instance = *routing::Instance::Build(problem, config.objective);
    std::vector<int> order(instance.num_stops());
    for (size_t s = 0; s < order.size(); ++s) order[s] = static_cast<int>(s);
    index_feasible.push_back(routing::Evaluate(instance, order).feasible());
  }
  // The planner owns the proposer: read the counts before it goes.
  BatchingPlanner::Options options;
  options.proposer = std::move(index_order);
  absl::StatusOr<std::unique_ptr<BatchingPlanner>> planner =
      BatchingPlanner::Create(config, std::move(options));
  REQUIRE(planner.ok());
  std::mutex mu;
  std::map<size_t, absl::StatusOr<PlanResult>> answers;
  absl::BlockingCounter answered(static_cast<int>(problems.size()));
  for (size_t i = 0; i < problems.size(); ++i) {
    PlanRequest request;
    request.problem = problems[i];
    REQUIRE((*planner)->Submit(std::move(request), [&, i](absl::StatusOr<PlanResult> r) {
      std::lock_guard lock(mu);
      answers.emplace(i, std::move(r));
      answered.DecrementCount();
    }).ok());
  }
  answered.Wait();
  int invalid = 0;
  for (size_t i = 0; i < problems.size(); ++i) {
    INFO("problem " << i);
    const RouteSource expected =
        index_feasible[i] ? RouteSource::kModelRefined : RouteSource::kFallbackHeuristic;
    if (!index_feasible[i]) ++invalid;
    CHECK(Check(problems[i], answers.at(i), expected) == "");
  }
  CHECK(invalid > 0);
  CHECK(counted->fallback_counts().invalid_order == invalid);
  CHECK(counted->fallback_counts().total() == invalid);
  (*planner)->Shutdown(absl::ZeroDuration());
}

TEST_CASE("CreateProposer: no path is the classical solver, a model is loaded and warmed up, a "
          "model that cannot be loaded is an error",
          "[model_proposer]") {
  const absl::StatusOr<std::unique_ptr<BatchProposer>> solver = CreateProposer(PlannerConfig({}));
  REQUIRE(solver.ok());
  CHECK(dynamic_cast<SolverProposer*>(solver->get()) != nullptr);
  CHECK((*solver)->model_version().empty());

  const absl::StatusOr<std::unique_ptr<BatchProposer>> model = CreateProposer(PlannerConfig(
      {"model.path=" + ModelDir("nearest_max16"), "model.threads=1", "model.decodings=3",
       "batching.buckets=[8, 16, 32]", "limits.max_stops=32"}));
  INFO(model.status().ToString());
  REQUIRE(model.ok());
  const auto* reloading = dynamic_cast<ReloadingProposer*>(model->get());
  REQUIRE(reloading != nullptr);
  CHECK(absl::StartsWith(reloading->model_version(), "nearest_max16-"));
  CHECK(reloading->serving_name() == "nearest_max16");
  CHECK(reloading->serving()->runner()->max_batch_size() == 4);
  CHECK(reloading->serving()->runner()->threads() == 1);

  for (const auto& [overrides, message] : std::vector<std::pair<std::vector<std::string>,
                                                                std::string>>{
           {{"model.path=/nonexistent/route-v1"}, "model.path: \"/nonexistent/route-v1\""},
           {{"model.path=" + ModelDir("wrong_version")}, "feature_version"},
           {{"model.path=" + ModelDir("nearest"), "model.device=cpu", "model.precision=fp16"},
            "model.precision: fp16"},
           {{"model.path=" + ModelDir("garbage")}, "model warm-up at N 8, batch 1"},
       }) {
    const absl::StatusOr<std::unique_ptr<BatchProposer>> refused =
        CreateProposer(PlannerConfig(overrides));
    INFO(refused.status().ToString());
    REQUIRE_FALSE(refused.ok());
    CHECK(absl::StrContains(refused.status().message(), message));
  }
}

}  // namespace
}  // namespace routeserve::planning
