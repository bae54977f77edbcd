// A seeded generator of synthetic but realistic problems: a city with restaurants clustered in
// a few hotspots and customers scattered around them, orders with food-ready times and promised
// delivery times, some orders already on board, sometimes an end position and a caller's
// travel-time matrix. Tests, tools, benchmarks and the model's training data all draw from it.
//
// The same options and seed give the same problem on every platform: the generator uses its
// own arithmetic on a 64-bit PRNG, never the standard library's distributions.
#pragma once

#include <cstdint>

#include "routing/objective.h"
#include "routing/problem.h"

namespace routeserve::routing {

enum class TimeWindowTightness {
  kNone,   // no windows at all
  kLoose,  // promised times with room to spare
  kTight,  // promised times that force a careful order
};

struct GeneratorOptions {
  int num_stops = 20;                 // >= 1
  double on_board_share = 0.2;        // share of orders already on board, [0, 1]
  double visit_share = 0.0;           // share of stops that are visits, [0, 1]
  TimeWindowTightness windows = TimeWindowTightness::kLoose;
  double end_position_probability = 0.25;  // chance of a route that must end at a hub
  bool caller_matrix = false;         // add a caller's travel-time matrix (a perturbed road model)
  double city_radius_m = 4000;        // customers lie within this distance of the centre
  // The vehicle is drawn uniformly among the types; capacity is a few orders' load.
};

// A well-formed problem (it passes routing/validation.h) with exactly `num_stops` stops.
// `params` sets the speeds used to make promised times plausible and the caller's matrix.
RouteProblem GenerateProblem(const GeneratorOptions& options, uint64_t seed,
                             const ObjectiveParams& params = {});

}  // namespace routeserve::routing
