// The evaluation's problems (tools/eval/problems.h).
#include "tools/eval/problems.h"

#include <algorithm>
#include <span>
#include <utility>

#include "api/request.h"
#include "routing/exact_solver.h"
#include "routing/regimes.h"

namespace routeserve::tools {

namespace {

// Seed offsets within a seed range (routing::kSeedStride): the regimes' are
// (stops * 8 + regime) * 1000 + i, below this for stops <= 120; closed tours take the rest.
constexpr uint64_t kClosedTourOffset = 968'000;

absl::StatusOr<routing::RouteProblem> AsServed(const config::Config& config,
                                               const routing::RouteProblem& generated) {
  return api::ToRouteProblem(api::ToSuggestRequest(generated),
                             {.max_stops = config.limits.max_stops});
}

absl::Status Add(const config::Config& config, int stops, int regime,
                 absl::StatusOr<routing::RouteProblem> problem,
                 std::vector<EvalProblem>& problems) {
  if (!problem.ok()) return problem.status();
  absl::StatusOr<routing::Instance> instance = routing::Instance::Build(*problem, config.objective);
  if (!instance.ok()) return instance.status();
  problems.push_back({stops, regime, *std::move(problem), *std::move(instance)});
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<routing::RouteProblem> ServedProblem(const config::Config& config,
                                                    const routing::GeneratorOptions& generator,
                                                    uint64_t seed) {
  return AsServed(config, routing::GenerateProblem(generator, seed, config.objective));
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
        absl::Status added =
            Add(config, stops, r, ServedProblem(config, generator, seed), problems);
        if (!added.ok()) return added;
      }
    }
  }
  for (const int stops : options.closed_tour_sizes) {
    routing::GeneratorOptions generator;
    generator.num_stops = stops;
    generator.visit_share = 1;
    generator.windows = routing::TimeWindowTightness::kNone;
    generator.end_position_probability = 0;
    const int count = std::min(kMostClosedTours, stops <= routing::kMaxExactStops
                                                     ? options.per_regime
                                                     : options.per_regime_large);
    for (int i = 0; i < count; ++i) {
      const uint64_t seed = options.seed * routing::kSeedStride + kClosedTourOffset +
                            static_cast<uint64_t>((stops - 1) * kMostClosedTours + i);
      routing::RouteProblem tour = routing::GenerateProblem(generator, seed, config.objective);
      tour.end_position = tour.courier.position;
      absl::Status added = Add(config, stops, kClosedTour, AsServed(config, tour), problems);
      if (!added.ok()) return added;
    }
  }
  return problems;
}

}  // namespace routeserve::tools
