// Small helpers shared by the routing tests: building instances and enumerating regimes.
#pragma once

#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "routing/generator.h"
#include "routing/instance.h"

namespace routeserve::routing::testing {

inline Instance BuildOrFail(const RouteProblem& problem, const ObjectiveParams& params = {}) {
  absl::StatusOr<Instance> instance = Instance::Build(problem, params);
  INFO(instance.status().ToString());
  REQUIRE(instance.ok());
  return *std::move(instance);
}

struct Regime {
  std::string name;
  GeneratorOptions options;
};

// The regimes the evaluation distinguishes (docs/ARCHITECTURE.md, Targets), at a given size.
inline std::vector<Regime> Regimes(int num_stops) {
  GeneratorOptions base;
  base.num_stops = num_stops;
  base.end_position_probability = 0;
  std::vector<Regime> regimes;
  GeneratorOptions no_windows = base;
  no_windows.windows = TimeWindowTightness::kNone;
  no_windows.on_board_share = 0;
  regimes.push_back({"no windows", no_windows});
  GeneratorOptions tight = base;
  tight.windows = TimeWindowTightness::kTight;
  regimes.push_back({"tight windows", tight});
  GeneratorOptions on_board = base;
  on_board.on_board_share = 0.6;
  regimes.push_back({"orders on board", on_board});
  GeneratorOptions end = base;
  end.end_position_probability = 1;
  regimes.push_back({"end position", end});
  GeneratorOptions matrix = base;
  matrix.caller_matrix = true;
  matrix.visit_share = 0.2;
  regimes.push_back({"caller matrix", matrix});
  return regimes;
}

}  // namespace routeserve::routing::testing
