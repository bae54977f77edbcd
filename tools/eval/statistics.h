// What the evaluation makes of each problem's costs: a problem's outcome by method, and the gaps
// to the baseline summarized over a set of problems (a size and regime: a QualityCell).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "planning/plan_result.h"
#include "tools/eval/evaluation.h"

namespace routeserve::tools {

// One problem's costs; nullopt where a method gave no route.
struct Outcome {
  double baseline = 0;
  std::optional<double> served, proposed, greedy, classical, classical_equal_cpu;
  bool served_feasible = true, classical_feasible = true;
  double refine_ms = 0, classical_ms = 0;
  // The CPU the served path spent on the problem (evaluation.h), and the rounds the classical
  // solver ran within it.
  double served_cpu_ms = 0;
  int64_t equal_cpu_rounds = 0;
  std::optional<planning::RouteSource> served_source;
};

// The gaps (cost / baseline - 1) of `method` over `outcomes`; with `feasible`, the infeasible
// answers counted too.
GapSummary Summarize(const std::vector<const Outcome*>& outcomes,
                     std::optional<double> Outcome::*method, bool Outcome::*feasible);

// Every method's gaps, the sources and the times over `outcomes`, the problems of one size and
// regime.
QualityCell Cell(int stops, std::string regime, const std::vector<const Outcome*>& outcomes);

}  // namespace routeserve::tools
