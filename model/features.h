// The model's feature encoding, version 1 (docs/MODEL.md): a batch of routing::Instance padded
// to N stops becomes the plain arrays the TorchScript model's forward() takes, and the Gumbel
// noise its sampled decodings use. No LibTorch here: tools encode without it, and the model
// runner (model/model_runner.h) wraps these arrays in tensors without copying them.
//
// EXACTNESS: arithmetic in double, storage in float32, in the order docs/MODEL.md states the
//   formulas; the training recipe's encoder is held to the same values on shared fixtures.
// PADDING: rows past a problem's stop count are zero (`pairs` -1, `padding` true); a problem's
//   rows do not depend on N nor on its batch-mates.
// NOISE: drawn from a counter-based generator (SplitMix64::Mix, base/random.h) keyed by a hash
//   of the problem's own values, the decoding and the stop, never by its place in the batch:
//   the same problem gets the same noise, and so the same decodings, alone or in any batch, on
//   every run and platform.
#pragma once

#include <cstdint>
#include <memory_resource>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "routing/instance.h"

namespace routeserve::model {

inline constexpr int kFeatureVersion = 1;
inline constexpr int kNodeFeatures = 16;    // F: per stop
inline constexpr int kCourierFeatures = 8;  // C: per problem

// Floors of the two scales (docs/MODEL.md, Conventions) and the references of their logarithms.
inline constexpr double kMinDistScaleM = 1000;
inline constexpr double kMinTimeScaleS = 60;
inline constexpr double kDistReferenceM = 4000;
inline constexpr double kTimeReferenceS = 1800;
// Normalised times (windows, service) are clipped to [-kMaxNormalisedTime, kMaxNormalisedTime];
// normalised travel times (node features 2 and 15, courier feature 3, `travel`) to
// [0, kMaxNormalisedTime].
inline constexpr double kMaxNormalisedTime = 10;

// One batch's inputs, row-major, shapes as named. B problems, N stops each after padding.
// The arrays take their memory from `memory`: the runner gives its CUDA executors pinned host
// memory, so that a batch is encoded where its copy to the device starts (model_runner.cc).
struct FeatureBatch {
  FeatureBatch() = default;
  explicit FeatureBatch(std::pmr::memory_resource* memory)
      : nodes(memory), pairs(memory), padding(memory), courier(memory), travel(memory) {}

  int batch_size = 0;   // B
  int padded_size = 0;  // N
  std::pmr::vector<float> nodes;      // [B, N, kNodeFeatures]
  std::pmr::vector<int64_t> pairs;    // [B, N]: the partner's stop index, or -1
  std::pmr::vector<uint8_t> padding;  // [B, N]: 1 for padding rows (a bool tensor's bytes)
  std::pmr::vector<float> courier;    // [B, kCourierFeatures]
  std::pmr::vector<float> travel;     // [B, N + 1, N + 1]: node 0 the courier, node i + 1 stop i
};

// The two scales of a problem (docs/MODEL.md), exposed for tests and tools.
struct FeatureScales {
  double dist_scale_m = kMinDistScaleM;
  double time_scale_s = kMinTimeScaleS;
};
FeatureScales ScalesOf(const routing::Instance& instance);

// Encodes `instances` into a batch of `padded_size` stops, reusing `batch`'s arrays: a batch no
// larger than one encoded before allocates nothing (the runner's staging buffers are kept from
// batch to batch). InvalidArgument when an instance has more stops than `padded_size` (or
// `padded_size` < 1); the batch is then left empty.
absl::Status EncodeFeatures(std::span<const routing::Instance* const> instances,
                            int padded_size, FeatureBatch& batch);

// Grows `batch` (B >= 1) to `rows` problems, the new ones copies of problem 0: the runner pads a
// batch up to its size class with a real problem (an all-padding row would be a problem of no
// stops, which a model need not handle). No-op when `rows` <= B.
void RepeatFirstProblem(FeatureBatch& batch, int rows);

// A 64-bit hash of what the problem asks (positions, kinds, pairing, loads, capacity, windows,
// service times, the end position), stable across runs and platforms: it hashes the exact bits
// of the request's values, none computed by libm. Travel times are left out: equal positions
// with another matrix may share noise, which costs nothing.
uint64_t ProblemHash(const routing::Instance& instance);

// Gumbel noise [B, decodings, padded_size] for `instances` (docs/MODEL.md, input 6): decoding 0
// (greedy) gets zeros; decoding k >= 1 at stop i gets -ln(-ln(u)), u uniform in (0, 1) drawn
// from ProblemHash, k and i alone; padding rows get zeros.
void GumbelNoise(std::span<const routing::Instance* const> instances, int padded_size,
                 int decodings, std::pmr::vector<float>& noise);

// The noise of one problem's decoding `k` at stop `stop` (what GumbelNoise stores).
float GumbelNoiseAt(uint64_t problem_hash, int k, int stop);

}  // namespace routeserve::model
