// Feature encoding v1 (model/features.h) on a fixture whose every feature is worked out by hand
// from docs/MODEL.md, plus clipping, scales, padding, batch independence and the noise.
#include "model/features.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <numbers>
#include <vector>

#include "routing/generator.h"
#include "routing/instance.h"

namespace routeserve::model {
namespace {

constexpr int64_t kNow = 1'700'000'000;

// 3 stops around a courier on the equator at (0, 0), so that the plane is plain degrees x m,
// m = R pi / 180: pickup A 0.01 deg north, its dropoff B 0.02 deg east, dropoff C of an order
// on board at (-0.01, -0.01); the end position at (0.03, 0.04), 0.05 deg away, the farthest.
// A caller's matrix over courier, A, B, C, end. Capacity 10; order o1 loads 4, o2 (on board) 3.
routing::RouteProblem Fixture() {
  routing::RouteProblem problem;
  problem.courier = {.id = "c",
                     .position = {0, 0},
                     .now = kNow,
                     .vehicle = routing::VehicleType::kBike,
                     .capacity = 10};
  problem.stops = {
      {.id = "A", .position = {0.01, 0}, .kind = routing::StopKind::kPickup, .order_id = "o1",
       .window = {.earliest = kNow + 300}, .service_s = 60, .load = 4},
      {.id = "B", .position = {0, 0.02}, .kind = routing::StopKind::kDropoff, .order_id = "o1",
       .window = {.latest = kNow + 1200}, .service_s = 120, .load = 4},
      {.id = "C", .position = {-0.01, -0.01}, .kind = routing::StopKind::kDropoff,
       .order_id = "o2", .service_s = 0, .load = 3},
  };
  problem.end_position = routing::LatLng{0.03, 0.04};
  problem.travel_times = routing::TravelTimeMatrix{
      .side = 5,
      .seconds = {0,    300,  600,  450,  1500,  //
                  310,  0,    400,  500,  1300,  //
                  620,  410,  0,    700,  1000,  //
                  460,  520,  710,  0,    1700,  //
                  1500, 1300, 1000, 1700, 0}};
  return problem;
}

routing::Instance Build(const routing::RouteProblem& problem) {
  absl::StatusOr<routing::Instance> instance = routing::Instance::Build(problem, {});
  INFO(instance.status().ToString());
  REQUIRE(instance.ok());
  return *std::move(instance);
}

FeatureBatch Encode(const std::vector<const routing::Instance*>& instances, int N) {
  FeatureBatch batch;
  const absl::Status status = EncodeFeatures(instances, N, batch);
  INFO(status.ToString());
  REQUIRE(status.ok());
  return batch;
}

void CheckRow(const float* actual, const std::vector<double>& expected) {
  for (size_t f = 0; f < expected.size(); ++f) {
    INFO("feature " << f);
    CHECK(actual[f] == Approx(expected[f]).margin(1e-6));
  }
}

// Metres per degree on the plane's axes at the equator.
const double kMetresPerDegree = 6371008.8 * std::numbers::pi / 180;

TEST_CASE("every feature of a 3-stop problem with a matrix and an end position", "[features]") {
  const routing::Instance instance = Build(Fixture());
  const FeatureBatch batch = Encode({&instance}, /*N=*/4);
  REQUIRE(batch.batch_size == 1);
  REQUIRE(batch.padded_size == 4);
  REQUIRE(batch.nodes.size() == 4 * kNodeFeatures);
  REQUIRE(batch.courier.size() == kCourierFeatures);
  REQUIRE(batch.travel.size() == 5 * 5);

  // dist_scale: the end position, 0.05 deg; time_scale: the longest leg from the courier to a
  // stop, 600 s (the 1500 s to the end position does not count).
  const FeatureScales scales = ScalesOf(instance);
  CHECK(scales.dist_scale_m == Approx(0.05 * kMetresPerDegree).epsilon(1e-12));
  CHECK(scales.time_scale_s == 600);

  SECTION("nodes") {
    // east, north, travel from courier, has earliest, earliest, has latest, latest, service,
    // pickup, dropoff, visit, on board, load, partner east, partner north, travel to the end.
    CheckRow(&batch.nodes[0 * kNodeFeatures], {0, 0.2, 300.0 / 600, 1, 300.0 / 600, 0, 0,
                                               60.0 / 600, 1, 0, 0, 0, 0.4, 0.4, 0,
                                               1300.0 / 600});
    CheckRow(&batch.nodes[1 * kNodeFeatures], {0.4, 0, 600.0 / 600, 0, 0, 1, 1200.0 / 600,
                                               120.0 / 600, 0, 1, 0, 0, 0.4, 0, 0.2,
                                               1000.0 / 600});
    CheckRow(&batch.nodes[2 * kNodeFeatures], {-0.2, -0.2, 450.0 / 600, 0, 0, 0, 0, 0, 0, 1, 0,
                                               1, 0.3, 0, 0, 1700.0 / 600});
    for (int f = 0; f < kNodeFeatures; ++f) CHECK(batch.nodes[3 * kNodeFeatures + f] == 0.0f);
  }
  SECTION("pairs and padding") {
    CHECK(batch.pairs == std::pmr::vector<int64_t>{1, 0, -1, -1});
    CHECK(batch.padding == std::pmr::vector<uint8_t>{0, 0, 0, 1});
  }
  SECTION("courier") {
    // has end, end east, end north, travel to the end, load on board, ln(time_scale / 1800),
    // ln(dist_scale / 4000), stops / N.
    CheckRow(batch.courier.data(),
             {1, 0.8, 0.6, 1500.0 / 600, 0.3, std::log(600.0 / 1800),
              std::log(0.05 * kMetresPerDegree / 4000), 3.0 / 4});
  }
  SECTION("travel: nodes 0..3 are the courier and the stops; the padding node's row and column "
          "are zero; the end position is no node") {
    const std::vector<double> expected = {0,   300, 600, 450, 0,  //
                                          310, 0,   400, 500, 0,  //
                                          620, 410, 0,   700, 0,  //
                                          460, 520, 710, 0,   0,  //
                                          0,   0,   0,   0,   0};
    for (size_t k = 0; k < expected.size(); ++k) {
      INFO("travel[" << k / 5 << "][" << k % 5 << "]");
      CHECK(batch.travel[k] == Approx(expected[k] / 600).margin(1e-7));
    }
  }
}

TEST_CASE("normalised times are clipped, the scales have floors, longitudes wrap", "[features]") {
  routing::RouteProblem problem = Fixture();
  problem.stops[0].window = {.earliest = kNow + 1'000'000};  // +1666 time scales
  problem.stops[1].window = {.latest = kNow - 1'000'000};    // promised long ago
  problem.stops[2].service_s = 100'000;
  problem.travel_times->seconds[1 * 5 + 2] = 1e7;  // A -> B
  problem.travel_times->seconds[3 * 5 + 4] = 1e7;  // C -> end
  const routing::Instance instance = Build(problem);
  const FeatureBatch batch = Encode({&instance}, 3);
  CHECK(batch.nodes[0 * kNodeFeatures + 4] == 10.0f);
  CHECK(batch.nodes[1 * kNodeFeatures + 6] == -10.0f);
  CHECK(batch.nodes[2 * kNodeFeatures + 7] == 10.0f);
  CHECK(batch.nodes[2 * kNodeFeatures + 15] == 10.0f);
  CHECK(batch.travel[1 * 4 + 2] == 10.0f);
  CHECK(batch.courier[7] == 1.0f);  // 3 stops in N = 3

  // One stop 10 m and 2 s away: both scales at their floors.
  routing::RouteProblem small;
  small.courier = {.position = {48.85, 2.35}, .now = kNow, .capacity = 1};
  small.stops = {{.id = "v", .position = {48.85009, 2.35}, .kind = routing::StopKind::kVisit}};
  small.travel_times = routing::TravelTimeMatrix{.side = 2, .seconds = {0, 2, 2, 0}};
  const routing::Instance near = Build(small);
  CHECK(ScalesOf(near).dist_scale_m == kMinDistScaleM);
  CHECK(ScalesOf(near).time_scale_s == kMinTimeScaleS);
  const FeatureBatch near_batch = Encode({&near}, 1);
  CHECK(near_batch.nodes[1] == Approx(0.00009 * kMetresPerDegree / 1000).epsilon(1e-5));
  CHECK(near_batch.nodes[10] == 1.0f);  // a visit
  CHECK(near_batch.pairs[0] == -1);
  CHECK(near_batch.courier[5] == Approx(std::log(60.0 / 1800)));
  CHECK(near_batch.courier[6] == Approx(std::log(1000.0 / 4000)));
  CHECK(near_batch.courier[0] == 0.0f);  // no end position: courier features 0..3 are zero
  CHECK(near_batch.courier[3] == 0.0f);

  // At 60 deg north a degree of longitude is half as long; across the antimeridian the
  // difference wraps: 179.99 -> -179.99 is 0.02 deg east.
  routing::RouteProblem north;
  north.courier = {.position = {60, 179.99}, .now = kNow, .capacity = 1};
  north.stops = {{.id = "e", .position = {60, -179.99}, .kind = routing::StopKind::kVisit},
                 {.id = "n", .position = {60.01, 179.99}, .kind = routing::StopKind::kVisit}};
  const routing::Instance wrapped = Build(north);
  const double east = 0.02 * std::cos(60 * std::numbers::pi / 180) * kMetresPerDegree;
  const double dist_scale = std::max(1000.0, 0.01 * kMetresPerDegree);
  CHECK(ScalesOf(wrapped).dist_scale_m == Approx(dist_scale).epsilon(1e-9));
  const FeatureBatch north_batch = Encode({&wrapped}, 2);
  CHECK(north_batch.nodes[0] == Approx(east / dist_scale).epsilon(1e-5));
  CHECK(north_batch.nodes[1] == Approx(0).margin(1e-6));
  CHECK(north_batch.nodes[kNodeFeatures + 0] == Approx(0).margin(1e-6));
  CHECK(north_batch.nodes[kNodeFeatures + 1] == Approx(1.0).epsilon(1e-5));
}

// Generated problems of several sizes, built.
std::vector<routing::Instance> Generated(const std::vector<int>& sizes, uint64_t seed) {
  std::vector<routing::Instance> instances;
  for (const int size : sizes) {
    routing::GeneratorOptions options;
    options.num_stops = size;
    options.end_position_probability = 0.5;
    instances.push_back(Build(routing::GenerateProblem(options, seed++)));
  }
  return instances;
}

TEST_CASE("a problem's rows do not depend on its batch-mates, and padding rows are zero",
          "[features]") {
  const std::vector<routing::Instance> instances = Generated({5, 16, 1, 11}, 100);
  const int N = 16;
  const FeatureBatch alone = Encode({&instances[0]}, N);
  const FeatureBatch batch =
      Encode({&instances[1], &instances[2], &instances[0], &instances[3]}, N);
  REQUIRE(batch.batch_size == 4);
  auto slice = [](const auto& values, size_t row, size_t size) {
    return std::pmr::vector<typename std::decay_t<decltype(values)>::value_type>(
        values.begin() + row * size, values.begin() + (row + 1) * size);
  };
  CHECK(slice(batch.nodes, 2, N * kNodeFeatures) == alone.nodes);
  CHECK(slice(batch.pairs, 2, N) == alone.pairs);
  CHECK(slice(batch.padding, 2, N) == alone.padding);
  CHECK(slice(batch.courier, 2, kCourierFeatures) == alone.courier);
  CHECK(slice(batch.travel, 2, (N + 1) * (N + 1)) == alone.travel);

  // Problem 1 (1 stop): rows 1.. and the travel of nodes 2.. are zero, pairs -1, padding set.
  for (int i = 1; i < N; ++i) {
    for (int f = 0; f < kNodeFeatures; ++f) {
      CHECK(batch.nodes[(static_cast<size_t>(1) * N + i) * kNodeFeatures + f] == 0.0f);
    }
    CHECK(batch.pairs[1 * N + i] == -1);
    CHECK(batch.padding[1 * N + i] == 1);
  }
  CHECK(batch.padding[1 * N + 0] == 0);
  for (int u = 0; u < N + 1; ++u) {
    for (int v = 0; v < N + 1; ++v) {
      if (u < 2 && v < 2) continue;
      CHECK(batch.travel[static_cast<size_t>(1) * (N + 1) * (N + 1) + u * (N + 1) + v] == 0.0f);
    }
  }

  // Pairs point at partners both ways.
  for (int b = 0; b < 4; ++b) {
    for (int i = 0; i < N; ++i) {
      const int64_t partner = batch.pairs[b * N + i];
      if (partner >= 0) CHECK(batch.pairs[b * N + partner] == i);
    }
  }
}

TEST_CASE("encoding refuses a problem larger than N, and RepeatFirstProblem pads with problem 0",
          "[features]") {
  const std::vector<routing::Instance> instances = Generated({9, 3}, 200);
  FeatureBatch batch;
  const absl::Status too_big = EncodeFeatures(std::vector{&instances[0]}, 8, batch);
  CHECK(too_big.code() == absl::StatusCode::kInvalidArgument);
  CHECK(batch.batch_size == 0);

  batch = Encode({&instances[1], &instances[0]}, 16);
  RepeatFirstProblem(batch, 4);
  const FeatureBatch first = Encode({&instances[1]}, 16);
  REQUIRE(batch.batch_size == 4);
  for (int row : {2, 3}) {
    CHECK(std::pmr::vector<float>(batch.nodes.begin() + row * 16 * kNodeFeatures,
                                  batch.nodes.begin() + (row + 1) * 16 * kNodeFeatures) ==
          first.nodes);
    CHECK(std::pmr::vector<float>(batch.travel.begin() + row * 17 * 17,
                                  batch.travel.begin() + (row + 1) * 17 * 17) == first.travel);
    CHECK(std::pmr::vector<float>(batch.courier.begin() + row * kCourierFeatures,
                                  batch.courier.begin() + (row + 1) * kCourierFeatures) ==
          first.courier);
  }
  CHECK(batch.pairs.size() == 4 * 16);
  CHECK(batch.padding.size() == 4 * 16);
}

TEST_CASE("a batch reuses the arrays of a larger one before it, and encodes as a fresh one",
          "[features]") {
  const std::vector<routing::Instance> instances = Generated({12, 5, 16, 3}, 300);
  FeatureBatch batch;
  REQUIRE(EncodeFeatures(std::vector{&instances[0], &instances[1], &instances[2]}, 16, batch)
              .ok());
  const float* nodes = batch.nodes.data();
  const float* travel = batch.travel.data();
  const int64_t* pairs = batch.pairs.data();
  // A smaller batch at a smaller N: the same memory, the values of a fresh encoding.
  REQUIRE(EncodeFeatures(std::vector{&instances[3], &instances[1]}, 8, batch).ok());
  CHECK(batch.nodes.data() == nodes);
  CHECK(batch.travel.data() == travel);
  CHECK(batch.pairs.data() == pairs);
  const FeatureBatch fresh = Encode({&instances[3], &instances[1]}, 8);
  CHECK(batch.batch_size == 2);
  CHECK(batch.padded_size == 8);
  CHECK(batch.nodes == fresh.nodes);
  CHECK(batch.pairs == fresh.pairs);
  CHECK(batch.padding == fresh.padding);
  CHECK(batch.courier == fresh.courier);
  CHECK(batch.travel == fresh.travel);
}

TEST_CASE("the noise of a problem is the same whatever its batch, its place and N", "[noise]") {
  const std::vector<routing::Instance> instances = Generated({7, 30, 2}, 300);
  const int K = 5;
  std::pmr::vector<float> alone;
  GumbelNoise(std::vector{&instances[0]}, /*padded_size=*/8, K, alone);
  std::pmr::vector<float> batch;
  GumbelNoise(std::vector{&instances[1], &instances[2], &instances[0]}, /*padded_size=*/32, K,
              batch);
  REQUIRE(alone.size() == static_cast<size_t>(K * 8));
  REQUIRE(batch.size() == static_cast<size_t>(3 * K * 32));
  for (int k = 0; k < K; ++k) {
    for (int i = 0; i < 32; ++i) {
      const float in_batch = batch[(2 * K + k) * 32 + i];
      INFO("k " << k << ", i " << i);
      if (k == 0 || i >= 7) {
        CHECK(in_batch == 0.0f);  // greedy ignores it; padding has none
      } else {
        CHECK(in_batch == alone[k * 8 + i]);
        CHECK(in_batch != 0.0f);
      }
    }
  }
  // Decodings and stops differ from each other; so do problems.
  CHECK(alone[1 * 8 + 0] != alone[2 * 8 + 0]);
  CHECK(alone[1 * 8 + 0] != alone[1 * 8 + 1]);
  CHECK(ProblemHash(instances[0]) != ProblemHash(instances[1]));
  // Rebuilding the problem gives the same hash.
  routing::GeneratorOptions options;
  options.num_stops = 7;
  options.end_position_probability = 0.5;
  CHECK(ProblemHash(Build(routing::GenerateProblem(options, 300))) == ProblemHash(instances[0]));
}

TEST_CASE("the noise is stable across runs and platforms, and Gumbel-distributed", "[noise]") {
  // Pinned values: a change here changes every sampled decoding of every request.
  const routing::Instance instance = Build(Fixture());
  CHECK(ProblemHash(instance) == 0x2cd3ae57e9d8fed0ULL);
  CHECK(GumbelNoiseAt(0x2cd3ae57e9d8fed0ULL, 1, 0) == -1.08338737f);
  CHECK(GumbelNoiseAt(0x2cd3ae57e9d8fed0ULL, 7, 31) == -1.05718017f);
  CHECK(GumbelNoiseAt(0, 63, 1023) == -0.34685123f);
  // The problem moved by a nanodegree is another problem.
  routing::RouteProblem moved = Fixture();
  moved.stops[2].position.lng_deg += 1e-9;
  CHECK(ProblemHash(Build(moved)) != ProblemHash(instance));

  // Mean of the Gumbel distribution: the Euler-Mascheroni constant; variance pi^2 / 6.
  double sum = 0;
  double sum_sq = 0;
  constexpr int kDraws = 40'000;
  for (int i = 0; i < kDraws; ++i) {
    const double g = GumbelNoiseAt(ProblemHash(instance), 1 + i / 1000, i % 1000);
    sum += g;
    sum_sq += g * g;
  }
  const double mean = sum / kDraws;
  const double variance = sum_sq / kDraws - mean * mean;
  CHECK(mean == Approx(0.5772).margin(0.03));
  CHECK(variance == Approx(std::numbers::pi * std::numbers::pi / 6).margin(0.06));
}

}  // namespace
}  // namespace routeserve::model
