// SolverProposer: the classical solver, construction on the executor, search on the pool.
#include "planning/batch_proposer.h"

#include <utility>

namespace routeserve::planning {

routing::SolverOptions WithDeadline(routing::SolverOptions options, absl::Time deadline,
                                    const batching::Clock& clock) {
  if (deadline != absl::InfiniteFuture()) {
    options.out_of_time = [&clock, deadline] { return clock.Now() >= deadline; };
  }
  return options;
}

Proposal SolverProposer::ProposeOne(const routing::Instance& instance) const {
  routing::Solution insertion = routing::InsertionRoute(instance);
  return Proposal{.order = std::move(insertion.order), .cost = insertion.cost, .source = source_};
}

std::vector<absl::StatusOr<Proposal>> SolverProposer::Propose(
    std::span<const routing::Instance* const> instances, const BatchShape& /*shape*/) {
  std::vector<absl::StatusOr<Proposal>> proposals;
  proposals.reserve(instances.size());
  for (const routing::Instance* instance : instances) proposals.emplace_back(ProposeOne(*instance));
  return proposals;
}

std::vector<int> SolverProposer::Refine(const routing::Instance& instance, Proposal proposal,
                                        absl::Time deadline,
                                        const batching::Clock& clock) const {
  return routing::SolveFrom(instance, std::move(proposal.order),
                            WithDeadline(options_, deadline, clock))
      .order;
}

}  // namespace routeserve::planning
