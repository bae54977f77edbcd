// The model alone, timed: ModelRunner::Run (features, forward, checks) on batches of the
// evaluation's `speed_stops` stops at each of its batch sizes, greedy and with the config's
// decodings.
#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "config/config.h"
#include "tools/eval/evaluation.h"

namespace routeserve::tools {

// Empty (and a line on stderr) when speed_stops is more than the model takes.
absl::StatusOr<std::vector<SpeedPoint>> MeasureSpeed(const config::Config& config,
                                                     const EvaluationOptions& options);

}  // namespace routeserve::tools
