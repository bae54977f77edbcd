// The models in models/, as the server loads them with the project's LibTorch: the shipped one
// (route-v1) and route-v2's edge model. Their metadata says how they were made, every route
// they give is feasible on random problems of every regime and size they take, and padding
// never changes an answer (route-v2's not even its bucket).
#include <catch2/catch.hpp>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "model/model_runner.h"
#include "routing/evaluator.h"
#include "routing/generator.h"
#include "routing/regimes.h"
#include "tests/model/default_buckets.h"
#include "tests/model/problems.h"

namespace routeserve::model {
namespace {

std::unique_ptr<ModelRunner> Load(const std::string& dir) {
  ModelRunnerOptions options;
  options.device = DeviceSpec{.kind = DeviceSpec::Kind::kCpu};
  options.max_batch_size = 16;
  absl::StatusOr<std::unique_ptr<ModelRunner>> runner = ModelRunner::Load(dir, options);
  INFO(dir << ": " << runner.status().ToString());
  REQUIRE(runner.ok());
  return *std::move(runner);
}

// Each model of models/, by its directory.
std::string AnyModel() {
  return GENERATE(as<std::string>(), ROUTESERVE_SHIPPED_MODEL_DIR, ROUTESERVE_ROUTE_V2_DIR);
}

TEST_CASE("the models load and their metadata says how they were made", "[shipped]") {
  const std::unique_ptr<ModelRunner> v1 = Load(ROUTESERVE_SHIPPED_MODEL_DIR);
  CHECK(absl::StartsWith(v1->model_version(), "route-v1-"));
  CHECK(v1->family() == ModelFamily::kPointer);
  CHECK(v1->metadata().feature_version == 1);
  CHECK(v1->max_stops() >= 16);
  CHECK(v1->warnings().empty());  // trained for the default objective
  const std::unique_ptr<ModelRunner> v2 = Load(ROUTESERVE_ROUTE_V2_DIR);
  CHECK(absl::StartsWith(v2->model_version(), "route-v2-"));
  CHECK(v2->family() == ModelFamily::kEdges);
  CHECK(v2->max_stops() == 128);  // the server's limit
  CHECK(v2->warnings().empty());
}

TEST_CASE("the models' routes are feasible on random problems of every regime and size they "
          "take",
          "[shipped]") {
  const std::string dir = AnyModel();
  INFO(dir);
  const std::unique_ptr<ModelRunner> runner = Load(dir);
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

// route-v1 sees N through courier feature 7 (stops / N, docs/MODEL.md), so a request's answer
// is a function of its bucket, which its own stop count sets; within that, nothing else of its
// batch — its batch-mates, the rows padding it to N — may change it.
TEST_CASE("padding invariance: a problem gets the same routes alone and in a batch of larger "
          "problems of its bucket",
          "[shipped]") {
  const std::string dir = AnyModel();
  INFO(dir);
  const std::unique_ptr<ModelRunner> runner = Load(dir);
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

// route-v2 ignores courier feature 7: a request gets the same route whatever batching.buckets
// says, so at any N that holds it.
TEST_CASE("route-v2: a problem gets the same starts at every N that holds it", "[shipped]") {
  const std::unique_ptr<ModelRunner> runner = Load(ROUTESERVE_ROUTE_V2_DIR);
  const int K = 4;
  const std::vector<routing::Instance> problems = Problems(28, 30, 41);
  for (const routing::Instance& problem : problems) {
    const std::vector<const routing::Instance*> just_it = {&problem};
    std::vector<std::vector<int>> first_routes;
    for (int N = DefaultBucketFor(problem.num_stops()); N <= runner->max_stops(); N *= 2) {
      const auto result = runner->Run(just_it, N, K, 0);
      INFO(problem.num_stops() << " stops at N " << N << ": " << result[0].status().ToString());
      REQUIRE(result[0].ok());
      std::vector<std::vector<int>> routes;
      for (const Decoding& start : *result[0]) routes.push_back(start.order);
      if (first_routes.empty()) first_routes = routes;
      CHECK(routes == first_routes);
    }
  }
}

}  // namespace
}  // namespace routeserve::model
