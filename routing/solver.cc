#include "routing/solver.h"

#include <algorithm>
#include <numeric>
#include <optional>
#include <span>

#include "base/random.h"
#include "routing/route_state.h"

namespace routeserve::routing {
namespace {

// Improvements smaller than this many seconds of cost are noise, not progress.
constexpr double kMinGain = 1e-6;
// Most units one perturbation takes out (it takes 2 to that many, uniformly): up to 10, as
// many as two thirds of the route's units above that, at most 20. On small problems 10 is
// every unit or nearly, a fresh start from the best route's neighbourhood. On 50-100 stops
// rounds of up to 20 cost more than rounds of up to 10 and buy more than the same CPU spent on
// more rounds of 10 does, above all under tight promised times, where a route must change in
// many places at once to leave a local optimum (docs/BENCHMARKS.md, Larger perturbations).
int MostRemoved(int units) {
  return std::clamp(units * 2 / 3, std::min(10, units), 20);
}
// How far above the best route so far the iterated search may wander: a worse route within
// this share becomes the next rounds' start (record-to-record travel). 1% and 2% measured alike,
// both well below keeping improvements only (docs/BENCHMARKS.md).
constexpr double kRecordDeviation = 0.01;

// What insertion places and perturbation removes: an order's pickup and dropoff together, or a
// stop alone (a visit, or the dropoff of an order on board).
struct Unit {
  int first = -1;
  int second = -1;  // -1 for a stop alone
};

std::vector<Unit> UnitsOf(const Instance& instance) {
  std::vector<Unit> units;
  for (int stop = 0; stop < instance.num_stops(); ++stop) {
    const int partner = instance.partner(stop);
    if (partner < 0) {
      units.push_back({stop, -1});
    } else if (instance.is_pickup(stop)) {
      units.push_back({stop, partner});
    }
  }
  return units;
}

// Local search and insertion over one RouteState, counting evaluations against a budget. With
// candidate lists, each operator takes an anchor (a segment, the first stop of a reversal or an
// exchange) and tries only the positions its candidate edges point at, each once; with lists
// that admit every edge that is the exhaustive neighbourhood, in another order.
class Search {
 public:
  Search(const Instance& instance, int64_t max_evaluations, SolverStats& stats,
         const CandidateLists* candidates = nullptr)
      : instance_(instance), state_(instance), reduced_(instance),
        max_evaluations_(max_evaluations), stats_(stats), first_evaluation_(stats.evaluations),
        candidates_(candidates) {}

  ~Search() { stats_.evaluations = evaluations(); }

  RouteState& state() { return state_; }
  int64_t evaluations() const {
    return first_evaluation_ + state_.evaluations() + reduced_.evaluations();
  }
  bool budget_left() const { return evaluations() < max_evaluations_; }

  // Inserts a unit where it costs least. A well-formed problem always has a feasible place:
  // an order fits at the end (nothing is on board there), an on-board order's dropoff at the
  // start. Those are the fallbacks should the search find none.
  void Insert(const Unit& unit) {
    RouteState::Insertion where = state_.BestInsertion(unit.first, unit.second);
    if (where.cost == RouteState::kRejected) {
      where.first_at = unit.second < 0 ? 0 : state_.size();
      where.second_at = state_.size();
    }
    state_.Insert(unit.first, unit.second, where);
  }

  // Descends until no move improves the route or a budget is spent, trying only the moves
  // anchored at active stops (see MarkAll, MarkChanged). A pass that finds nothing leaves
  // every stop inactive.
  void Descend(int64_t max_moves) {
    int64_t moves = 0;
    bool improved = true;
    while (improved && moves < max_moves && budget_left()) {
      improved = false;
      std::fill(touched_.begin(), touched_.end(), 0);
      improved |= RelocateSegments(moves, max_moves);
      improved |= TwoOpt(moves, max_moves);
      improved |= Exchange(moves, max_moves);
      improved |= RelocateOrders(moves, max_moves);
      active_.swap(touched_);
    }
    std::fill(active_.begin(), active_.end(), 0);
    stats_.moves += moves;
  }

  // Makes every stop active: the first descent from a route.
  void MarkAll() {
    active_.assign(instance_.num_stops(), 1);
    touched_.assign(instance_.num_stops(), 0);
  }

  // Remembers the route's edges as they are now; MarkChanged() then makes active the stops at
  // either end of an edge the route drives and the remembered one did not: after a
  // perturbation, where the next descent's moves are worth trying. Elsewhere the route is the
  // local optimum the last descent left.
  void RememberRoute() { RememberSuccessors(-1, state_.size()); }
  void MarkChanged() { MarkNewEdges(-1, state_.size()); }

 private:
  double Target() const { return state_.cost() - kMinGain; }

  // Whether the edge from -> to may be made: always in the exhaustive search.
  bool Admits(int from, int to) const {
    return candidates_ == nullptr || candidates_->Admits(from, to);
  }

  // A node's position in the route: -1 for the start, size() for the end.
  int PositionOf(int node) const {
    if (node == 0) return -1;
    if (instance_.has_end() && node == instance_.end_node()) return state_.size();
    return state_.position(node - 1);
  }

  // The granular search's targets: the positions `shift` + PositionOf(node) of the nodes in
  // `nodes` that lie in [begin, end), each added to targets_ once (since the last ClearTargets).
  void AddTargets(std::span<const int> nodes, int shift, int begin, int end) {
    for (const int node : nodes) {
      const int target = PositionOf(node) + shift;
      if (target < begin || target >= end || target_stamp_[target] == stamp_) continue;
      target_stamp_[target] = stamp_;
      targets_.push_back(target);
    }
  }
  void ClearTargets() {
    targets_.clear();
    // Positions run from 0 to size(); a new stamp forgets the last targets in O(1).
    target_stamp_.resize(state_.size() + 1, 0);
    if (++stamp_ == 0) {
      std::fill(target_stamp_.begin(), target_stamp_.end(), 0);
      stamp_ = 1;
    }
  }
  // Every position in [begin, end), ascending: the exhaustive search's targets.
  void AllTargets(int begin, int end) {
    targets_.resize(std::max(0, end - begin));
    std::iota(targets_.begin(), targets_.end(), begin);
  }

  // Whether a pass tries the moves anchored at a stop.
  bool Active(int stop) const { return active_[stop]; }

  // successor_ of the nodes at positions [from, to) (-1 the start) as the route is now.
  void RememberSuccessors(int from, int to) {
    successor_.resize(NumNodes(instance_));
    for (int position = from; position < to; ++position) {
      successor_[state_.NodeAt(position)] = state_.NodeOrEnd(position + 1);
    }
  }

  // Marks active the stops at either end of an edge between positions [from, to] (-1 the
  // start) that is not the edge successor_ holds for its first node.
  void MarkNewEdges(int from, int to) {
    for (int position = from; position < to; ++position) {
      const int node = state_.NodeAt(position);
      const int next = state_.NodeOrEnd(position + 1);
      if (successor_[node] == next) continue;
      for (const int end : {node, next}) {
        if (end < 1 || end > instance_.num_stops()) continue;
        active_[end - 1] = 1;
        touched_[end - 1] = 1;
      }
    }
  }

  // Whether a stop at a position in [begin, end) is active; positions outside the route don't
  // count.
  bool AnyActive(int begin, int end) const {
    for (int position = std::max(begin, 0); position < std::min(end, state_.size()); ++position) {
      if (Active(state_.order()[position])) return true;
    }
    return false;
  }

  // Applies the replacement when it beats the current cost; says whether it did. The stops at
  // the ends of the edges it makes become active, in this pass and the next.
  bool TryMove(int begin, int end, std::span<const int> replacement, int64_t& moves) {
    if (state_.CostOfReplacement(begin, end, replacement, Target()) == RouteState::kRejected) {
      return false;
    }
    RememberSuccessors(begin - 1, end);
    state_.Replace(begin, end, replacement);
    MarkNewEdges(begin - 1, end);
    ++moves;
    return true;
  }

  // Or-opt: moves a segment of 1 to 3 stops, as it is or reversed, elsewhere in the route.
  bool RelocateSegments(int64_t& moves, int64_t max_moves) {
    bool improved = false;
    for (int length = 1; length <= 3; ++length) {
      for (int from = 0; from + length <= state_.size(); ++from) {
        if (!AnyActive(from, from + length)) continue;
        for (int reversed = 0; reversed < (length > 1 ? 2 : 1); ++reversed) {
          if (moves >= max_moves || !budget_left()) return improved;
          if (RelocateSegment(from, length, reversed, moves)) improved = true;
        }
      }
    }
    return improved;
  }

  // Moves the segment at [from, from + length), from node `head` to node `tail`, before the
  // stop at `to` (or past the last stop when `to` is size()). The exhaustive search tries every
  // `to`, nearest first backwards, then forwards; the granular one the places where the edge into
  // the head or on from the tail is a candidate.
  bool RelocateSegment(int from, int length, bool reversed, int64_t& moves) {
    const std::vector<int>& order = state_.order();
    const int size = state_.size();
    const int last = from + length - 1;
    segment_.assign(order.begin() + from, order.begin() + from + length);
    if (reversed) std::reverse(segment_.begin(), segment_.end());
    const int head = segment_.front() + 1;
    const int tail = segment_.back() + 1;
    const double segment_travel =
        reversed ? state_.TravelBack(from, last) : state_.TravelAlong(from, last);
    if (candidates_ == nullptr) {
      targets_.clear();
      for (int to = from - 1; to >= 0; --to) targets_.push_back(to);
      for (int to = from + length + 1; to <= size; ++to) targets_.push_back(to);
    } else {
      ClearTargets();
      AddTargets(candidates_->predecessors_of(head), 1, 0, from);
      AddTargets(candidates_->of(tail), 0, 0, from);
      AddTargets(candidates_->predecessors_of(head), 1, from + length + 1, size + 1);
      AddTargets(candidates_->of(tail), 0, from + length + 1, size + 1);
    }
    std::vector<int>& candidate = candidate_;
    for (const int to : targets_) {
      if (to < from) {
        // Backwards: [to, from + length) becomes segment + order[to, from).
        const double inner = segment_travel + instance_.travel_s(tail, state_.NodeAt(to)) +
                             state_.TravelAlong(to, from - 1);
        if (state_.LowerBound(to, from + length, head, state_.NodeAt(from - 1), inner) >=
            Target()) {
          continue;
        }
        candidate.assign(segment_.begin(), segment_.end());
        candidate.insert(candidate.end(), order.begin() + to, order.begin() + from);
        if (TryMove(to, from + length, candidate, moves)) return true;
      } else {
        // Forwards: [from, to) becomes order[from + length, to) + segment.
        const double inner = state_.TravelAlong(from + length, to - 1) +
                             instance_.travel_s(state_.NodeAt(to - 1), head) + segment_travel;
        if (state_.LowerBound(from, to, state_.NodeAt(from + length), tail, inner) >= Target()) {
          continue;
        }
        candidate.assign(order.begin() + from + length, order.begin() + to);
        candidate.insert(candidate.end(), segment_.begin(), segment_.end());
        if (TryMove(from, to, candidate, moves)) return true;
      }
    }
    // In place, reversed.
    if (reversed &&
        (Admits(state_.NodeAt(from - 1), head) || Admits(tail, state_.NodeOrEnd(from + length))) &&
        state_.LowerBound(from, from + length, head, tail, segment_travel) < Target()) {
      if (TryMove(from, from + length, segment_, moves)) return true;
    }
    return false;
  }

  // 2-opt: reverses a stretch of the route, [first, last]. Granular: the edge into the stop at
  // `last` or on from the stop at `first` is a candidate.
  bool TwoOpt(int64_t& moves, int64_t max_moves) {
    bool improved = false;
    for (int first = 0; first + 1 < state_.size(); ++first) {
      if (!AnyActive(first - 1, first + 1)) continue;
      if (candidates_ == nullptr) {
        AllTargets(first + 1, state_.size());
      } else {
        ClearTargets();
        AddTargets(candidates_->of(state_.NodeAt(first - 1)), 0, first + 1, state_.size());
        AddTargets(candidates_->of(state_.NodeAt(first)), -1, first + 1, state_.size());
      }
      for (const int last : targets_) {
        if (moves >= max_moves || !budget_left()) return improved;
        if (state_.LowerBound(first, last + 1, state_.NodeAt(last), state_.NodeAt(first),
                              state_.TravelBack(first, last)) >= Target()) {
          continue;
        }
        const std::vector<int>& order = state_.order();
        candidate_.assign(order.rbegin() + (state_.size() - 1 - last),
                          order.rbegin() + (state_.size() - first));
        if (TryMove(first, last + 1, candidate_, moves)) improved = true;
      }
    }
    return improved;
  }

  // Exchange: swaps two stops that are not neighbours. Granular: one of the four edges into or
  // on from the swapped stops is a candidate.
  bool Exchange(int64_t& moves, int64_t max_moves) {
    bool improved = false;
    for (int first = 0; first + 2 < state_.size(); ++first) {
      if (!AnyActive(first - 1, first + 2)) continue;
      if (candidates_ == nullptr) {
        AllTargets(first + 2, state_.size());
      } else {
        const int node = state_.NodeAt(first);
        const int begin = first + 2;
        const int end = state_.size();
        ClearTargets();
        AddTargets(candidates_->of(state_.NodeAt(first - 1)), 0, begin, end);
        AddTargets(candidates_->predecessors_of(state_.NodeAt(first + 1)), 0, begin, end);
        AddTargets(candidates_->predecessors_of(node), 1, begin, end);
        AddTargets(candidates_->of(node), -1, begin, end);
      }
      for (const int second : targets_) {
        if (moves >= max_moves || !budget_left()) return improved;
        const int first_node = state_.NodeAt(first);
        const int second_node = state_.NodeAt(second);
        const double inner = instance_.travel_s(second_node, state_.NodeAt(first + 1)) +
                             state_.TravelAlong(first + 1, second - 1) +
                             instance_.travel_s(state_.NodeAt(second - 1), first_node);
        if (state_.LowerBound(first, second + 1, second_node, first_node, inner) >= Target()) {
          continue;
        }
        const std::vector<int>& order = state_.order();
        candidate_.assign(order.begin() + first, order.begin() + second + 1);
        std::swap(candidate_.front(), candidate_.back());
        if (TryMove(first, second + 1, candidate_, moves)) improved = true;
      }
    }
    return improved;
  }

  // Takes out an order's pickup and dropoff together and puts them back where they cost least:
  // the move that or-opt cannot make when an order's two stops must travel together.
  bool RelocateOrders(int64_t& moves, int64_t max_moves) {
    bool improved = false;
    for (int k = 0; k < state_.size(); ++k) {
      if (moves >= max_moves || !budget_left()) return improved;
      const int pickup = state_.order()[k];
      if (!instance_.is_pickup(pickup)) continue;
      const int dropoff = instance_.partner(pickup);
      if (!Active(pickup) && !Active(dropoff)) continue;
      // Where the order is now, in the route without it: the edges it drives there are not
      // ones a move would make.
      const RouteState::Insertion was = {0, k, state_.position(dropoff) - 1};
      rest_.clear();
      for (int other : state_.order()) {
        if (other != pickup && other != dropoff) rest_.push_back(other);
      }
      reduced_.Assign(rest_);
      const RouteState::Insertion best =
          reduced_.BestInsertion(pickup, dropoff, Target(), candidates_, &was);
      if (best.cost != RouteState::kRejected) {
        reduced_.Insert(pickup, dropoff, best);
        RememberRoute();
        state_.Assign(reduced_.order());
        MarkChanged();
        ++moves;
        improved = true;
      }
    }
    return improved;
  }

  const Instance& instance_;
  RouteState state_;
  RouteState reduced_;  // the route with one order taken out
  int64_t max_evaluations_;
  SolverStats& stats_;
  int64_t first_evaluation_;
  const CandidateLists* candidates_;  // null: exhaustive
  std::vector<int> candidate_;
  std::vector<int> targets_;  // one operator's positions to try from its anchor
  std::vector<uint32_t> target_stamp_;  // per position: stamp_ when it is among targets_
  uint32_t stamp_ = 0;
  std::vector<int> segment_;
  std::vector<int> rest_;
  // Don't-look marks (per stop): active_ the anchors the pass tries, touched_ the stops the
  // pass's moves made active, which the next pass tries.
  std::vector<char> active_;
  std::vector<char> touched_;
  std::vector<int> successor_;  // per node: the node after it before the last change
};

// Urgent units first: those with the earliest promised time, then by problem order.
std::vector<Unit> InsertionOrder(const Instance& instance) {
  std::vector<Unit> units = UnitsOf(instance);
  auto deadline = [&instance](const Unit& unit) {
    double latest = instance.latest(unit.first);
    if (unit.second >= 0) latest = std::min(latest, instance.latest(unit.second));
    return latest;
  };
  std::stable_sort(units.begin(), units.end(), [&](const Unit& a, const Unit& b) {
    return deadline(a) < deadline(b);
  });
  return units;
}

// Takes `count` units out of the route: around a random one (the units nearest it) or at random.
// Nearness is the travel time there and back, in the times in use: a caller's matrix, not the
// straight line between positions, which a matrix caller may give only roughly.
std::vector<Unit> RemoveUnits(const Instance& instance, const std::vector<Unit>& units,
                              int count, base::SplitMix64& random, RouteState& state) {
  std::vector<int> chosen(units.size());
  std::iota(chosen.begin(), chosen.end(), 0);
  if (random.Below(2) == 0) {
    const int centre_node = units[random.Below(static_cast<int>(units.size()))].first + 1;
    std::vector<double> round_trip_s(units.size());
    for (size_t u = 0; u < units.size(); ++u) {
      const int node = units[u].first + 1;
      round_trip_s[u] = instance.travel_s(centre_node, node) + instance.travel_s(node, centre_node);
    }
    std::stable_sort(chosen.begin(), chosen.end(),
                     [&](int a, int b) { return round_trip_s[a] < round_trip_s[b]; });
  } else {
    for (int i = static_cast<int>(chosen.size()) - 1; i > 0; --i) {
      std::swap(chosen[i], chosen[random.Below(i + 1)]);
    }
  }
  chosen.resize(count);
  std::vector<Unit> removed;
  std::vector<int> rest;
  std::vector<char> out(instance.num_stops(), 0);
  for (int index : chosen) {
    const Unit& unit = units[index];
    removed.push_back(unit);
    out[unit.first] = 1;
    if (unit.second >= 0) out[unit.second] = 1;
  }
  for (int stop : state.order()) {
    if (!out[stop]) rest.push_back(stop);
  }
  state.Assign(std::move(rest));
  return removed;
}

// The candidate lists the options ask for: given ones, or built into `built` from travel times;
// null for the exhaustive search.
const CandidateLists* CandidatesFor(const Instance& instance, const SolverOptions& options,
                                    std::optional<CandidateLists>& built) {
  if (options.candidates != nullptr) return options.candidates;
  if (options.candidates_k <= 0) return nullptr;
  built.emplace(NearestByTravelTime(instance, options.candidates_k));
  return &*built;
}

}  // namespace

Solution InsertionRoute(const Instance& instance) {
  SolverStats stats;
  Search search(instance, INT64_MAX, stats);
  for (const Unit& unit : InsertionOrder(instance)) search.Insert(unit);
  return {search.state().order(), search.state().cost()};
}

double ImproveRoute(const Instance& instance, std::vector<int>& order, int64_t max_moves,
                    int64_t max_evaluations, SolverStats* stats,
                    const CandidateLists* candidates) {
  SolverStats local_stats;
  SolverStats& counted = stats ? *stats : local_stats;
  const int64_t budget = max_evaluations > INT64_MAX - counted.evaluations
                             ? INT64_MAX
                             : counted.evaluations + max_evaluations;
  Search search(instance, budget, counted, candidates);
  search.state().Assign(order);
  search.MarkAll();
  search.Descend(max_moves);
  order = search.state().order();
  return search.state().cost();
}

Solution Solve(const Instance& instance, const SolverOptions& options, SolverStats* stats) {
  return SolveFrom(instance, InsertionRoute(instance).order, options, stats);
}

Solution SolveFrom(const Instance& instance, std::vector<int> start, const SolverOptions& options,
                   SolverStats* stats) {
  SolverStats local_stats;
  SolverStats& counted = stats ? *stats : local_stats;
  std::optional<CandidateLists> built;
  Search search(instance, options.max_evaluations, counted,
                CandidatesFor(instance, options, built));
  RouteState& state = search.state();
  state.Assign(std::move(start));
  search.MarkAll();
  search.Descend(options.max_moves);
  Solution best = {state.order(), state.cost()};

  const std::vector<Unit> units = UnitsOf(instance);
  if (units.size() < 2) return best;
  base::SplitMix64 random(options.seed);
  Solution current = best;
  const int most_removed = MostRemoved(static_cast<int>(units.size()));
  for (int64_t round = 0; round < options.perturbation_rounds && search.budget_left() &&
                         !(options.out_of_time && options.out_of_time());
       ++round) {
    ++counted.rounds;
    state.Assign(current.order);
    search.RememberRoute();
    const int count = 2 + random.Below(most_removed - 1);
    std::vector<Unit> removed = RemoveUnits(instance, units, count, random, state);
    for (int i = static_cast<int>(removed.size()) - 1; i > 0; --i) {
      std::swap(removed[i], removed[random.Below(i + 1)]);
    }
    for (const Unit& unit : removed) search.Insert(unit);
    search.MarkChanged();
    search.Descend(options.max_moves);
    // Record-to-record travel: a route within kRecordDeviation of the best so far becomes the
    // one the next rounds perturb, even when it is worse than the current one.
    if (state.cost() < current.cost - kMinGain ||
        state.cost() < best.cost * (1 + kRecordDeviation)) {
      current = {state.order(), state.cost()};
      if (current.cost < best.cost - kMinGain) best = current;
    }
  }
  return best;
}

}  // namespace routeserve::routing
