// Feature encoding v1 (docs/MODEL.md), the problem hash and the decodings' Gumbel noise.
#include "model/features.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <numbers>

#include "absl/strings/str_cat.h"
#include "base/random.h"
#include "routing/travel_time.h"

namespace routeserve::model {
namespace {

constexpr double kPi = std::numbers::pi;

// A node's position in the plane around the courier (docs/MODEL.md, Conventions), metres.
struct PlanePoint {
  double east = 0;
  double north = 0;
};

// Equirectangular projection around `origin`. The longitude difference is wrapped (by 360)
// only when it lies outside [-180, 180), so that an ordinary difference is used exactly as
// computed.
PlanePoint Project(const routing::LatLng& origin, const routing::LatLng& point) {
  double dlng = point.lng_deg - origin.lng_deg;
  if (dlng < -180 || dlng >= 180) {
    dlng = std::fmod(dlng + 180, 360);
    if (dlng < 0) dlng += 360;
    dlng -= 180;
  }
  const double dlat = point.lat_deg - origin.lat_deg;
  const double R = routing::kEarthRadiusM;
  return {.east = dlng * std::cos(origin.lat_deg * kPi / 180) * R * kPi / 180,
          .north = dlat * R * kPi / 180};
}

// `value` clipped to [low, high]; a tie gives the bound, so that a caller's travel time of -0
// encodes as +0, as in the recipe (Python's max(0.0, x), numpy's clip).
double Clip(double value, double low, double high) {
  return std::min(high, std::max(low, value));
}

// A normalised time: seconds / time_scale, clipped to [-10, 10].
double NormalisedTime(double seconds, double time_scale) {
  return Clip(seconds / time_scale, -kMaxNormalisedTime, kMaxNormalisedTime);
}

// A normalised travel time: seconds / time_scale, clipped to [0, 10].
double NormalisedTravel(double seconds, double time_scale) {
  return Clip(seconds / time_scale, 0, kMaxNormalisedTime);
}

using base::SplitMix64;

class Hasher {
 public:
  void Add(uint64_t word) { state_ = SplitMix64::Mix(state_ ^ SplitMix64::Mix(word)); }
  void Add(double value) { Add(std::bit_cast<uint64_t>(value)); }
  void Add(int64_t value) { Add(static_cast<uint64_t>(value)); }
  void Add(int value) { Add(static_cast<uint64_t>(static_cast<int64_t>(value))); }
  uint64_t value() const { return state_; }

 private:
  uint64_t state_ = 0x726f757465736572ULL;  // "routeser"
};

}  // namespace

FeatureScales ScalesOf(const routing::Instance& instance) {
  const int n = instance.num_stops();
  const routing::LatLng& origin = instance.position(0);
  FeatureScales scales;
  auto extend_dist = [&](int node) {
    const PlanePoint p = Project(origin, instance.position(node));
    scales.dist_scale_m =
        std::max(scales.dist_scale_m, std::sqrt(p.east * p.east + p.north * p.north));
  };
  for (int i = 0; i < n; ++i) {
    extend_dist(i + 1);
    scales.time_scale_s = std::max(scales.time_scale_s, instance.travel_s(0, i + 1));
  }
  if (instance.has_end()) extend_dist(instance.end_node());
  return scales;
}

// Long, in one piece: the feature layout written out column by column in the order
// docs/MODEL.md lists and model/training/features.py mirrors, so that the two read alike.
absl::Status EncodeFeatures(std::span<const routing::Instance* const> instances,
                            int padded_size, FeatureBatch& batch) {
  const int B = static_cast<int>(instances.size());
  const int N = padded_size;
  // Emptied, not freed: the arrays keep their capacity from batch to batch.
  batch.batch_size = 0;
  batch.padded_size = 0;
  batch.nodes.clear();
  batch.pairs.clear();
  batch.padding.clear();
  batch.courier.clear();
  batch.travel.clear();
  if (N < 1) return absl::InvalidArgumentError(absl::StrCat("padded size ", N, " is below 1"));
  for (int b = 0; b < B; ++b) {
    if (instances[b]->num_stops() > N) {
      return absl::InvalidArgumentError(absl::StrCat("problem ", b, " has ",
                                                     instances[b]->num_stops(),
                                                     " stops, more than the padded size ", N));
    }
  }
  const int side = N + 1;
  batch.batch_size = B;
  batch.padded_size = N;
  batch.nodes.assign(static_cast<size_t>(B) * N * kNodeFeatures, 0.0f);
  batch.pairs.assign(static_cast<size_t>(B) * N, -1);
  batch.padding.assign(static_cast<size_t>(B) * N, 1);
  batch.courier.assign(static_cast<size_t>(B) * kCourierFeatures, 0.0f);
  batch.travel.assign(static_cast<size_t>(B) * side * side, 0.0f);

  std::vector<PlanePoint> plane;
  for (int b = 0; b < B; ++b) {
    const routing::Instance& instance = *instances[b];
    const int n = instance.num_stops();
    const FeatureScales scales = ScalesOf(instance);
    const double dist_scale = scales.dist_scale_m;
    const double time_scale = scales.time_scale_s;
    const double capacity = static_cast<double>(std::max<int64_t>(instance.capacity(), 1));
    const routing::LatLng& origin = instance.position(0);
    plane.resize(n);
    for (int i = 0; i < n; ++i) plane[i] = Project(origin, instance.position(i + 1));

    for (int i = 0; i < n; ++i) {
      float* f = &batch.nodes[(static_cast<size_t>(b) * N + i) * kNodeFeatures];
      const int partner = instance.partner(i);
      const routing::StopKind kind = instance.kind(i);
      f[0] = static_cast<float>(plane[i].east / dist_scale);
      f[1] = static_cast<float>(plane[i].north / dist_scale);
      f[2] = static_cast<float>(NormalisedTravel(instance.travel_s(0, i + 1), time_scale));
      if (std::isfinite(instance.earliest(i))) {
        f[3] = 1.0f;
        f[4] = static_cast<float>(NormalisedTime(instance.earliest(i), time_scale));
      }
      if (std::isfinite(instance.latest(i))) {
        f[5] = 1.0f;
        f[6] = static_cast<float>(NormalisedTime(instance.latest(i), time_scale));
      }
      f[7] = static_cast<float>(NormalisedTime(instance.service_s(i), time_scale));
      f[8] = kind == routing::StopKind::kPickup ? 1.0f : 0.0f;
      f[9] = kind == routing::StopKind::kDropoff ? 1.0f : 0.0f;
      f[10] = kind == routing::StopKind::kVisit ? 1.0f : 0.0f;
      f[11] = kind == routing::StopKind::kDropoff && partner < 0 ? 1.0f : 0.0f;
      f[12] = static_cast<float>(static_cast<double>(std::abs(instance.load_delta(i))) / capacity);
      if (partner >= 0) {
        f[13] = static_cast<float>(plane[partner].east / dist_scale);
        f[14] = static_cast<float>(plane[partner].north / dist_scale);
      }
      if (instance.has_end()) {
        f[15] = static_cast<float>(
            NormalisedTravel(instance.travel_s(i + 1, instance.end_node()), time_scale));
      }
      batch.pairs[static_cast<size_t>(b) * N + i] = partner;
      batch.padding[static_cast<size_t>(b) * N + i] = 0;
    }

    float* c = &batch.courier[static_cast<size_t>(b) * kCourierFeatures];
    if (instance.has_end()) {
      const PlanePoint end = Project(origin, instance.position(instance.end_node()));
      c[0] = 1.0f;
      c[1] = static_cast<float>(end.east / dist_scale);
      c[2] = static_cast<float>(end.north / dist_scale);
      c[3] = static_cast<float>(
          NormalisedTravel(instance.travel_s(0, instance.end_node()), time_scale));
    }
    c[4] = static_cast<float>(static_cast<double>(instance.initial_load()) / capacity);
    c[5] = static_cast<float>(std::log(time_scale / kTimeReferenceS));
    c[6] = static_cast<float>(std::log(dist_scale / kDistReferenceM));
    c[7] = static_cast<float>(static_cast<double>(n) / N);

    float* t = &batch.travel[static_cast<size_t>(b) * side * side];
    for (int u = 0; u <= n; ++u) {
      for (int v = 0; v <= n; ++v) {
        t[u * side + v] = static_cast<float>(NormalisedTravel(instance.travel_s(u, v), time_scale));
      }
    }
  }
  return absl::OkStatus();
}

void RepeatFirstProblem(FeatureBatch& batch, int rows) {
  if (rows <= batch.batch_size || batch.batch_size < 1) return;
  const size_t N = batch.padded_size;
  const size_t side = N + 1;
  auto grow = [&](auto& values, size_t row_size) {
    const size_t old_rows = values.size() / row_size;
    values.resize(static_cast<size_t>(rows) * row_size);
    for (size_t row = old_rows; row < static_cast<size_t>(rows); ++row) {
      std::copy_n(values.begin(), row_size, values.begin() + row * row_size);
    }
  };
  grow(batch.nodes, N * kNodeFeatures);
  grow(batch.pairs, N);
  grow(batch.padding, N);
  grow(batch.courier, kCourierFeatures);
  grow(batch.travel, side * side);
  batch.batch_size = rows;
}

uint64_t ProblemHash(const routing::Instance& instance) {
  Hasher h;
  const int n = instance.num_stops();
  h.Add(n);
  h.Add(static_cast<int>(instance.has_end()));
  h.Add(instance.capacity());
  const int nodes = n + 1 + (instance.has_end() ? 1 : 0);
  for (int node = 0; node < nodes; ++node) {
    h.Add(instance.position(node).lat_deg);
    h.Add(instance.position(node).lng_deg);
  }
  for (int i = 0; i < n; ++i) {
    h.Add(static_cast<int>(instance.kind(i)));
    h.Add(instance.partner(i));
    h.Add(instance.load_delta(i));
    h.Add(instance.earliest(i));
    h.Add(instance.latest(i));
    h.Add(instance.service_s(i));
  }
  return h.value();
}

float GumbelNoiseAt(uint64_t problem_hash, int k, int stop) {
  if (k == 0) return 0.0f;
  const uint64_t counter = (static_cast<uint64_t>(static_cast<uint32_t>(k)) << 32) |
                           static_cast<uint32_t>(stop);
  const uint64_t bits = SplitMix64::Mix(problem_hash ^ SplitMix64::Mix(counter));
  // The top 53 bits, centred in their interval: u lies strictly inside (0, 1).
  const double u = (static_cast<double>(bits >> 11) + 0.5) * 0x1.0p-53;
  return static_cast<float>(-std::log(-std::log(u)));
}

void GumbelNoise(std::span<const routing::Instance* const> instances, int padded_size,
                 int decodings, std::pmr::vector<float>& noise) {
  const size_t B = instances.size();
  const size_t N = padded_size;
  const size_t K = decodings;
  noise.assign(B * K * N, 0.0f);
  for (size_t b = 0; b < B; ++b) {
    const uint64_t hash = ProblemHash(*instances[b]);
    const int n = instances[b]->num_stops();
    for (size_t k = 1; k < K; ++k) {
      float* row = &noise[(b * K + k) * N];
      for (int i = 0; i < n; ++i) row[i] = GumbelNoiseAt(hash, static_cast<int>(k), i);
    }
  }
}

}  // namespace routeserve::model
