// BatchProposer: what the batching planner (planning/batching_planner.h) hands each batch to, to
// get one proposal per problem (a visiting order, its cost and the source that produced it), and
// each proposal to, to refine it; and SolverProposer, the classical solver split in two:
// cheapest insertion proposes, the local and iterated search refines. ModelProposer
// (planning/model_proposer.h) is the other implementation: one batched forward pass of the route
// model proposes, local search refines, and the classical solver stands in per problem where the
// model cannot answer.
//
// CONTRACT: Propose() gets the built instances of one batch, all of one bucket (each holds at
//   most shape.padded_size stops), and returns exactly one result per instance, in order: a
//   Proposal, whose order holds that instance's stop indices (every index 0..num_stops()-1
//   once) and whose source is set, with the cost routing::Evaluate gives that order, or the
//   status of why there is none. A result that is no
//   such proposal is a fault of the proposer, answered INTERNAL. Refine() then improves each
//   proposal on the planner's refine pool, off the executor, as its source calls for, and
//   within the caller's deadline; the source goes into the answer; evaluation and the answer
//   are the planner's.
// ERRORS: a status per instance. An exception thrown by Propose() is caught by the planner and
//   answers every instance of the batch with INTERNAL.
// THREADING: Propose() is called on the batcher's executor threads, concurrently when there are
//   several executors, each with its own shape.executor (0 .. executors-1): per-executor state
//   (a device stream, scratch buffers) may be indexed by it without locks. Refine() and
//   model_version() are thread-safe.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "batching/clock.h"
#include "planning/plan_result.h"
#include "routing/candidates.h"
#include "routing/instance.h"
#include "routing/solver.h"

namespace routeserve::planning {

// The shape a batch runs in.
struct BatchShape {
  int padded_size = 0;  // the bucket's stop count: what every instance of the batch fits in
  int executor = 0;     // the executor running the batch, 0 .. executors-1
};

// An order of a problem's stops (its indices in visiting order) and its cost.
struct CostedOrder {
  std::vector<int> order;
  double cost = 0;
};

class BatchProposer;

// What Propose() says of one problem.
struct Proposal {
  std::vector<int> order;  // the stop indices in visiting order
  double cost = 0;         // routing::Evaluate's cost of `order`, as the proposer knows it
  // What produced the order, and so how Refine() treats it and what the answer says. Empty is
  // a fault of the proposer.
  std::optional<RouteSource> source;
  // Other feasible orders with their costs, distinct from `order` and from each other, best
  // first (the model's other decodings or starts); empty from the classical solver. Answers
  // offer them when options.num_alternatives asks.
  std::vector<CostedOrder> alternatives;
  // Candidate lists for the search that refines `order` and the alternatives (route-v2: each
  // node's best-scored successors); null: the solver's own (solver.candidates).
  std::shared_ptr<const routing::CandidateLists> candidates;
  // The proposer that refines this proposal and whose model_version() it carries, kept alive
  // until it is refined: set by a proposer that hands batches on to another
  // (ReloadingProposer), so that a model swapped out meanwhile still finishes what it began;
  // null: the proposer that returned it.
  std::shared_ptr<const BatchProposer> refiner;
};

class BatchProposer {
 public:
  virtual ~BatchProposer() = default;

  // One result per instance, in order (see CONTRACT above).
  virtual std::vector<absl::StatusOr<Proposal>> Propose(
      std::span<const routing::Instance* const> instances, const BatchShape& shape) = 0;

  // A better order for `instance` than `proposal`'s (an order of its stops), as its source calls
  // for, or that order itself; refinement stops early, with the best order so far, once
  // `deadline` (the caller's, on `clock`) has come. Runs on the refine pool, never on an
  // executor.
  virtual std::vector<int> Refine(const routing::Instance& instance, Proposal proposal,
                                  absl::Time deadline, const batching::Clock& clock) const = 0;

  // One of a proposal's alternatives, improved as its source calls for but by one descent
  // only (no perturbation rounds), with the proposal's `candidates` (may be null): a caller
  // who asks for alternatives wants good ones, at a cost bounded by the number asked. The
  // default keeps the order as it is.
  virtual std::vector<int> RefineAlternative(
      const routing::Instance& /*instance*/, std::vector<int> order,
      const routing::CandidateLists* /*candidates*/) const {
    return order;
  }

  // The model version the answers carry (the model's directory name and a hash of its files);
  // empty when no model is loaded.
  virtual std::string model_version() const { return {}; }
};

// The solver's options for a refinement that must stop at `deadline` (none when infinite).
routing::SolverOptions WithDeadline(routing::SolverOptions options, absl::Time deadline,
                                    const batching::Clock& clock);

// The classical solver, source HEURISTIC: Propose() builds each instance's insertion route
// (quick: the executor moves on to the next batch), Refine() runs routing::SolveFrom with
// `options` on it, in parallel across the refine pool. Deterministic: the same instance gets
// the route routing::Solve gives it, whatever its batch. Holds no state.
class SolverProposer final : public BatchProposer {
 public:
  // `source`: what answers say, kHeuristic by default; ModelProposer's stand-in says
  // kFallbackHeuristic.
  explicit SolverProposer(const routing::SolverOptions& options,
                          RouteSource source = RouteSource::kHeuristic)
      : options_(options), source_(source) {}

  std::vector<absl::StatusOr<Proposal>> Propose(
      std::span<const routing::Instance* const> instances, const BatchShape& shape) override;
  std::vector<int> Refine(const routing::Instance& instance, Proposal proposal,
                          absl::Time deadline, const batching::Clock& clock) const override;

  // The insertion route of one instance, as Propose() proposes it.
  Proposal ProposeOne(const routing::Instance& instance) const;

 private:
  const routing::SolverOptions options_;
  const RouteSource source_;
};

}  // namespace routeserve::planning
