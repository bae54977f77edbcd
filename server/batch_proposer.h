// BatchProposer: what the batching planner (server/batching_planner.h) hands each batch to, to
// get one visiting order per problem; and SolverProposer, which answers with the classical
// solver. The model runner (DESIGN §5) is another implementation: one batched forward pass over
// the padded batch.
//
// CONTRACT: Propose() gets the built instances of one batch, all of one bucket (each holds at
//   most shape.padded_size stops), and returns exactly one result per instance, in order: an
//   order of that instance's stop indices (every index 0..num_stops()-1 once) or the status of
//   why there is none. A result that is no such order is a fault of the proposer, answered
//   INTERNAL. Refinement, evaluation and the response are the planner's, not the proposer's.
// ERRORS: a status per instance. An exception thrown by Propose() is caught by the planner and
//   answers every instance of the batch with INTERNAL.
// THREADING: Propose() is called on the batcher's executor threads, concurrently when there are
//   several executors, each with its own shape.executor (0 .. executors-1): per-executor state
//   (a device stream, scratch buffers) may be indexed by it without locks. source() is
//   thread-safe.
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

  // What the responses say produced their routes.
  virtual v1::RouteSource source() const = 0;
};

// The classical solver (routing::Solve with `options`) on each instance in turn; source
// HEURISTIC. Deterministic: the same instance gets the same order whatever its batch. Holds no
// state: any number of executors may call it at once.
class SolverProposer final : public BatchProposer {
 public:
  explicit SolverProposer(const routing::SolverOptions& options) : options_(options) {}

  std::vector<absl::StatusOr<std::vector<int>>> Propose(
      std::span<const routing::Instance* const> instances, const BatchShape& shape) override;
  v1::RouteSource source() const override { return v1::ROUTE_SOURCE_HEURISTIC; }

 private:
  const routing::SolverOptions options_;
};

}  // namespace routeserve::server
