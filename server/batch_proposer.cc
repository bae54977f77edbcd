// SolverProposer: the classical solver, one instance after another.
#include "server/batch_proposer.h"

namespace routeserve::server {

std::vector<absl::StatusOr<std::vector<int>>> SolverProposer::Propose(
    std::span<const routing::Instance* const> instances, const BatchShape& /*shape*/) {
  std::vector<absl::StatusOr<std::vector<int>>> orders;
  orders.reserve(instances.size());
  for (const routing::Instance* instance : instances) {
    orders.emplace_back(routing::Solve(*instance, options_).order);
  }
  return orders;
}

}  // namespace routeserve::server
