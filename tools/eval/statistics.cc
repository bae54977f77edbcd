// Summarize and Cell (tools/eval/statistics.h).
#include "tools/eval/statistics.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "routing/exact_solver.h"

namespace routeserve::tools {

GapSummary Summarize(const std::vector<const Outcome*>& outcomes,
                     std::optional<double> Outcome::*method, bool Outcome::*feasible) {
  GapSummary summary;
  std::vector<double> gaps;
  for (const Outcome* outcome : outcomes) {
    const std::optional<double>& cost = outcome->*method;
    if (!cost.has_value()) {
      ++summary.misses;
      continue;
    }
    if (feasible != nullptr && !(outcome->*feasible)) ++summary.infeasible;
    gaps.push_back(*cost / outcome->baseline - 1);
  }
  summary.answered = static_cast<int>(gaps.size());
  if (gaps.empty()) return summary;
  std::sort(gaps.begin(), gaps.end());
  double sum = 0;
  int optimal = 0;
  for (const double gap : gaps) {
    sum += gap;
    if (gap <= 1e-9) ++optimal;
  }
  summary.mean = sum / static_cast<double>(gaps.size());
  summary.p95 = gaps[std::min(gaps.size() - 1,
                              static_cast<size_t>(std::ceil(0.95 * gaps.size())) - 1)];
  summary.max = gaps.back();
  summary.optimal_share = static_cast<double>(optimal) / static_cast<double>(gaps.size());
  return summary;
}

QualityCell Cell(int stops, std::string regime, const std::vector<const Outcome*>& outcomes) {
  QualityCell cell{.stops = stops, .regime = std::move(regime),
                   .exact_baseline = stops <= routing::kMaxExactStops,
                   .problems = static_cast<int>(outcomes.size())};
  for (const Outcome* outcome : outcomes) {
    if (outcome->served_source == planning::RouteSource::kModelRefined) ++cell.model_refined;
    if (outcome->served_source == planning::RouteSource::kFallbackHeuristic) ++cell.fallbacks;
    cell.refine_ms += outcome->refine_ms / static_cast<double>(outcomes.size());
    cell.classical_ms += outcome->classical_ms / static_cast<double>(outcomes.size());
    cell.served_cpu_ms += outcome->served_cpu_ms / static_cast<double>(outcomes.size());
    cell.equal_cpu_rounds += static_cast<double>(outcome->equal_cpu_rounds) /
                             static_cast<double>(outcomes.size());
  }
  cell.served = Summarize(outcomes, &Outcome::served, &Outcome::served_feasible);
  cell.proposed = Summarize(outcomes, &Outcome::proposed, nullptr);
  cell.greedy = Summarize(outcomes, &Outcome::greedy, nullptr);
  cell.classical = Summarize(outcomes, &Outcome::classical, &Outcome::classical_feasible);
  cell.classical_equal_cpu = Summarize(outcomes, &Outcome::classical_equal_cpu, nullptr);
  return cell;
}

}  // namespace routeserve::tools
