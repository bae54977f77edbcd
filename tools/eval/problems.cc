// The evaluation's problems (tools/eval/problems.h).
#include "tools/eval/problems.h"

#include <span>
#include <utility>

#include "api/request.h"
#include "routing/exact_solver.h"
#include "routing/regimes.h"

namespace routeserve::tools {

absl::StatusOr<routing::RouteProblem> ServedProblem(const config::Config& config,
                                                    const routing::GeneratorOptions& generator,
                                                    uint64_t seed) {
  const routing::RouteProblem generated =
      routing::GenerateProblem(generator, seed, config.objective);
  return api::ToRouteProblem(api::ToSuggestRequest(generated),
                             {.max_stops = config.limits.max_stops});
}

absl::StatusOr<std::vector<EvalProblem>> MakeProblems(const config::Config& config,
                                                      const EvaluationOptions& options) {
  std::vector<EvalProblem> problems;
  const std::span<const routing::Regime> regimes = routing::Regimes();
  for (const int stops : options.sizes) {
    const int count = stops <= routing::kMaxExactStops ? options.per_regime
                                                       : options.per_regime_large;
    for (int r = 0; r < static_cast<int>(regimes.size()); ++r) {
      for (int i = 0; i < count; ++i) {
        routing::GeneratorOptions generator = regimes[r].options;
        generator.num_stops = stops;
        // Distinct for every (stops, regime, i) within the seed's range (the options' limits).
        const uint64_t seed = options.seed * routing::kSeedStride +
                              static_cast<uint64_t>((stops * 8 + r) * 1000 + i);
        absl::StatusOr<routing::RouteProblem> problem = ServedProblem(config, generator, seed);
        if (!problem.ok()) return problem.status();
        absl::StatusOr<routing::Instance> instance =
            routing::Instance::Build(*problem, config.objective);
        if (!instance.ok()) return instance.status();
        problems.push_back({stops, r, *std::move(problem), *std::move(instance)});
      }
    }
  }
  return problems;
}

}  // namespace routeserve::tools
