// SolverProposer: the classical solver, construction on the executor, search on the pool.
#include "server/batch_proposer.h"

namespace routeserve::server {

std::vector<absl::StatusOr<std::vector<int>>> SolverProposer::Propose(
    std::span<const routing::Instance* const> instances, const BatchShape& /*shape*/) {
  std::vector<absl::StatusOr<std::vector<int>>> orders;
  orders.reserve(instances.size());
  for (const routing::Instance* instance : instances) {
    orders.emplace_back(routing::InsertionRoute(*instance).order);
  }
  return orders;
}

std::vector<int> SolverProposer::Refine(const routing::Instance& instance,
                                        std::vector<int> proposed) const {
  return routing::SolveFrom(instance, std::move(proposed), options_).order;
}

}  // namespace routeserve::server
