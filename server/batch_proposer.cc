// SolverProposer: the classical solver, construction on the executor, search on the pool.
#include "server/batch_proposer.h"

#include <utility>

namespace routeserve::server {

Proposal SolverProposer::ProposeOne(const routing::Instance& instance) const {
  return Proposal{.order = routing::InsertionRoute(instance).order, .source = source_};
}

std::vector<absl::StatusOr<Proposal>> SolverProposer::Propose(
    std::span<const routing::Instance* const> instances, const BatchShape& /*shape*/) {
  std::vector<absl::StatusOr<Proposal>> proposals;
  proposals.reserve(instances.size());
  for (const routing::Instance* instance : instances) proposals.emplace_back(ProposeOne(*instance));
  return proposals;
}

std::vector<int> SolverProposer::Refine(const routing::Instance& instance,
                                        Proposal proposal) const {
  return routing::SolveFrom(instance, std::move(proposal.order), options_).order;
}

}  // namespace routeserve::server
