// model.yaml, the feature contract and the module's, objective differences, SHA-256 and
// model_version (model/metadata.h, model/model_files.h).
#include "model/metadata.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "model/features.h"
#include "model/model_files.h"

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
seal:
  model_sha256: ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
  selftest_sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
)";

TEST_CASE("SHA-256 of the FIPS 180-4 examples", "[metadata]") {
  CHECK(Sha256Hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(Sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(Sha256Hex(std::string(1'000'000, 'a')) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("model.yaml: the contract, max_stops and the objective, other keys ignored",
          "[metadata]") {
  const absl::StatusOr<ModelMetadata> metadata = ParseModelMetadata(kGoodMetadata, "m.yaml");
  INFO(metadata.status().ToString());
  REQUIRE(metadata.ok());
  CHECK(metadata->family == ModelFamily::kPointer);  // no `family`: a route-v1 model
  CHECK(metadata->feature_version == 1);
  CHECK(metadata->node_features == kNodeFeatures);
  CHECK(metadata->courier_features == kCourierFeatures);
  CHECK(metadata->max_stops == 64);
  CHECK(metadata->objective.lateness_weight == 5);
  CHECK(metadata->objective.waiting_weight == 0.5);
  CHECK(metadata->objective.detour_factor == 1.4);
  CHECK(metadata->objective.speed_mps == std::array<double, 4>{4, 6, 9, 7.5});
  CHECK(metadata->model_sha256 ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(metadata->selftest_sha256 ==
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(CheckFeatureContract(*metadata).ok());

  for (const ModelFamily family : {ModelFamily::kPointer, ModelFamily::kEdges}) {
    const std::string text = absl::StrCat("family: ", ModelFamilyName(family), "\n",
                                          kGoodMetadata);
    const absl::StatusOr<ModelMetadata> with_family = ParseModelMetadata(text, "m.yaml");
    REQUIRE(with_family.ok());
    CHECK(with_family->family == family);
  }
}

TEST_CASE("model.yaml errors name the file and the key", "[metadata]") {
  struct Case {
    std::string from, to, message;
  };
  for (const Case& c : std::vector<Case>{
           {"feature_version: 1\n", "", "m.yaml: feature_version: missing"},
           {"max_stops: 64", "family: transformer\nmax_stops: 64",
            "m.yaml: family: expected pointer or edges, got \"transformer\""},
           {"max_stops: 64", "family: [edges]\nmax_stops: 64", "m.yaml: family: expected"},
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
           {"max_stops: 64", "max_stops: 99999999999", "m.yaml: max_stops: must be <= "},
           {"seal:\n", "sealed:\n",
            "m.yaml: seal: missing (the model is not sealed: model/training/export.py --seal"},
           {"  model_sha256: ba78", "  model_sha256: BA78",
            "m.yaml: seal.model_sha256: expected 64 lower-case hex digits, got \"BA78"},
           {"  selftest_sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "", "m.yaml: seal.selftest_sha256: missing"},
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

TEST_CASE("the module's own contract must agree with model.yaml where it says anything",
          "[metadata]") {
  const ModelMetadata metadata = *ParseModelMetadata(kGoodMetadata, "m.yaml");
  CHECK(CheckModuleContract({}, metadata, "m/model.pt").ok());  // a module that says nothing
  CHECK(CheckModuleContract({{"feature_version", 1}, {"node_features", 16},
                             {"courier_features", 8}, {"max_stops", 64}, {"other", 5}},
                            metadata, "m/model.pt")
            .ok());
  const absl::Status above = CheckModuleContract({{"max_stops", 32}}, metadata, "m/model.pt");
  CHECK(above.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(above.message() == "m/model.pt: the module says max_stops 32, model.yaml says 64");
  CHECK(absl::StrContains(
      CheckModuleContract({{"node_features", 17}}, metadata, "m/model.pt").message(),
      "node_features 17, model.yaml says 16"));
}

TEST_CASE("model_version is the directory's name and 12 hex digits of the SHA-256 of its files' "
          "sums, as sha256sum prints them",
          "[metadata]") {
  const FileDigest files[] = {{"model.pt", Sha256Hex("abc")}, {"model.yaml", Sha256Hex("")}};
  // printf '%s  model.pt\n%s  model.yaml\n' ba78...ad e3b0...55 | sha256sum
  const std::string sums = absl::StrCat(files[0].sha256, "  model.pt\n", files[1].sha256,
                                        "  model.yaml\n");
  const std::string expected = "route-v7-" + Sha256Hex(sums).substr(0, 12);
  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    ("routeserve_version_test_" +
                                     std::to_string(std::random_device{}())) /
                                    "route-v7";
  std::filesystem::create_directories(dir);
  for (const std::string& spelling : {dir.string(), dir.string() + "/", dir.string() + "/.",
                                      (dir / ".." / "route-v7").string()}) {
    INFO(spelling);
    CHECK(ModelVersion(spelling, files) == expected);
    CHECK(ModelDirName(spelling) == "route-v7");  // model_info's name for model.path
  }
  std::filesystem::remove_all(dir.parent_path());
  const FileDigest other[] = {files[0], {"model.yaml", Sha256Hex("\n")}};
  CHECK(ModelVersion("route-v7", other) != expected);
}

}  // namespace
}  // namespace routeserve::model
