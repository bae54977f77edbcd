// The classical solver: cheapest feasible insertion, then local search (relocation of segments
// and of whole orders, 2-opt, exchange), then iterated local search while its budget lasts.
//
// DETERMINISM: the work is bounded by counts, and the random choices come from a generator
//   seeded by the options: the same instance and options give the same route. The one
//   exception is `out_of_time`, a caller's deadline, which may end the iterated search early.
// FEASIBILITY: every route it returns visits each stop once, puts each pickup before its dropoff
//   and keeps the load within capacity (well-formed problems always admit such a route).
// COST: construction and one descent are O(n^3) cost evaluations at worst, each O(n); the
//   budget below bounds the rest. A descent after a perturbation tries only the moves anchored
//   at the stops next to an edge the perturbation or its own moves made (don't-look marks):
//   elsewhere the route is the local optimum the last descent left.
// ACCEPTANCE: a round's route replaces the current one when it is better, or within 1% of the
//   best so far (record-to-record travel), so that the search can leave a local optimum; the
//   best route is kept.
// GRANULAR NEIGHBOURHOODS: with candidate lists (routing/candidates.h), the local search tries
//   only the moves that make an edge (a, b) with b among a's candidates where the moved stops
//   land (for an order moved whole, where its pickup lands), found from the lists rather than
//   by filtering every move: a descent's pass is O(k n) moves instead of O(n^2), so more rounds
//   fit in the same time. Insertion (construction, the perturbation's reinsertion) stays
//   exhaustive. Off by default; docs/BENCHMARKS.md has the trade.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "routing/candidates.h"
#include "routing/instance.h"

namespace routeserve::routing {

struct SolverOptions {
  // Most improving moves one local-search descent applies (>= 0).
  int64_t max_moves = 1000;
  // Iterated local search: rounds of perturbation (take a few orders out, reinsert them at their
  // cheapest places) each followed by a descent around the changes; 0 keeps the first local
  // optimum (>= 0).
  int64_t perturbation_rounds = 40;
  // Most cost evaluations over the whole solve, construction aside; no new round starts and a
  // descent stops once they are spent. Bounds the time on large problems (>= 0).
  int64_t max_evaluations = 2'000'000;
  // Granular neighbourhoods from travel times: each node's candidates are its
  // `candidates_k` nearest successors (NearestByTravelTime); 0 searches every move (>= 0).
  int candidates_k = 0;
  // Candidate lists made elsewhere (a model's scores), for this instance; when set,
  // candidates_k is unused. Must outlive the solve.
  const CandidateLists* candidates = nullptr;
  // Seeds the perturbations.
  uint64_t seed = 0x5eed;
  // Asked before each round of the iterated search; true ends the search with the best route so
  // far (the caller's deadline has come). Empty: never.
  std::function<bool()> out_of_time;
};

struct Solution {
  std::vector<int> order;  // stop indices in visiting order
  double cost = 0;
};

// What a solve did, for benchmarks and tests.
struct SolverStats {
  int64_t evaluations = 0;
  int64_t moves = 0;
  int64_t rounds = 0;
};

// The best route the solver finds within its budget.
Solution Solve(const Instance& instance, const SolverOptions& options = {},
               SolverStats* stats = nullptr);

// The same search from a given feasible order instead of the insertion route: Solve() is
// SolveFrom(InsertionRoute()). Lets the construction and the search run in different places.
Solution SolveFrom(const Instance& instance, std::vector<int> start,
                   const SolverOptions& options = {}, SolverStats* stats = nullptr);

// Improves a feasible order in place by local search until no move improves it, `max_moves`
// moves were applied or `max_evaluations` evaluations spent; returns its cost. Refinement of the
// model's route uses this. With `candidates`, the search is granular (see above).
double ImproveRoute(const Instance& instance, std::vector<int>& order, int64_t max_moves,
                    int64_t max_evaluations = INT64_MAX, SolverStats* stats = nullptr,
                    const CandidateLists* candidates = nullptr);

// A feasible order built by cheapest feasible insertion alone.
Solution InsertionRoute(const Instance& instance);

}  // namespace routeserve::routing
