// Generated problems for the model tests (Catch2): `count` problems of 1..max_stops stops,
// cycling through the instance generator's regimes, and the pointers a batch is made of.
#pragma once

#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "routing/generator.h"
#include "routing/instance.h"
#include "routing/regimes.h"

namespace routeserve::model {

inline std::vector<routing::Instance> Problems(int count, int max_stops, uint64_t seed) {
  std::mt19937_64 random(seed);
  const std::span<const routing::Regime> regimes = routing::Regimes();
  std::vector<routing::Instance> instances;
  for (int i = 0; i < count; ++i) {
    routing::GeneratorOptions options = regimes[i % regimes.size()].options;
    options.num_stops = 1 + static_cast<int>(random() % max_stops);
    absl::StatusOr<routing::Instance> instance =
        routing::Instance::Build(routing::GenerateProblem(options, seed * 1000 + i), {});
    REQUIRE(instance.ok());
    instances.push_back(*std::move(instance));
  }
  return instances;
}

inline std::vector<const routing::Instance*> Pointers(
    const std::vector<routing::Instance>& instances) {
  std::vector<const routing::Instance*> pointers;
  for (const routing::Instance& instance : instances) pointers.push_back(&instance);
  return pointers;
}

}  // namespace routeserve::model
