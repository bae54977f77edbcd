// The training recipe's own export (tests/model/make_recipe_model.py, fixture
// routeserve_recipe_model: a tiny model trained for a few steps on routeserve-datagen's
// problems) loads with the project's LibTorch, and the C++ path — requests through the API's
// conversion, the C++ encoder, the runner — gives the greedy orders Python's torch gave the same
// file on the same requests.
#include <catch2/catch.hpp>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "api/request.h"
#include "google/protobuf/util/json_util.h"
#include "model/model_runner.h"
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

TEST_CASE("a model trained and exported by the recipe runs in C++ as it ran in Python",
          "[recipe]") {
  const std::string dir = ROUTESERVE_RECIPE_MODEL_DIR;
  ModelRunnerOptions options;
  options.device = DeviceSpec{.kind = DeviceSpec::Kind::kCpu};
  options.threads = 1;
  options.max_batch_size = 32;
  absl::StatusOr<std::unique_ptr<ModelRunner>> runner =
      ModelRunner::Load(dir + "/model", options);
  INFO(runner.status().ToString());
  REQUIRE(runner.ok());
  CHECK((*runner)->max_stops() == 8);  // the largest bucket it was trained on

  std::vector<routing::Instance> instances;
  for (const std::string& json : Lines(dir + "/check_requests.jsonl")) {
    v1::SuggestRequest request;
    REQUIRE(google::protobuf::util::JsonStringToMessage(json, &request).ok());
    absl::StatusOr<routing::RouteProblem> problem = api::ToRouteProblem(request, {});
    REQUIRE(problem.ok());
    absl::StatusOr<routing::Instance> instance = routing::Instance::Build(*problem, {});
    REQUIRE(instance.ok());
    instances.push_back(*std::move(instance));
  }
  const std::vector<std::string> expected = Lines(dir + "/check_greedy.txt");
  REQUIRE(expected.size() == instances.size());
  REQUIRE(instances.size() >= 20);

  std::vector<const routing::Instance*> batch;
  for (const routing::Instance& instance : instances) batch.push_back(&instance);
  const auto results = (*runner)->Run(batch, 8, /*decodings=*/4, /*executor=*/0);
  REQUIRE(results.size() == batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    INFO("request " << i << ": " << results[i].status().ToString());
    REQUIRE(results[i].ok());  // every decoding a feasible order of the stops
    std::ostringstream greedy;
    for (size_t k = 0; k < (*results[i])[0].order.size(); ++k) {
      greedy << (k > 0 ? " " : "") << (*results[i])[0].order[k];
    }
    CHECK(greedy.str() == expected[i]);
  }
}

}  // namespace
}  // namespace routeserve::model
