// BatchProposer: what the batching planner (server/batching_planner.h) hands each batch to, to
// get one visiting order per problem, and each proposed order to, to refine it; and
// SolverProposer, the classical solver split in two: cheapest insertion proposes, the local and
// iterated search refines. The model runner (DESIGN §5) is another implementation: one batched
// forward pass over the padded batch proposes, local search refines.
//
// CONTRACT: Propose() gets the built instances of one batch, all of one bucket (each holds at
//   most shape.padded_size stops), and returns exactly one result per instance, in order: an
//   order of that instance's stop indices (every index 0..num_stops()-1 once) or the status of
//   why there is none. A result that is no such order is a fault of the proposer, answered
//   INTERNAL. Refine() then improves each order on the planner's refine pool, off the executor;
//   evaluation and the response are the planner's.
// ERRORS: a status per instance. An exception thrown by Propose() is caught by the planner and
//   answers every instance of the batch with INTERNAL.
// THREADING: Propose() is called on the batcher's executor threads, concurrently when there are
//   several executors, each with its own shape.executor (0 .. executors-1): per-executor state
//   (a device stream, scratch buffers) may be indexed by it without locks. Refine() and source()
//   are thread-safe.
#pragma once

#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "routeserve/v1/route_service.pb.h"
#include "routing/instance.h"
#include "routing/solver.h"

namespace routeserve::server {

// The shape a batch runs in.
struct BatchShape {
  int padded_size = 0;  // the bucket's stop count: what every instance of the batch fits in
  int executor = 0;     // the executor running the batch, 0 .. executors-1
};

class BatchProposer {
 public:
  virtual ~BatchProposer() = default;

  // One result per instance, in order (see CONTRACT above).
  virtual std::vector<absl::StatusOr<std::vector<int>>> Propose(
      std::span<const routing::Instance* const> instances, const BatchShape& shape) = 0;

  // A better order for `instance` from the proposed one (which is an order of its stops), or
  // the proposed one itself. Runs on the refine pool, never on an executor.
  virtual std::vector<int> Refine(const routing::Instance& instance,
                                  std::vector<int> proposed) const = 0;

  // What the responses say produced their routes.
  virtual v1::RouteSource source() const = 0;
};

// The classical solver, source HEURISTIC: Propose() builds each instance's insertion route
// (quick: the executor moves on to the next batch), Refine() runs routing::SolveFrom with
// `options` on it, in parallel across the refine pool. Deterministic: the same instance gets
// the route routing::Solve gives it, whatever its batch. Holds no state.
class SolverProposer final : public BatchProposer {
 public:
  explicit SolverProposer(const routing::SolverOptions& options) : options_(options) {}

  std::vector<absl::StatusOr<std::vector<int>>> Propose(
      std::span<const routing::Instance* const> instances, const BatchShape& shape) override;
  std::vector<int> Refine(const routing::Instance& instance,
                          std::vector<int> proposed) const override;
  v1::RouteSource source() const override { return v1::ROUTE_SOURCE_HEURISTIC; }

 private:
  const routing::SolverOptions options_;
};

}  // namespace routeserve::server
