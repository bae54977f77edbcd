// model.yaml, the feature contract, objective differences, SHA-256 and model_version
// (model/metadata.h, model/sha256.h).
#include "model/metadata.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "absl/strings/match.h"
#include "model/features.h"
#include "model/sha256.h"

namespace routeserve::model {
namespace {

constexpr char kGoodMetadata[] = R"(feature_version: 1
node_features: 16
courier_features: 8
max_stops: 64
objective:
  lateness_weight: 5
  waiting_weight: 0.5
  detour_factor: 1.4
  speed_mps: {bike: 4, scooter: 6, car: 9, van: 7.5}
training: {command: "python3 train.py --steps 10", data_seed: 7}
evaluation:
  mean_gap: 0.01
)";

TEST_CASE("SHA-256 of the FIPS 180-4 examples and of pieces", "[sha256]") {
  auto hex = [](const std::string& text) {
    Sha256 sha;
    sha.Update(text);
    return HexDigest(sha.Finish());
  };
  CHECK(hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  const std::string million(1'000'000, 'a');
  CHECK(hex(million) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  // Fed in uneven pieces, the same digest.
  Sha256 pieces;
  for (size_t at = 0, step = 1; at < million.size(); at += step, step = step * 3 % 997 + 1) {
    pieces.Update(million.data() + at, std::min(step, million.size() - at));
  }
  CHECK(HexDigest(pieces.Finish()) == hex(million));
}

TEST_CASE("model.yaml: the contract, max_stops and the objective, other keys ignored",
          "[metadata]") {
  const absl::StatusOr<ModelMetadata> metadata = ParseModelMetadata(kGoodMetadata, "m.yaml");
  INFO(metadata.status().ToString());
  REQUIRE(metadata.ok());
  CHECK(metadata->feature_version == 1);
  CHECK(metadata->node_features == kNodeFeatures);
  CHECK(metadata->courier_features == kCourierFeatures);
  CHECK(metadata->max_stops == 64);
  CHECK(metadata->objective.lateness_weight == 5);
  CHECK(metadata->objective.waiting_weight == 0.5);
  CHECK(metadata->objective.detour_factor == 1.4);
  CHECK(metadata->objective.speed_mps == std::array<double, 4>{4, 6, 9, 7.5});
  CHECK(CheckFeatureContract(*metadata).ok());
}

TEST_CASE("model.yaml errors name the file and the key", "[metadata]") {
  struct Case {
    std::string from, to, message;
  };
  for (const Case& c : std::vector<Case>{
           {"feature_version: 1\n", "", "m.yaml: feature_version: missing"},
           {"max_stops: 64", "max_stops: many",
            "m.yaml: max_stops: expected an integer, got \"many\""},
           {"max_stops: 64", "max_stops: 0", "m.yaml: max_stops: must be >= 1, got 0"},
           {"node_features: 16", "node_features: 1.5",
            "m.yaml: node_features: expected an integer, got \"1.5\""},
           {"  detour_factor: 1.4\n", "", "m.yaml: objective.detour_factor: missing"},
           {"  lateness_weight: 5", "  lateness_weight: [5]",
            "m.yaml: objective.lateness_weight: expected a number, got a list"},
           {"van: 7.5", "truck: 7.5", "m.yaml: objective.speed_mps.van: missing"},
           {"speed_mps: {bike: 4, scooter: 6, car: 9, van: 7.5}", "speed_mps: 5",
            "m.yaml: objective.speed_mps: expected a map, got \"5\""},
           {"courier_features: 8", "courier_features: [8", "m.yaml: YAML syntax error at line"},
       }) {
    std::string text = kGoodMetadata;
    const size_t at = text.find(c.from);
    REQUIRE(at != std::string::npos);
    text.replace(at, c.from.size(), c.to);
    const absl::StatusOr<ModelMetadata> metadata = ParseModelMetadata(text, "m.yaml");
    INFO(text);
    REQUIRE_FALSE(metadata.ok());
    INFO(metadata.status().message());
    CHECK(metadata.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(absl::StartsWith(metadata.status().message(), c.message));
  }
  CHECK(ParseModelMetadata("- a\n", "m.yaml").status().message() ==
        "m.yaml: expected a map of keys, got a list");
  CHECK(ReadModelMetadata("/nonexistent/model.yaml").status().code() ==
        absl::StatusCode::kNotFound);
}

TEST_CASE("a contract other than the encoder's is refused, naming both versions", "[metadata]") {
  ModelMetadata metadata = *ParseModelMetadata(kGoodMetadata, "m.yaml");
  metadata.feature_version = 2;
  absl::Status status = CheckFeatureContract(metadata);
  CHECK(status.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(status.message() ==
        "model.yaml: feature_version: the model was made for feature_version 2, this server "
        "encodes feature_version 1");
  metadata.feature_version = 1;
  metadata.courier_features = 9;
  status = CheckFeatureContract(metadata);
  CHECK(absl::StrContains(status.message(), "courier_features 9"));
  CHECK(absl::StrContains(status.message(), "courier_features 8"));
}

TEST_CASE("objective differences are listed by key", "[metadata]") {
  const ModelMetadata metadata = *ParseModelMetadata(kGoodMetadata, "m.yaml");
  CHECK(ObjectiveDifferences(metadata.objective, metadata.objective).empty());
  routing::ObjectiveParams config = metadata.objective;
  config.lateness_weight = 10;
  config.speed_mps[static_cast<int>(routing::VehicleType::kCar)] = 8;
  CHECK(ObjectiveDifferences(metadata.objective, config) ==
        std::vector<std::string>{
            "objective.lateness_weight: the model was trained with 5, the config has 10",
            "objective.speed_mps.car: the model was trained with 9, the config has 8"});
}

TEST_CASE("model_version is the directory's name and 12 hex digits of model.pt's SHA-256",
          "[metadata]") {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    ("routeserve_version_test_" +
                                     std::to_string(std::random_device{}())) /
                                    "route-v7";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "model.pt", std::ios::binary) << "abc";
  for (const std::string& spelling : {dir.string(), dir.string() + "/", dir.string() + "/.",
                                      (dir / ".." / "route-v7").string()}) {
    INFO(spelling);
    const absl::StatusOr<std::string> version = ModelVersion(spelling);
    REQUIRE(version.ok());
    CHECK(*version == "route-v7-ba7816bf8f01");
  }
  std::filesystem::remove(dir / "model.pt");
  CHECK(ModelVersion(dir.string()).status().code() == absl::StatusCode::kNotFound);
  std::filesystem::remove_all(dir.parent_path());
}

}  // namespace
}  // namespace routeserve::model
