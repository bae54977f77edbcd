// MeasureSpeed (tools/eval/speed.h).
#include "tools/eval/speed.h"

#include <chrono>
#include <cstdio>
#include <span>
#include <utility>

#include "model/model_runner.h"
#include "planning/batching_planner.h"
#include "planning/model_proposer.h"
#include "routing/instance.h"
#include "routing/regimes.h"
#include "tools/eval/problems.h"

namespace routeserve::tools {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

}  // namespace

absl::StatusOr<std::vector<SpeedPoint>> MeasureSpeed(const config::Config& config,
                                                     const EvaluationOptions& options) {
  absl::StatusOr<std::unique_ptr<model::ModelRunner>> loaded =
      model::ModelRunner::Load(config.model.path, planning::RunnerOptionsFor(config));
  if (!loaded.ok()) return loaded.status();
  model::ModelRunner& runner = **loaded;
  if (options.speed_stops > runner.max_stops()) {
    std::fprintf(stderr, "routeserve-eval: no speed figures: %d stops is more than the model's "
                 "max_stops, %d\n", options.speed_stops, runner.max_stops());
    return std::vector<SpeedPoint>{};
  }
  const int padded = runner.PaddedSizeFor(
      planning::BatchingPlanner::BucketSizeFor(config, options.speed_stops));
  const std::span<const routing::Regime> regimes = routing::Regimes();
  std::vector<SpeedPoint> points;
  for (const int batch_size : options.speed_batch_sizes) {
    std::vector<routing::Instance> instances;
    for (int i = 0; i < batch_size; ++i) {
      routing::GeneratorOptions generator = regimes[i % regimes.size()].options;
      generator.num_stops = options.speed_stops;
      absl::StatusOr<routing::RouteProblem> problem = ServedProblem(
          config, generator, (options.seed + 1) * routing::kSeedStride + i);
      if (!problem.ok()) return problem.status();
      absl::StatusOr<routing::Instance> instance =
          routing::Instance::Build(*problem, config.objective);
      if (!instance.ok()) return instance.status();
      instances.push_back(*std::move(instance));
    }
    std::vector<const routing::Instance*> batch;
    for (const routing::Instance& instance : instances) batch.push_back(&instance);
    for (const int decodings : {1, config.model.decodings}) {
      if (decodings == 1 && config.model.decodings == 1 && !points.empty() &&
          points.back().batch_size == batch_size) {
        continue;
      }
      runner.Run(batch, padded, decodings, 0);  // its shape's first run is not measured
      int runs = 0;
      const Clock::time_point start = Clock::now();
      while (runs < 3 || Seconds(start) < options.speed_seconds) {
        for (const auto& result : runner.Run(batch, padded, decodings, 0)) {
          if (!result.ok()) return result.status();
        }
        ++runs;
      }
      const double seconds = Seconds(start);
      points.push_back({.batch_size = batch_size, .decodings = decodings,
                        .routes_per_s = batch_size * runs / seconds,
                        .batch_ms = 1000 * seconds / runs});
    }
  }
  return points;
}

}  // namespace routeserve::tools
