// The shipped model, models/route-v1, as the server loads it with the project's LibTorch: its
// metadata says how it was made, its masks keep every decoding feasible on random problems of
// every regime and size it takes, and padding never changes its answer.
#include <catch2/catch.hpp>

#include <algorithm>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "model/model_runner.h"
#include "routing/evaluator.h"
#include "routing/generator.h"
#include "routing/regimes.h"
#include "tests/model/default_buckets.h"

namespace routeserve::model {
namespace {

std::unique_ptr<ModelRunner> LoadShipped() {
  ModelRunnerOptions options;
  options.device = DeviceSpec{.kind = DeviceSpec::Kind::kCpu};
  options.max_batch_size = 16;
  absl::StatusOr<std::unique_ptr<ModelRunner>> runner =
      ModelRunner::Load(ROUTESERVE_SHIPPED_MODEL_DIR, options);
  INFO(runner.status().ToString());
  REQUIRE(runner.ok());
  return *std::move(runner);
}

// `count` problems of 1..max_stops stops, cycling through the regimes.
std::vector<routing::Instance> Problems(int count, int max_stops, uint64_t seed) {
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

TEST_CASE("the shipped model loads and its metadata says how it was made", "[shipped]") {
  const std::unique_ptr<ModelRunner> runner = LoadShipped();
  CHECK(absl::StartsWith(runner->model_version(), "route-v1-"));
  CHECK(runner->metadata().feature_version == 1);
  CHECK(runner->max_stops() >= 16);
  CHECK(runner->warnings().empty());  // trained for the default objective
}

TEST_CASE("the shipped model's decodings are feasible routes on random problems of every "
          "regime and size it takes",
          "[shipped]") {
  const std::unique_ptr<ModelRunner> runner = LoadShipped();
  const std::vector<routing::Instance> problems = Problems(140, runner->max_stops(), 11);
  const int K = 4;
  for (size_t start = 0; start < problems.size(); start += 7) {
    // Batches of 7 problems of mixed sizes, at the bucket of the largest.
    std::vector<const routing::Instance*> batch;
    int largest = 1;
    for (size_t i = start; i < start + 7 && i < problems.size(); ++i) {
      batch.push_back(&problems[i]);
      largest = std::max(largest, problems[i].num_stops());
    }
    const auto results = runner->Run(batch, runner->PaddedSizeFor(DefaultBucketFor(largest)), K, 0);
    REQUIRE(results.size() == batch.size());
    for (size_t b = 0; b < batch.size(); ++b) {
      INFO("problem " << start + b << " (" << batch[b]->num_stops() << " stops): "
                      << results[b].status().ToString());
      // The runner refuses (DataLoss) any decoding that is not a feasible order of the stops.
      REQUIRE(results[b].ok());
      REQUIRE(results[b]->size() == static_cast<size_t>(K));
      for (const Decoding& decoding : *results[b]) {
        CHECK(routing::Evaluate(*batch[b], decoding.order).feasible());
      }
    }
  }
}

// The model sees N through courier feature 7 (stops / N, docs/MODEL.md), so a request's answer
// is a function of its bucket, which its own stop count sets; within that, nothing else of its
// batch — its batch-mates, the rows padding it to N — may change it.
TEST_CASE("padding invariance of the shipped model: a problem gets the same routes alone and "
          "in a batch of larger problems of its bucket",
          "[shipped]") {
  const std::unique_ptr<ModelRunner> runner = LoadShipped();
  const int K = 4;
  for (int bucket = 8; bucket <= runner->max_stops(); bucket *= 2) {
    const int N = runner->PaddedSizeFor(bucket);
    const std::vector<routing::Instance> small = Problems(6, bucket - 2, 21 + bucket);
    std::vector<routing::Instance> large;
    for (const routing::Instance& problem : Problems(30, bucket, 22 + bucket)) {
      if (problem.num_stops() > bucket / 2 && large.size() < 7) large.push_back(problem);
    }
    for (size_t i = 0; i < small.size(); ++i) {
      const routing::Instance& problem = small[i];
      if (DefaultBucketFor(problem.num_stops()) != bucket) continue;  // another bucket's problem
      const std::vector<const routing::Instance*> just_it = {&problem};
      const auto alone = runner->Run(just_it, N, K, 0);
      std::vector<const routing::Instance*> batch;
      for (const routing::Instance& other : large) batch.push_back(&other);
      const size_t place = i % (batch.size() + 1);
      batch.insert(batch.begin() + static_cast<std::ptrdiff_t>(place), &problem);
      const auto in_batch = runner->Run(batch, N, K, 0);
      INFO("bucket " << bucket << ", problem " << i << " (" << problem.num_stops()
                     << " stops) at " << place << " of " << batch.size());
      REQUIRE(alone[0].ok());
      REQUIRE(in_batch[place].ok());
      for (int k = 0; k < K; ++k) {
        INFO("decoding " << k);
        CHECK((*alone[0])[k].order == (*in_batch[place])[k].order);
      }
    }
  }
}

}  // namespace
}  // namespace routeserve::model
