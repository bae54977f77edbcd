// What routeserve-eval prints: its report as markdown tables for people (stdout), and as JSON
// for scripts (--json; its keys are what tests/tools/test_eval.py reads).
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "tools/eval/evaluation.h"

namespace routeserve::tools {

// The model and the settings; the gap table over all regimes, then regime by regime; the
// reduced precisions' agreement with the config's; the model's speed.
std::string FormatReport(const EvaluationReport& report, const EvaluationOptions& options);

// One JSON object: the model and settings (model_version, device, precision, max_stops,
// decodings, refine_max_moves, seed, reference_budget, speed_stops), "cells" (stops, regime,
// baseline "exact" or "reference", problems, model_refined, fallbacks, the gaps of served,
// proposed, greedy and classical, refine_ms, classical_ms), "agreement", "speed" and
// "seconds"; indented, keys in alphabetical order, ending with a newline.
absl::StatusOr<std::string> ReportJson(const EvaluationReport& report,
                                       const EvaluationOptions& options);

}  // namespace routeserve::tools
