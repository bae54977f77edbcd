// The training recipe's own exports (tests/model/make_recipe_model.py, fixture
// routeserve_recipe_model: tiny models of both families trained for a few steps on
// routeserve-datagen's problems) load with the project's LibTorch, and the C++ path — requests
// through the API's conversion, the C++ encoder, the runner — gives the greedy orders (and for
// route-v2 the scores) Python's torch gave the same files on the same requests.
#include <catch2/catch.hpp>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "api/request.h"
#include "google/protobuf/util/json_util.h"
#include "model/model_runner.h"
#include "routing/evaluator.h"
#include "routing/instance.h"

namespace routeserve::model {
namespace {

std::vector<std::string> Lines(const std::string& path) {
  std::ifstream file(path);
  REQUIRE(file.good());
  std::vector<std::string> lines;
  for (std::string line; std::getline(file, line);) lines.push_back(line);
  return lines;
}

std::unique_ptr<ModelRunner> LoadOnCpu(const std::string& model_dir) {
  ModelRunnerOptions options;
  options.device = DeviceSpec{.kind = DeviceSpec::Kind::kCpu};
  options.threads = 1;
  options.max_batch_size = 32;
  absl::StatusOr<std::unique_ptr<ModelRunner>> runner = ModelRunner::Load(model_dir, options);
  INFO(runner.status().ToString());
  REQUIRE(runner.ok());
  CHECK((*runner)->max_stops() == 8);  // the largest bucket it was trained on
  return *std::move(runner);
}

// The fixture's check requests, built.
std::vector<routing::Instance> CheckInstances() {
  std::vector<routing::Instance> instances;
  for (const std::string& json : Lines(std::string(ROUTESERVE_RECIPE_MODEL_DIR) +
                                       "/check_requests.jsonl")) {
    v1::SuggestRequest request;
    REQUIRE(google::protobuf::util::JsonStringToMessage(json, &request).ok());
    absl::StatusOr<routing::RouteProblem> problem = api::ToRouteProblem(request, {});
    REQUIRE(problem.ok());
    absl::StatusOr<routing::Instance> instance = routing::Instance::Build(*problem, {});
    REQUIRE(instance.ok());
    instances.push_back(*std::move(instance));
  }
  REQUIRE(instances.size() >= 20);
  return instances;
}

std::string Joined(const std::vector<int>& order) {
  std::ostringstream text;
  for (size_t k = 0; k < order.size(); ++k) text << (k > 0 ? " " : "") << order[k];
  return text.str();
}

TEST_CASE("a model trained and exported by the recipe runs in C++ as it ran in Python",
          "[recipe]") {
  const std::string dir = ROUTESERVE_RECIPE_MODEL_DIR;
  const std::unique_ptr<ModelRunner> runner = LoadOnCpu(dir + "/model");
  CHECK(runner->family() == ModelFamily::kPointer);
  const std::vector<routing::Instance> instances = CheckInstances();
  const std::vector<std::string> expected = Lines(dir + "/check_greedy.txt");
  REQUIRE(expected.size() == instances.size());

  std::vector<const routing::Instance*> batch;
  for (const routing::Instance& instance : instances) batch.push_back(&instance);
  const auto results = runner->Run(batch, 8, /*decodings=*/4, /*executor=*/0);
  REQUIRE(results.size() == batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    INFO("request " << i << ": " << results[i].status().ToString());
    REQUIRE(results[i].ok());  // every decoding a feasible order of the stops
    CHECK(Joined((*results[i])[0].order) == expected[i]);
  }
  // A pointer model has no edge scores.
  const auto scored = runner->Score(batch, 8, 1, 0);
  REQUIRE(scored.size() == batch.size());
  CHECK(scored[0].status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("route-v2 exported by the recipe: C++ gets Python's scores and greedy routes, and "
          "starts that do not depend on the batch",
          "[recipe]") {
  const std::string dir = std::string(ROUTESERVE_RECIPE_MODEL_DIR) + "/edges";
  const std::unique_ptr<ModelRunner> runner = LoadOnCpu(dir + "/model");
  CHECK(runner->family() == ModelFamily::kEdges);
  const std::vector<routing::Instance> instances = CheckInstances();
  const std::vector<std::string> expected_greedy = Lines(dir + "/check_greedy.txt");
  const std::vector<std::string> expected_scores = Lines(dir + "/check_scores.txt");
  REQUIRE(expected_greedy.size() == instances.size());
  REQUIRE(expected_scores.size() == instances.size());

  std::vector<const routing::Instance*> batch;
  for (const routing::Instance& instance : instances) batch.push_back(&instance);
  constexpr int kStarts = 4;
  const auto scored = runner->Score(batch, 8, kStarts, /*executor=*/0);
  const auto routes = runner->Run(batch, 8, kStarts, /*executor=*/0);
  REQUIRE(scored.size() == batch.size());
  REQUIRE(routes.size() == batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    INFO("request " << i << ": " << scored[i].status().ToString());
    REQUIRE(scored[i].ok());
    const routing::EdgeScores& scores = scored[i]->scores;
    const int nodes = instances[i].num_stops() + 1;
    REQUIRE(scores.num_nodes() == nodes);
    std::istringstream values(expected_scores[i]);
    for (int from = 0; from < nodes; ++from) {
      for (int to = 0; to < nodes; ++to) {
        double python = 0;
        REQUIRE(values >> python);
        CHECK(scores.at(from, to) == Approx(python).margin(1e-4));
      }
    }
    REQUIRE(scored[i]->starts.size() == kStarts);
    CHECK(Joined(scored[i]->starts[0].order) == expected_greedy[i]);
    for (const Decoding& start : scored[i]->starts) {
      const routing::RouteEvaluation evaluation = routing::Evaluate(instances[i], start.order);
      CHECK(evaluation.feasible());
      CHECK(start.cost == evaluation.cost);
      double score = 0;
      int node = 0;
      for (const int stop : start.order) {
        score += scores.at(node, stop + 1);
        node = stop + 1;
      }
      CHECK(start.score == Approx(score));
    }
    // Run() gives the same routes; alone, a problem gets the same starts as in the batch.
    REQUIRE(routes[i].ok());
    const std::vector<const routing::Instance*> alone = {&instances[i]};
    const auto one = runner->Score(alone, 8, kStarts, 0);
    REQUIRE(one[0].ok());
    for (int k = 0; k < kStarts; ++k) {
      CHECK((*routes[i])[k].order == scored[i]->starts[k].order);
      CHECK(one[0]->starts[k].order == scored[i]->starts[k].order);
    }
  }
}

}  // namespace
}  // namespace routeserve::model
