// The evaluation's problems: generated per regime and size (routing/regimes.h) from seeds
// disjoint from the training data's, each as the server sees it (through its request form and
// back) and built into an instance for the baselines.
#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "config/config.h"
#include "routing/generator.h"
#include "routing/instance.h"
#include "routing/problem.h"
#include "tools/eval/evaluation.h"

namespace routeserve::tools {

// EvalProblem::regime of a closed tour: uniform visits, no windows, the route ends where it
// starts (the classic tour problem, as the server sees it).
inline constexpr int kClosedTour = -1;
inline constexpr char kClosedTourName[] = "closed tour";
// The most closed tours a size: their seeds take what the regimes' leave of the seed range.
inline constexpr int kMostClosedTours = 250;

struct EvalProblem {
  int stops = 0;
  int regime = 0;  // index into routing::Regimes(), or kClosedTour
  routing::RouteProblem problem;
  routing::Instance instance;
};

// A generated problem as the server receives it: through its request form and back.
absl::StatusOr<routing::RouteProblem> ServedProblem(const config::Config& config,
                                                    const routing::GeneratorOptions& generator,
                                                    uint64_t seed);

// `per_regime` (or `per_regime_large`, above routing::kMaxExactStops) of every regime at every
// size of `options`, then as many closed tours (at most kMostClosedTours) at each of its
// closed-tour sizes.
absl::StatusOr<std::vector<EvalProblem>> MakeProblems(const config::Config& config,
                                                      const EvaluationOptions& options);

}  // namespace routeserve::tools
