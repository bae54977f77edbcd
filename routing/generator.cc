#include "routing/generator.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>

#include "absl/strings/str_cat.h"
#include "base/random.h"
#include "routing/travel_time.h"

namespace routeserve::routing {
namespace {

// xoshiro256** seeded through SplitMix64 (base/random.h), with the conversions written out so
// that every platform draws the same numbers.
class Random {
 public:
  explicit Random(uint64_t seed) {
    base::SplitMix64 seeder(seed);
    for (uint64_t& word : state_) word = seeder.Next();
  }
  uint64_t Next() {
    const uint64_t result = Rotl(state_[1] * 5, 7) * 9;
    const uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = Rotl(state_[3], 45);
    return result;
  }
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }  // [0, 1)
  double Uniform(double low, double high) { return low + (high - low) * Uniform(); }
  int64_t Int(int64_t low, int64_t high) {  // [low, high]
    return low + static_cast<int64_t>(Next() % static_cast<uint64_t>(high - low + 1));
  }
  bool Chance(double probability) { return Uniform() < probability; }
  double Normal() {  // Box-Muller
    const double u1 = 1.0 - Uniform();
    const double u2 = Uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2 * std::numbers::pi * u2);
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t state_[4];
};

// A point `north_m` and `east_m` metres from `origin` (local flat approximation).
LatLng Offset(LatLng origin, double north_m, double east_m) {
  constexpr double kMetresPerDegree = kEarthRadiusM * std::numbers::pi / 180.0;
  const double cos_lat = std::cos(origin.lat_deg * std::numbers::pi / 180.0);
  return {origin.lat_deg + north_m / kMetresPerDegree,
          origin.lng_deg + east_m / (kMetresPerDegree * cos_lat)};
}

LatLng InDisc(Random& random, LatLng centre, double radius_m) {
  const double r = radius_m * std::sqrt(random.Uniform());
  const double angle = random.Uniform(0, 2 * std::numbers::pi);
  return Offset(centre, r * std::cos(angle), r * std::sin(angle));
}

LatLng NearPoint(Random& random, LatLng point, double spread_m) {
  return Offset(point, spread_m * random.Normal(), spread_m * random.Normal());
}

// Most load on board a vehicle of each type carries, in orders of 1 to 3 units.
int64_t BaseCapacity(VehicleType type) {
  switch (type) {
    case VehicleType::kBike: return 6;
    case VehicleType::kScooter: return 8;
    case VehicleType::kCar: return 16;
    case VehicleType::kVan: return 40;
  }
  return 6;
}

}  // namespace

// Long, in one piece: it draws the problem's numbers in one fixed order, which fixes every
// problem a seed gives (the tests, the corpus and the training data rely on it); split, that
// order would be spread over helpers that could be reordered unnoticed.
RouteProblem GenerateProblem(const GeneratorOptions& options, uint64_t seed,
                             const ObjectiveParams& params) {
  Random random(seed);
  RouteProblem problem;
  const double radius = options.city_radius_m;

  // The city: somewhere on Earth's inhabited latitudes, with a few restaurant hotspots.
  const LatLng centre{random.Uniform(-50, 60), random.Uniform(-180, 180)};
  std::vector<LatLng> hotspots(random.Int(2, 4));
  for (LatLng& hotspot : hotspots) hotspot = InDisc(random, centre, 0.6 * radius);
  auto restaurant = [&] {
    return NearPoint(random, hotspots[random.Int(0, hotspots.size() - 1)], 0.05 * radius);
  };

  Courier& courier = problem.courier;
  courier.id = absl::StrCat("courier-", seed);
  courier.now = 1'700'000'000 + random.Int(0, 20'000'000);
  courier.vehicle = static_cast<VehicleType>(random.Int(0, kNumVehicleTypes - 1));
  courier.position = random.Chance(0.5) ? restaurant() : InDisc(random, centre, radius);
  const double speed = params.speed_of(courier.vehicle);
  auto seconds_between = [&](LatLng a, LatLng b) { return RoadDistanceM(a, b, params) / speed; };

  // How long a decent route takes: the Beardwood-Halton-Hammersley estimate of a tour through
  // n points spread over the city (0.7124 sqrt(n A)), a fifth more for pickups that must come
  // before their dropoffs, plus the service. Promised times are spread over it.
  const double tour_m = 0.7124 * std::sqrt(options.num_stops * std::numbers::pi * radius * radius);
  const double route_horizon_s =
      1.2 * tour_m * params.detour_factor / speed + options.num_stops * 120.0;
  auto promise = [&](double direct_s) -> std::optional<int64_t> {
    double slack = 0;
    switch (options.windows) {
      case TimeWindowTightness::kNone: return std::nullopt;
      case TimeWindowTightness::kLoose: slack = 600 + random.Uniform(0.7, 1.5) * route_horizon_s; break;
      case TimeWindowTightness::kTight: slack = 300 + random.Uniform(0.2, 1.0) * route_horizon_s; break;
    }
    return courier.now + static_cast<int64_t>(direct_s + slack);
  };

  const int visits = std::min(options.num_stops,
                              static_cast<int>(std::lround(options.visit_share * options.num_stops)));
  int order_number = 0;
  int64_t on_board_load = 0;
  int64_t largest_load = 0;
  while (static_cast<int>(problem.stops.size()) < options.num_stops - visits) {
    const int room = options.num_stops - visits - static_cast<int>(problem.stops.size());
    const std::string order_id = absl::StrCat("o", order_number++);
    const int64_t load = random.Int(1, 3);
    largest_load = std::max(largest_load, load);
    Stop dropoff;
    dropoff.kind = StopKind::kDropoff;
    dropoff.order_id = order_id;
    dropoff.load = load;
    dropoff.position = InDisc(random, centre, radius);
    dropoff.service_s = random.Int(60, 180);
    if (room == 1 || random.Chance(options.on_board_share)) {
      on_board_load += load;
      dropoff.window.latest = promise(seconds_between(courier.position, dropoff.position));
      problem.stops.push_back(dropoff);
      continue;
    }
    Stop pickup;
    pickup.kind = StopKind::kPickup;
    pickup.order_id = order_id;
    pickup.load = load;
    pickup.position = restaurant();
    pickup.service_s = random.Int(30, 180);
    if (options.windows != TimeWindowTightness::kNone && random.Chance(0.7)) {
      pickup.window.earliest = courier.now + random.Int(0, 1200);  // food ready
    }
    dropoff.window.latest = promise(seconds_between(courier.position, pickup.position) +
                                    seconds_between(pickup.position, dropoff.position));
    problem.stops.push_back(pickup);
    problem.stops.push_back(dropoff);
  }
  for (int i = 0; i < visits; ++i) {
    Stop visit;
    visit.kind = StopKind::kVisit;
    visit.position = InDisc(random, centre, radius);
    visit.service_s = random.Int(60, 300);
    if (options.windows != TimeWindowTightness::kNone && random.Chance(0.5)) {
      const int64_t opens = courier.now + random.Int(0, static_cast<int64_t>(route_horizon_s));
      visit.window = {opens, opens + random.Int(900, 3600)};
    }
    problem.stops.push_back(visit);
  }
  // Shuffle so that the problem order says nothing about a good route; ids follow it.
  for (int i = static_cast<int>(problem.stops.size()) - 1; i > 0; --i) {
    std::swap(problem.stops[i], problem.stops[random.Int(0, i)]);
  }
  for (size_t i = 0; i < problem.stops.size(); ++i) problem.stops[i].id = absl::StrCat("s", i);
  courier.capacity = std::max(BaseCapacity(courier.vehicle), on_board_load + largest_load);

  if (random.Chance(options.end_position_probability)) {
    problem.end_position = random.Chance(0.5) ? centre : hotspots[0];
  }
  if (options.caller_matrix) {
    std::vector<LatLng> points{courier.position};
    for (const Stop& stop : problem.stops) points.push_back(stop.position);
    if (problem.end_position) points.push_back(*problem.end_position);
    TravelTimeMatrix matrix;
    matrix.side = static_cast<int>(points.size());
    matrix.seconds.resize(points.size() * points.size());
    for (int from = 0; from < matrix.side; ++from) {
      for (int to = 0; to < matrix.side; ++to) {
        // Roads are not straight and not symmetric: each direction gets its own factor.
        const double factor = std::clamp(1.0 + 0.15 * random.Normal(), 0.7, 1.6);
        matrix.seconds[from * matrix.side + to] =
            from == to ? 0 : std::round(10 * seconds_between(points[from], points[to]) * factor) / 10;
      }
    }
    problem.travel_times = std::move(matrix);
  }
  return problem;
}

}  // namespace routeserve::routing
