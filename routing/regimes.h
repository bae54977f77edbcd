// The regimes of generated problems that the training data mixes and the evaluation reports one
// by one (docs/ARCHITECTURE.md, Targets): the generator's options for each kind of day a
// courier can have.
//
// Tools number their problems from a seed S: problem i of seed S is generated from
// S * kSeedStride + i (i < kSeedStride), so different S never share a problem and training and
// evaluation data stay disjoint by seed alone.
#pragma once

#include <cstdint>
#include <span>

#include "routing/generator.h"

namespace routeserve::routing {

struct Regime {
  const char* name;  // "no windows", "tight windows", ...: the label in the data and reports
  GeneratorOptions options;  // num_stops is the caller's to set
};

// Every regime, in a fixed order: no windows, loose windows, tight windows, orders on board,
// end position, caller matrix, visits.
std::span<const Regime> Regimes();

inline constexpr uint64_t kSeedStride = 1'000'003;

}  // namespace routeserve::routing
