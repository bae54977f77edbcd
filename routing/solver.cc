#include "routing/solver.h"

#include <algorithm>
#include <numeric>
#include <span>

#include "routing/route_state.h"

namespace routeserve::routing {
namespace {

// Improvements smaller than this many seconds of cost are noise, not progress.
constexpr double kMinGain = 1e-6;

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

// splitmix64: small, fast and the same everywhere.
class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  int Below(int bound) { return static_cast<int>(Next() % static_cast<uint64_t>(bound)); }

 private:
  uint64_t state_;
};

struct Move {
  double cost = RouteState::kRejected;
  int begin = 0;
  int end = 0;
  std::vector<int> replacement;
};

// Local search and insertion over one RouteState, counting evaluations against a budget.
class Search {
 public:
  Search(const Instance& instance, int64_t max_evaluations, SolverStats& stats)
      : instance_(instance), state_(instance), reduced_(instance),
        max_evaluations_(max_evaluations), stats_(stats) {
    buffer_.resize(2 * instance.num_stops() + 2);
  }

  RouteState& state() { return state_; }
  bool budget_left() const { return stats_.evaluations < max_evaluations_; }

  // Inserts a unit where it costs least; a well-formed problem always has such a place.
  void Insert(const Unit& unit) {
    Move best = BestInsertion(state_, unit);
    state_.Replace(best.begin, best.end, best.replacement);
  }

  // Descends until no move improves the route or a budget is spent.
  void Descend(int64_t max_moves) {
    int64_t moves = 0;
    bool improved = true;
    while (improved && moves < max_moves && budget_left()) {
      improved = false;
      improved |= RelocateSegments(moves, max_moves);
      improved |= TwoOpt(moves, max_moves);
      improved |= Exchange(moves, max_moves);
      improved |= RelocateOrders(moves, max_moves);
    }
    stats_.moves += moves;
  }

 private:
  double Cost(const RouteState& state, int begin, int end, std::span<const int> replacement,
              double bound) {
    ++stats_.evaluations;
    return state.CostOfReplacement(begin, end, replacement, bound);
  }

  // Applies the replacement when it beats the current cost; says whether it did.
  bool TryMove(int begin, int end, std::span<const int> replacement, int64_t& moves) {
    const double cost = Cost(state_, begin, end, replacement, state_.cost() - kMinGain);
    if (cost == RouteState::kRejected) return false;
    state_.Replace(begin, end, replacement);
    ++moves;
    return true;
  }

  Move BestInsertion(const RouteState& state, const Unit& unit) {
    Move best;
    const std::vector<int>& order = state.order();
    const int size = state.size();
    std::vector<int>& candidate = candidate_;
    if (unit.second < 0) {
      for (int at = 0; at <= size; ++at) {
        const int stop = unit.first;
        const double cost = Cost(state, at, at, std::span<const int>(&stop, 1), best.cost);
        if (cost < best.cost) best = {cost, at, at, {stop}};
      }
      return best;
    }
    for (int first_at = 0; first_at <= size; ++first_at) {
      candidate.assign({unit.first});
      for (int second_at = first_at; second_at <= size; ++second_at) {
        if (second_at > first_at) candidate.push_back(order[second_at - 1]);
        candidate.push_back(unit.second);
        const double cost = Cost(state, first_at, second_at, candidate, best.cost);
        if (cost < best.cost) best = {cost, first_at, second_at, candidate};
        candidate.pop_back();
      }
    }
    return best;
  }

  // Or-opt: moves a segment of 1 to 3 stops, as it is or reversed, elsewhere in the route.
  bool RelocateSegments(int64_t& moves, int64_t max_moves) {
    bool improved = false;
    for (int length = 1; length <= 3; ++length) {
      for (int from = 0; from + length <= state_.size(); ++from) {
        for (int reversed = 0; reversed < (length > 1 ? 2 : 1); ++reversed) {
          if (moves >= max_moves || !budget_left()) return improved;
          if (RelocateSegment(from, length, reversed, moves)) improved = true;
        }
      }
    }
    return improved;
  }

  bool RelocateSegment(int from, int length, bool reversed, int64_t& moves) {
    const std::vector<int>& order = state_.order();
    const int size = state_.size();
    std::vector<int> segment(order.begin() + from, order.begin() + from + length);
    if (reversed) std::reverse(segment.begin(), segment.end());
    std::vector<int>& candidate = candidate_;
    // Backwards: [to, from + length) becomes segment + order[to, from).
    for (int to = from - 1; to >= 0; --to) {
      candidate.assign(segment.begin(), segment.end());
      candidate.insert(candidate.end(), order.begin() + to, order.begin() + from);
      if (TryMove(to, from + length, candidate, moves)) return true;
    }
    // Forwards: [from, to) becomes order[from + length, to) + segment.
    for (int to = from + length + 1; to <= size; ++to) {
      candidate.assign(order.begin() + from + length, order.begin() + to);
      candidate.insert(candidate.end(), segment.begin(), segment.end());
      if (TryMove(from, to, candidate, moves)) return true;
    }
    // In place, reversed.
    if (reversed && TryMove(from, from + length, segment, moves)) return true;
    return false;
  }

  // 2-opt: reverses a stretch of the route.
  bool TwoOpt(int64_t& moves, int64_t max_moves) {
    bool improved = false;
    const int n = static_cast<int>(buffer_.size());
    for (int first = 0; first + 1 < state_.size(); ++first) {
      // buffer_[n - 1 - k] = order[first + k], so the tail of buffer_ reads the stretch reversed.
      buffer_[n - 1] = state_.order()[first];
      for (int last = first + 1; last < state_.size(); ++last) {
        if (moves >= max_moves || !budget_left()) return improved;
        const int length = last - first + 1;
        buffer_[n - length] = state_.order()[last];
        const std::span<const int> stretch(buffer_.data() + n - length, length);
        if (TryMove(first, last + 1, stretch, moves)) {
          improved = true;
          // The stretch is now reversed in the route: restart from this first position.
          buffer_[n - 1] = state_.order()[first];
          last = first;
        }
      }
    }
    return improved;
  }

  // Exchange: swaps two stops that are not neighbours.
  bool Exchange(int64_t& moves, int64_t max_moves) {
    bool improved = false;
    std::vector<int>& candidate = candidate_;
    for (int first = 0; first + 2 < state_.size(); ++first) {
      for (int second = first + 2; second < state_.size(); ++second) {
        if (moves >= max_moves || !budget_left()) return improved;
        const std::vector<int>& order = state_.order();
        candidate.assign(order.begin() + first, order.begin() + second + 1);
        std::swap(candidate.front(), candidate.back());
        if (TryMove(first, second + 1, candidate, moves)) improved = true;
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
      const int stop = state_.order()[k];
      if (!instance_.is_pickup(stop)) continue;
      const Unit unit{stop, instance_.partner(stop)};
      std::vector<int> rest;
      rest.reserve(state_.size());
      for (int other : state_.order()) {
        if (other != unit.first && other != unit.second) rest.push_back(other);
      }
      reduced_.Assign(std::move(rest));
      Move best = BestInsertion(reduced_, unit);
      if (best.cost < state_.cost() - kMinGain) {
        reduced_.Replace(best.begin, best.end, best.replacement);
        state_.Assign(reduced_.order());
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
  std::vector<int> candidate_;
  std::vector<int> buffer_;
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
std::vector<Unit> RemoveUnits(const Instance& instance, const std::vector<Unit>& units,
                              int count, Random& random, RouteState& state) {
  std::vector<int> chosen(units.size());
  std::iota(chosen.begin(), chosen.end(), 0);
  if (random.Below(2) == 0) {
    const int centre_node = units[random.Below(static_cast<int>(units.size()))].first + 1;
    std::stable_sort(chosen.begin(), chosen.end(), [&](int a, int b) {
      return instance.distance_m(centre_node, units[a].first + 1) <
             instance.distance_m(centre_node, units[b].first + 1);
    });
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

}  // namespace

Solution InsertionRoute(const Instance& instance) {
  SolverStats stats;
  Search search(instance, INT64_MAX, stats);
  for (const Unit& unit : InsertionOrder(instance)) search.Insert(unit);
  return {search.state().order(), search.state().cost()};
}

double ImproveRoute(const Instance& instance, std::vector<int>& order, int64_t max_moves,
                    int64_t max_evaluations, SolverStats* stats) {
  SolverStats local_stats;
  SolverStats& counted = stats ? *stats : local_stats;
  const int64_t budget = max_evaluations > INT64_MAX - counted.evaluations
                             ? INT64_MAX
                             : counted.evaluations + max_evaluations;
  Search search(instance, budget, counted);
  search.state().Assign(order);
  search.Descend(max_moves);
  order = search.state().order();
  return search.state().cost();
}

Solution Solve(const Instance& instance, const SolverOptions& options, SolverStats* stats) {
  SolverStats local_stats;
  SolverStats& counted = stats ? *stats : local_stats;
  Solution best = InsertionRoute(instance);
  Search search(instance, options.max_evaluations, counted);
  RouteState& state = search.state();
  state.Assign(best.order);
  search.Descend(options.max_moves);
  best = {state.order(), state.cost()};

  const std::vector<Unit> units = UnitsOf(instance);
  if (units.size() < 2) return best;
  Random random(options.seed);
  Solution current = best;
  const int most_removed = std::max(2, std::min(10, static_cast<int>(units.size()) / 3));
  for (int64_t round = 0; round < options.perturbation_rounds && search.budget_left(); ++round) {
    ++counted.rounds;
    state.Assign(current.order);
    const int count = 2 + random.Below(most_removed - 1);
    std::vector<Unit> removed = RemoveUnits(instance, units, count, random, state);
    for (int i = static_cast<int>(removed.size()) - 1; i > 0; --i) {
      std::swap(removed[i], removed[random.Below(i + 1)]);
    }
    for (const Unit& unit : removed) search.Insert(unit);
    search.Descend(options.max_moves);
    if (state.cost() < current.cost - kMinGain) {
      current = {state.order(), state.cost()};
      if (current.cost < best.cost) best = current;
    }
  }
  return best;
}

}  // namespace routeserve::routing
