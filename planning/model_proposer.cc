// ModelProposer: the model's decodings, the best of them, the fallback; LoadModelProposer.
#include "planning/model_proposer.h"

#include <algorithm>
#include <exception>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "planning/batching_planner.h"
#include "base/log.h"

namespace routeserve::planning {

absl::string_view FallbackReasonName(FallbackReason reason) {
  switch (reason) {
    case FallbackReason::kStopsAboveModelMax:
      return "stops_above_model_max";
    case FallbackReason::kModelError:
      return "model_error";
    case FallbackReason::kInvalidOrder:
      return "invalid_order";
    case FallbackReason::kExecutorStuck:
      return "executor_stuck";
  }
  return "unknown";
}

ModelProposer::ModelProposer(std::unique_ptr<model::ModelRunner> runner,
                             const ModelProposerOptions& options)
    : runner_(std::move(runner)), options_(options),
      fallback_(options.solver, RouteSource::kFallbackHeuristic) {}

ModelProposer::~ModelProposer() = default;

std::string ModelProposer::model_version() const {
  return runner_ != nullptr ? runner_->model_version() : std::string();
}

FallbackCounts ModelProposer::fallback_counts() const {
  auto count = [this](FallbackReason reason) {
    return fallbacks_[static_cast<int>(reason)].load(std::memory_order_relaxed);
  };
  return FallbackCounts{.stops_above_model_max = count(FallbackReason::kStopsAboveModelMax),
                        .model_error = count(FallbackReason::kModelError),
                        .invalid_order = count(FallbackReason::kInvalidOrder)};
}

Proposal ModelProposer::Fallback(const routing::Instance& instance, FallbackReason reason,
                                 absl::string_view cause) {
  if (fallbacks_[static_cast<int>(reason)].fetch_add(1, std::memory_order_relaxed) == 0) {
    base::Log(
        "model: the classical solver answers in the model's place (%s): %s; further fallbacks "
        "are counted, not logged",
        FallbackReasonName(reason), cause);
  }
  return fallback_.ProposeOne(instance);
}

std::vector<absl::StatusOr<Proposal>> ModelProposer::Propose(
    std::span<const routing::Instance* const> instances, const BatchShape& shape) {
  std::vector<absl::StatusOr<Proposal>> proposals(instances.size(),
                                                  absl::InternalError("not proposed"));
  std::vector<const routing::Instance*> to_model;
  std::vector<size_t> to_model_index;
  for (size_t i = 0; i < instances.size(); ++i) {
    const routing::Instance& instance = *instances[i];
    if (runner_ == nullptr) {
      proposals[i] = Fallback(instance, FallbackReason::kModelError, "no model is loaded");
    } else if (instance.num_stops() > runner_->max_stops()) {
      proposals[i] = Fallback(instance, FallbackReason::kStopsAboveModelMax,
                              absl::StrCat(instance.num_stops(), " stops, the model takes ",
                                           runner_->max_stops()));
    } else {
      to_model.push_back(&instance);
      to_model_index.push_back(i);
    }
  }
  if (to_model.empty()) return proposals;

  const int N = runner_->PaddedSizeFor(shape.padded_size);
  const bool edges = runner_->family() == model::ModelFamily::kEdges;
  // The model's answers, one per problem: route-v2's scores kept for the candidate lists.
  std::vector<absl::StatusOr<model::ScoredProblem>> scored;
  std::vector<absl::StatusOr<std::vector<model::Decoding>>> decoded;
  auto all = [&](const absl::Status& status) {
    scored.assign(to_model.size(), status);
    decoded.assign(to_model.size(), status);
  };
  try {
    if (edges) {
      scored = runner_->Score(to_model, N, options_.decodings, shape.executor);
    } else {
      decoded = runner_->Run(to_model, N, options_.decodings, shape.executor);
    }
  } catch (const std::exception& e) {
    all(absl::InternalError(absl::StrCat("model: ", e.what())));
  } catch (...) {
    all(absl::InternalError("model: unknown exception"));
  }
  const size_t answered = edges ? scored.size() : decoded.size();
  if (answered != to_model.size()) {
    all(absl::InternalError(absl::StrCat("model: ", answered, " results for ", to_model.size(),
                                         " problems")));
  }

  for (size_t j = 0; j < to_model.size(); ++j) {
    const routing::Instance& instance = *to_model[j];
    if (!edges) {
      proposals[to_model_index[j]] = FromDecodings(instance, std::move(decoded[j]));
      continue;
    }
    if (!scored[j].ok()) {
      proposals[to_model_index[j]] = FromDecodings(instance, scored[j].status());
      continue;
    }
    Proposal proposal = FromDecodings(instance, std::move(scored[j]->starts));
    if (options_.candidates > 0) {
      proposal.candidates = std::make_shared<const routing::CandidateLists>(
          routing::BestScored(instance, scored[j]->scores, options_.candidates));
    }
    proposals[to_model_index[j]] = std::move(proposal);
  }
  return proposals;
}

Proposal ModelProposer::FromDecodings(
    const routing::Instance& instance,
    absl::StatusOr<std::vector<model::Decoding>> decoded) {
  if (!decoded.ok()) {
    const FallbackReason reason = decoded.status().code() == absl::StatusCode::kDataLoss
                                      ? FallbackReason::kInvalidOrder
                                      : FallbackReason::kModelError;
    return Fallback(instance, reason, decoded.status().message());
  }
  std::vector<model::Decoding>& decodings = *decoded;
  // Best first by cost; a stable sort keeps the earlier decoding (greedy first) on a tie, as
  // model::BestDecoding chooses.
  std::stable_sort(decodings.begin(), decodings.end(),
                   [](const model::Decoding& a, const model::Decoding& b) {
                     return a.cost < b.cost;
                   });
  const RouteSource source =
      options_.refine_max_moves > 0 ? RouteSource::kModelRefined : RouteSource::kModel;
  Proposal proposal{.order = std::move(decodings[0].order),
                    .cost = decodings[0].cost,
                    .source = source};
  for (size_t r = 1; r < decodings.size(); ++r) {
    std::vector<int>& order = decodings[r].order;
    const bool seen = order == proposal.order ||
                      std::any_of(proposal.alternatives.begin(), proposal.alternatives.end(),
                                  [&order](const CostedOrder& other) {
                                    return other.order == order;
                                  });
    if (!seen) proposal.alternatives.push_back({std::move(order), decodings[r].cost});
  }
  return proposal;
}

std::vector<int> ModelProposer::RefineAlternative(
    const routing::Instance& instance, std::vector<int> order,
    const routing::CandidateLists* candidates) const {
  if (options_.refine_max_moves == 0) return order;
  routing::SolverOptions descent = options_.solver;
  descent.max_moves = options_.refine_max_moves;
  descent.perturbation_rounds = 0;
  descent.candidates = candidates;
  return routing::SolveFrom(instance, std::move(order), descent).order;
}

std::vector<int> ModelProposer::Refine(const routing::Instance& instance, Proposal proposal,
                                       absl::Time deadline,
                                       const batching::Clock& clock) const {
  switch (proposal.source.value_or(RouteSource::kFallbackHeuristic)) {
    case RouteSource::kModelRefined: {
      routing::SolverOptions search = WithDeadline(options_.solver, deadline, clock);
      search.max_moves = options_.refine_max_moves;
      search.perturbation_rounds = options_.refine_perturbation_rounds;
      search.candidates = proposal.candidates.get();  // outlives the solve: `proposal` does
      if (runner_ != nullptr && runner_->family() == model::ModelFamily::kEdges) {
        routing::Solution insertion = routing::InsertionRoute(instance);
        if (insertion.cost < proposal.cost) proposal.order = std::move(insertion.order);
      }
      return routing::SolveFrom(instance, std::move(proposal.order), search).order;
    }
    case RouteSource::kModel:
      return std::move(proposal.order);
    default:
      return fallback_.Refine(instance, std::move(proposal), deadline, clock);
  }
}

model::ModelRunnerOptions RunnerOptionsFor(const config::Config& config) {
  model::ModelRunnerOptions options;
  options.device = config.model.device;
  options.precision = config.model.precision;
  options.cuda_graphs = config.model.cuda_graphs;
  options.objective = config.objective;
  options.threads = config.model.threads;
  options.executors = BatchingPlanner::ExecutorsFor(config);
  options.max_batch_size = config.batching.max_batch_size;
  return options;
}

ModelProposerOptions ProposerOptionsFor(const config::Config& config) {
  return ModelProposerOptions{.decodings = config.model.decodings,
                              .candidates = config.model.candidates,
                              .refine_max_moves = config.refine.max_moves,
                              .refine_perturbation_rounds = config.refine.perturbation_rounds,
                              .solver = config.solver};
}

absl::StatusOr<std::unique_ptr<ModelProposer>> LoadModelProposer(const config::Config& config,
                                                                 const std::string& model_dir) {
  absl::StatusOr<std::unique_ptr<model::ModelRunner>> runner =
      model::ModelRunner::Load(model_dir, RunnerOptionsFor(config));
  if (!runner.ok()) return runner.status();
  const model::ModelRunner& loaded = **runner;
  base::Log(
      "model: %s (%s) from \"%s\" on %s, %s, %d intra-op threads, max_stops %d, %d decodings "
      "per request",
      loaded.model_version(), model::ModelFamilyName(loaded.family()), model_dir,
      loaded.device(), model::PrecisionName(loaded.precision()), loaded.threads(),
      loaded.max_stops(), config.model.decodings);
  for (const std::string& warning : loaded.warnings()) {
    base::Log("model: warning: %s (routes are still scored by the config's objective)", warning);
  }

  absl::StatusOr<model::WarmupReport> warmup =
      (*runner)->Warmup(config.batching.buckets, config.model.decodings);
  if (!warmup.ok()) return warmup.status();
  std::vector<int> sizes;
  for (const int bucket : config.batching.buckets) {
    const int size = loaded.PaddedSizeFor(bucket);
    if (sizes.empty() || sizes.back() != size) sizes.push_back(size);
  }
  base::Log(
      "model: warmed up %d shapes (N in [%s] x batch classes [%s]), %d forward passes over the "
      "executors, in %s; slowest N %d, batch %d: %s",
      warmup->shapes, absl::StrJoin(sizes, ", "),
      absl::StrJoin(model::ModelRunner::BatchClasses(config.batching.max_batch_size), ", "),
      warmup->forward_passes, absl::FormatDuration(warmup->total), warmup->slowest_padded_size,
      warmup->slowest_batch, absl::FormatDuration(warmup->slowest));
  if (warmup->graphs.captured > 0 || warmup->graphs.failed > 0) {
    base::Log("model: %d shapes x executors captured as CUDA graphs, %d run eagerly%s",
              warmup->graphs.captured, warmup->graphs.failed,
              warmup->graphs.failed > 0
                  ? absl::StrCat(" (the first capture that failed, ", warmup->graphs.first_failure,
                                 ")")
                  : std::string());
  }

  return std::make_unique<ModelProposer>(*std::move(runner), ProposerOptionsFor(config));
}

}  // namespace routeserve::planning
