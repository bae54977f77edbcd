// Reading model.yaml; model_version. yaml-cpp throws; its exceptions stop in ParseModelMetadata.
#include "model/metadata.h"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "model/features.h"
#include "model/sha256.h"

namespace routeserve::model {
namespace {

// Hex digits of the content hash in model_version.
constexpr int kVersionHashDigits = 12;

std::string Describe(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return "an empty value";
  if (node.IsMap()) return "a map";
  if (node.IsSequence()) return "a list";
  return absl::StrCat("\"", node.Scalar(), "\"");
}

// Reads required values of a map, naming "source: key" in errors.
class MetadataReader {
 public:
  explicit MetadataReader(std::string source) : source_(std::move(source)) {}

  absl::StatusOr<YAML::Node> Get(const YAML::Node& map, const std::string& key,
                                 const std::string& dotted) const {
    const YAML::Node node = map[key];
    if (!node.IsDefined() || node.IsNull()) return Error(dotted, "missing");
    return node;
  }

  absl::StatusOr<int> Integer(const YAML::Node& map, const std::string& key,
                              const std::string& dotted, int min) const {
    absl::StatusOr<YAML::Node> node = Get(map, key, dotted);
    if (!node.ok()) return node.status();
    int value = 0;
    if (!node->IsScalar() || !YAML::convert<int>::decode(*node, value)) {
      return Error(dotted, absl::StrCat("expected an integer, got ", Describe(*node)));
    }
    if (value < min) return Error(dotted, absl::StrCat("must be >= ", min, ", got ", value));
    return value;
  }

  absl::StatusOr<double> Number(const YAML::Node& map, const std::string& key,
                                const std::string& dotted) const {
    absl::StatusOr<YAML::Node> node = Get(map, key, dotted);
    if (!node.ok()) return node.status();
    double value = 0;
    if (!node->IsScalar() || !YAML::convert<double>::decode(*node, value) ||
        !std::isfinite(value)) {
      return Error(dotted, absl::StrCat("expected a number, got ", Describe(*node)));
    }
    return value;
  }

  absl::Status Error(const std::string& dotted, const std::string& message) const {
    return absl::InvalidArgumentError(absl::StrCat(source_, ": ", dotted, ": ", message));
  }

  const std::string& source() const { return source_; }

 private:
  const std::string source_;
};

absl::StatusOr<ModelMetadata> ReadTree(const YAML::Node& root, const MetadataReader& reader) {
  if (!root.IsMap()) {
    return absl::InvalidArgumentError(
        absl::StrCat(reader.source(), ": expected a map of keys, got ", Describe(root)));
  }
  ModelMetadata metadata;
  struct IntegerKey {
    const char* name;
    int* field;
    int min;
  };
  for (const IntegerKey& key : {IntegerKey{"feature_version", &metadata.feature_version, 1},
                                IntegerKey{"node_features", &metadata.node_features, 1},
                                IntegerKey{"courier_features", &metadata.courier_features, 1},
                                IntegerKey{"max_stops", &metadata.max_stops, 1}}) {
    absl::StatusOr<int> value = reader.Integer(root, key.name, key.name, key.min);
    if (!value.ok()) return value.status();
    *key.field = *value;
  }

  absl::StatusOr<YAML::Node> objective = reader.Get(root, "objective", "objective");
  if (!objective.ok()) return objective.status();
  if (!objective->IsMap()) {
    return reader.Error("objective", absl::StrCat("expected a map, got ", Describe(*objective)));
  }
  routing::ObjectiveParams& params = metadata.objective;
  struct NumberKey {
    const char* name;
    double* field;
  };
  for (const NumberKey& key : {NumberKey{"lateness_weight", &params.lateness_weight},
                               NumberKey{"waiting_weight", &params.waiting_weight},
                               NumberKey{"detour_factor", &params.detour_factor}}) {
    absl::StatusOr<double> value =
        reader.Number(*objective, key.name, absl::StrCat("objective.", key.name));
    if (!value.ok()) return value.status();
    *key.field = *value;
  }
  absl::StatusOr<YAML::Node> speeds = reader.Get(*objective, "speed_mps", "objective.speed_mps");
  if (!speeds.ok()) return speeds.status();
  if (!speeds->IsMap()) {
    return reader.Error("objective.speed_mps",
                        absl::StrCat("expected a map, got ", Describe(*speeds)));
  }
  for (int type = 0; type < routing::kNumVehicleTypes; ++type) {
    const std::string name(routing::VehicleTypeName(static_cast<routing::VehicleType>(type)));
    absl::StatusOr<double> speed =
        reader.Number(*speeds, name, absl::StrCat("objective.speed_mps.", name));
    if (!speed.ok()) return speed.status();
    params.speed_mps[type] = *speed;
  }
  return metadata;
}

absl::Status Mismatch(const char* key, int model, int encoder) {
  return absl::FailedPreconditionError(
      absl::StrCat(kMetadataFileName, ": ", key, ": the model was made for ", key, " ", model,
                   ", this server encodes ", key, " ", encoder));
}

}  // namespace

absl::StatusOr<ModelMetadata> ParseModelMetadata(const std::string& yaml_text,
                                                 const std::string& source) {
  const MetadataReader reader(source);
  try {
    const YAML::Node root = YAML::Load(yaml_text);
    return ReadTree(root, reader);
  } catch (const YAML::ParserException& e) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": YAML syntax error at line ",
                                                   e.mark.line + 1, ", column ",
                                                   e.mark.column + 1, ": ", e.msg));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": ", e.what()));
  }
}

absl::StatusOr<ModelMetadata> ReadModelMetadata(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file.is_open()) return absl::NotFoundError(absl::StrCat(path, ": cannot be opened"));
  const std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  if (file.bad()) return absl::InvalidArgumentError(absl::StrCat(path, ": read failed"));
  return ParseModelMetadata(text, path);
}

absl::Status CheckFeatureContract(const ModelMetadata& metadata) {
  if (metadata.feature_version != kFeatureVersion) {
    return Mismatch("feature_version", metadata.feature_version, kFeatureVersion);
  }
  if (metadata.node_features != kNodeFeatures) {
    return Mismatch("node_features", metadata.node_features, kNodeFeatures);
  }
  if (metadata.courier_features != kCourierFeatures) {
    return Mismatch("courier_features", metadata.courier_features, kCourierFeatures);
  }
  return absl::OkStatus();
}

std::vector<std::string> ObjectiveDifferences(const routing::ObjectiveParams& model,
                                              const routing::ObjectiveParams& config) {
  std::vector<std::string> differences;
  auto compare = [&](const std::string& key, double trained, double configured) {
    if (trained == configured) return;
    differences.push_back(absl::StrCat("objective.", key, ": the model was trained with ",
                                       trained, ", the config has ", configured));
  };
  compare("lateness_weight", model.lateness_weight, config.lateness_weight);
  compare("waiting_weight", model.waiting_weight, config.waiting_weight);
  compare("detour_factor", model.detour_factor, config.detour_factor);
  for (int type = 0; type < routing::kNumVehicleTypes; ++type) {
    compare("speed_mps." +
                std::string(routing::VehicleTypeName(static_cast<routing::VehicleType>(type))),
            model.speed_mps[type], config.speed_mps[type]);
  }
  return differences;
}

absl::StatusOr<std::string> ModelVersion(const std::string& model_dir) {
  const std::filesystem::path dir(model_dir);
  absl::StatusOr<std::string> hash = Sha256OfFile((dir / kModelFileName).string());
  if (!hash.ok()) return hash.status();
  // The directory's own name, also for "models/route-v1/", "models/route-v1/." or ".".
  std::error_code error;
  std::filesystem::path normal = std::filesystem::absolute(dir, error).lexically_normal();
  if (error) normal = dir.lexically_normal();
  const std::filesystem::path name =
      normal.has_filename() ? normal.filename() : normal.parent_path().filename();
  return absl::StrCat(name.string(), "-", hash->substr(0, kVersionHashDigits));
}

}  // namespace routeserve::model
