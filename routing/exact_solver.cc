#include "routing/exact_solver.h"

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"

namespace routeserve::routing {
namespace {

// A partial route ending at a state's last stop: what it cost, when it leaves, and where it
// came from (the label it extends in the state without this stop).
struct Label {
  double cost = 0;
  double departure = 0;
  int previous_stop = -1;   // -1: the courier's position
  int previous_label = -1;
  bool dominated = false;
};

}  // namespace

// Long, in one piece: the labels, their dominance and the walk back share one set of arrays
// indexed by (subset, last stop); helpers would only pass those around.
absl::StatusOr<Solution> SolveExact(const Instance& instance) {
  const int n = instance.num_stops();
  if (n > kMaxExactStops) {
    return absl::InvalidArgumentError(
        absl::StrCat("the exact solver takes at most ", kMaxExactStops, " stops, not ", n));
  }
  const ObjectiveParams& params = instance.params();
  const uint32_t full = (1u << n) - 1;
  // labels[mask * n + last]: partial routes visiting `mask`, ending at `last`.
  std::vector<std::vector<Label>> labels(static_cast<size_t>(full + 1) * n);
  std::vector<int64_t> load(full + 1, instance.initial_load());
  for (uint32_t mask = 1; mask <= full; ++mask) {
    const int low = __builtin_ctz(mask);
    load[mask] = load[mask & (mask - 1)] + instance.load_delta(low);
  }

  // Label a dominates b when it is no later and no dearer, counting that being earlier can at
  // most add waiting_weight x the time gained in waiting further on.
  auto dominates = [&params](const Label& a, const Label& b) {
    return a.departure <= b.departure &&
           a.cost + params.waiting_weight * (b.departure - a.departure) <= b.cost;
  };
  auto add_label = [&](std::vector<Label>& bucket, const Label& label) {
    for (const Label& other : bucket) {
      if (!other.dominated && dominates(other, label)) return;
    }
    for (Label& other : bucket) {
      if (!other.dominated && dominates(label, other)) other.dominated = true;
    }
    bucket.push_back(label);
  };
  auto can_visit = [&](uint32_t mask, int stop) {
    const int partner = instance.partner(stop);
    if (partner >= 0 && !instance.is_pickup(stop) && !(mask >> partner & 1)) return false;
    return load[mask | (1u << stop)] <= instance.capacity();
  };
  auto extend = [&](const Label& from, int from_node, int stop) {
    const Instance::Visit visit = instance.VisitStop(from_node, from.departure, stop);
    Label label;
    label.cost = from.cost + visit.cost;
    label.departure = visit.departure;
    return label;
  };

  for (int stop = 0; stop < n; ++stop) {
    if (!can_visit(0, stop)) continue;
    add_label(labels[(1u << stop) * n + stop], extend(Label{}, 0, stop));
  }
  // Masks grow numerically as stops are added, so each state is complete before it extends.
  for (uint32_t mask = 1; mask < full; ++mask) {
    for (int last = 0; last < n; ++last) {
      if (!(mask >> last & 1)) continue;
      const std::vector<Label>& bucket = labels[mask * n + last];
      for (int index = 0; index < static_cast<int>(bucket.size()); ++index) {
        if (bucket[index].dominated) continue;
        for (int next = 0; next < n; ++next) {
          if (mask >> next & 1 || !can_visit(mask, next)) continue;
          Label label = extend(bucket[index], last + 1, next);
          label.previous_stop = last;
          label.previous_label = index;
          add_label(labels[(mask | (1u << next)) * n + next], label);
        }
      }
    }
  }

  double best_cost = std::numeric_limits<double>::infinity();
  int best_last = -1;
  int best_label = -1;
  for (int last = 0; last < n; ++last) {
    const std::vector<Label>& bucket = labels[full * n + last];
    const double to_end = instance.has_end() ? instance.travel_s(last + 1, instance.end_node()) : 0;
    for (int index = 0; index < static_cast<int>(bucket.size()); ++index) {
      if (bucket[index].dominated) continue;
      if (bucket[index].cost + to_end < best_cost) {
        best_cost = bucket[index].cost + to_end;
        best_last = last;
        best_label = index;
      }
    }
  }
  if (best_last < 0) {
    return absl::InvalidArgumentError("the problem admits no feasible route");
  }
  Solution solution;
  solution.cost = best_cost;
  uint32_t mask = full;
  for (int last = best_last, index = best_label; last >= 0;) {
    solution.order.push_back(last);
    const Label& label = labels[mask * n + last][index];
    mask &= ~(1u << last);
    last = label.previous_stop;
    index = label.previous_label;
  }
  std::reverse(solution.order.begin(), solution.order.end());
  return solution;
}

}  // namespace routeserve::routing
