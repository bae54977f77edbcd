// The evaluation's baselines kept between runs (routeserve-eval --baselines FILE): the exact
// optimum or the reference's cost of each problem, which is most of an evaluation's time
// (the reference runs 100x the classical solver's budget) and the same from run to run for the
// same problem and objective, whatever the model or the served path's config.
//
// FILE is text, one problem a line: the problem's key (16 hex digits) and its baseline cost
// (%.17g, so that it reads back exactly); '#' starts a comment. The key hashes everything the
// cost depends on: the model's problem hash (positions, kinds, pairing, loads, capacity,
// windows, service), every travel time and the objective's weights; a problem whose key is not
// in the file is solved and added. The key does not cover the solver: after a change to it,
// start a new file, or the old reference stays (docs/BENCHMARKS.md compares both).
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "routing/instance.h"

namespace routeserve::tools {

using Baselines = std::map<uint64_t, double>;

uint64_t BaselineKey(const routing::Instance& instance);

// The baselines in `path`; empty when the file does not exist. InvalidArgument naming the file
// and the line of one that is not "KEY COST".
absl::StatusOr<Baselines> ReadBaselines(const std::string& path);

// Writes `baselines` to `path` (through a temporary file, renamed: a run stopped midway leaves
// the old file whole).
absl::Status WriteBaselines(const std::string& path, const Baselines& baselines);

}  // namespace routeserve::tools
