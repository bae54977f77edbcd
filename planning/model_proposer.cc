// ModelProposer: the model's decodings, the best of them, the fallback; CreateProposer.
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

  std::vector<absl::StatusOr<std::vector<model::Decoding>>> decoded;
  try {
    decoded = runner_->Run(to_model, runner_->PaddedSizeFor(shape.padded_size),
                           options_.decodings, shape.executor);
  } catch (const std::exception& e) {
    decoded.assign(to_model.size(), absl::InternalError(absl::StrCat("model: ", e.what())));
  } catch (...) {
    decoded.assign(to_model.size(), absl::InternalError("model: unknown exception"));
  }
  if (decoded.size() != to_model.size()) {
    decoded.assign(to_model.size(), absl::InternalError(absl::StrCat(
                                        "model: ", decoded.size(), " results for ",
                                        to_model.size(), " problems")));
  }

  const RouteSource source =
      options_.refine_max_moves > 0 ? RouteSource::kModelRefined : RouteSource::kModel;
  for (size_t j = 0; j < to_model.size(); ++j) {
    const size_t i = to_model_index[j];
    if (!decoded[j].ok()) {
      const FallbackReason reason = decoded[j].status().code() == absl::StatusCode::kDataLoss
                                        ? FallbackReason::kInvalidOrder
                                        : FallbackReason::kModelError;
      proposals[i] = Fallback(*to_model[j], reason, decoded[j].status().message());
      continue;
    }
    std::vector<model::Decoding>& decodings = *decoded[j];
    // Best first by cost; a stable sort keeps the earlier decoding (greedy first) on a tie, as
    // model::BestDecoding chooses.
    std::stable_sort(decodings.begin(), decodings.end(),
                     [](const model::Decoding& a, const model::Decoding& b) {
                       return a.cost < b.cost;
                     });
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
    proposals[i] = std::move(proposal);
  }
  return proposals;
}

std::vector<int> ModelProposer::RefineAlternative(const routing::Instance& instance,
                                                  std::vector<int> order) const {
  if (options_.refine_max_moves == 0) return order;
  routing::SolverOptions descent = options_.solver;
  descent.max_moves = options_.refine_max_moves;
  descent.perturbation_rounds = 0;
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
  options.objective = config.objective;
  options.threads = config.model.threads;
  options.executors = BatchingPlanner::ExecutorsFor(config);
  options.max_batch_size = config.batching.max_batch_size;
  return options;
}

ModelProposerOptions ProposerOptionsFor(const config::Config& config) {
  return ModelProposerOptions{.decodings = config.model.decodings,
                              .refine_max_moves = config.refine.max_moves,
                              .refine_perturbation_rounds = config.refine.perturbation_rounds,
                              .solver = config.solver};
}

absl::StatusOr<std::unique_ptr<BatchProposer>> CreateProposer(const config::Config& config) {
  if (config.model.path.empty()) return std::make_unique<SolverProposer>(config.solver);

  absl::StatusOr<std::unique_ptr<model::ModelRunner>> runner =
      model::ModelRunner::Load(config.model.path, RunnerOptionsFor(config));
  if (!runner.ok()) return runner.status();
  const model::ModelRunner& loaded = **runner;
  base::Log("model: %s from \"%s\" on %s, %s, %d intra-op threads, max_stops %d, %d decodings per "
      "request",
      loaded.model_version(), config.model.path, loaded.device(),
      model::PrecisionName(loaded.precision()), loaded.threads(), loaded.max_stops(),
      config.model.decodings);
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
      "model: warmed up %d shapes (N in [%s] x batch classes [%s]) in %s; slowest N %d, batch "
      "%d: %s",
      warmup->shapes, absl::StrJoin(sizes, ", "),
      absl::StrJoin(model::ModelRunner::BatchClasses(config.batching.max_batch_size), ", "),
      absl::FormatDuration(warmup->total), warmup->slowest_padded_size, warmup->slowest_batch,
      absl::FormatDuration(warmup->slowest));

  return std::make_unique<ModelProposer>(*std::move(runner), ProposerOptionsFor(config));
}

}  // namespace routeserve::planning
