// Reading model.yaml and checking its contract. yaml-cpp throws; its exceptions stop in
// ParseModelMetadata.
#include "model/metadata.h"

#include <algorithm>
#include <climits>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "model/features.h"
#include "model/yaml_fields.h"

namespace routeserve::model {
namespace {

constexpr char kSealHint[] =
    " (the model is not sealed: model/training/export.py --seal DIR writes it)";

absl::StatusOr<std::string> Digest(const FieldReader& reader, const YAML::Node& seal,
                                   const std::string& key) {
  absl::StatusOr<std::string> digest = reader.String(seal, key, "seal." + key);
  if (!digest.ok()) return digest.status();
  if (digest->size() != 64 || !std::all_of(digest->begin(), digest->end(), [](char c) {
        return absl::ascii_isdigit(c) || (c >= 'a' && c <= 'f');
      })) {
    return reader.Error("seal." + key, absl::StrCat("expected 64 lower-case hex digits, got \"",
                                                    *digest, "\""));
  }
  return digest;
}

absl::Status ReadObjective(const YAML::Node& root, const FieldReader& reader,
                           routing::ObjectiveParams& params) {
  absl::StatusOr<YAML::Node> objective = reader.Map(root, "objective", "objective");
  if (!objective.ok()) return objective.status();
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
  absl::StatusOr<YAML::Node> speeds =
      reader.Map(*objective, "speed_mps", "objective.speed_mps");
  if (!speeds.ok()) return speeds.status();
  for (int type = 0; type < routing::kNumVehicleTypes; ++type) {
    const std::string name(routing::VehicleTypeName(static_cast<routing::VehicleType>(type)));
    absl::StatusOr<double> speed =
        reader.Number(*speeds, name, absl::StrCat("objective.speed_mps.", name));
    if (!speed.ok()) return speed.status();
    params.speed_mps[type] = *speed;
  }
  return absl::OkStatus();
}

absl::StatusOr<ModelMetadata> ReadTree(const YAML::Node& root, const FieldReader& reader) {
  if (!root.IsMap()) {
    return absl::InvalidArgumentError(
        absl::StrCat(reader.source(), ": expected a map of keys, got ", DescribeNode(root)));
  }
  ModelMetadata metadata;
  if (HasField(root, "family")) {
    absl::StatusOr<std::string> family = reader.String(root, "family", "family");
    if (!family.ok()) return family.status();
    if (*family == ModelFamilyName(ModelFamily::kEdges)) {
      metadata.family = ModelFamily::kEdges;
    } else if (*family != ModelFamilyName(ModelFamily::kPointer)) {
      return reader.Error("family", absl::StrCat("expected pointer or edges, got \"", *family,
                                                 "\""));
    }
  }
  struct IntegerKey {
    const char* name;
    int* field;
  };
  for (const IntegerKey& key : {IntegerKey{"feature_version", &metadata.feature_version},
                                IntegerKey{"node_features", &metadata.node_features},
                                IntegerKey{"courier_features", &metadata.courier_features},
                                IntegerKey{"max_stops", &metadata.max_stops}}) {
    absl::StatusOr<int64_t> value = reader.Integer(root, key.name, key.name, 1, INT_MAX);
    if (!value.ok()) return value.status();
    *key.field = static_cast<int>(*value);
  }
  if (absl::Status objective = ReadObjective(root, reader, metadata.objective); !objective.ok()) {
    return objective;
  }
  if (!HasField(root, "seal")) return reader.Error("seal", absl::StrCat("missing", kSealHint));
  absl::StatusOr<YAML::Node> seal = reader.Map(root, "seal", "seal");
  if (!seal.ok()) return seal.status();
  absl::StatusOr<std::string> model = Digest(reader, *seal, "model_sha256");
  if (!model.ok()) return model.status();
  absl::StatusOr<std::string> selftest = Digest(reader, *seal, "selftest_sha256");
  if (!selftest.ok()) return selftest.status();
  metadata.model_sha256 = *std::move(model);
  metadata.selftest_sha256 = *std::move(selftest);
  return metadata;
}

absl::Status Mismatch(const char* key, int model, int encoder) {
  return absl::FailedPreconditionError(
      absl::StrCat(kMetadataFileName, ": ", key, ": the model was made for ", key, " ", model,
                   ", this server encodes ", key, " ", encoder));
}

}  // namespace

const char* ModelFamilyName(ModelFamily family) {
  return family == ModelFamily::kEdges ? "edges" : "pointer";
}

absl::StatusOr<ModelMetadata> ParseModelMetadata(const std::string& yaml_text,
                                                 const std::string& source) {
  const FieldReader reader(source);
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

absl::Status CheckModuleContract(const std::map<std::string, int64_t>& module_contract,
                                 const ModelMetadata& metadata, const std::string& source) {
  struct Key {
    const char* name;
    int claimed;
  };
  for (const Key& key : {Key{"feature_version", metadata.feature_version},
                         Key{"node_features", metadata.node_features},
                         Key{"courier_features", metadata.courier_features},
                         Key{"max_stops", metadata.max_stops}}) {
    const auto said = module_contract.find(key.name);
    if (said == module_contract.end() || said->second == key.claimed) continue;
    return absl::FailedPreconditionError(absl::StrCat(source, ": the module says ", key.name, " ",
                                                      said->second, ", ", kMetadataFileName,
                                                      " says ", key.claimed));
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

}  // namespace routeserve::model
