// The model's metadata, `model.yaml` beside `model.pt` (docs/MODEL.md): the feature contract it
// was trained for, its largest N, the objective it was trained with and its seal (the SHA-256
// of model.pt and of selftest.json); and the checks of that contract against the encoder's and
// against what the TorchScript module says of itself.
//
// ERRORS: InvalidArgument whose message names the file and the key ("m/model.yaml:
//   feature_version: missing", "...: max_stops: expected an integer, got \"many\""); a YAML
//   syntax error names its line. A contract that differs from the encoder's, or from the
//   module's own, is FailedPrecondition naming both values. Keys the server does not read
//   (training, evaluation, anything the recipe adds) are ignored.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "routing/objective.h"

namespace routeserve::model {

inline constexpr char kModelFileName[] = "model.pt";
inline constexpr char kMetadataFileName[] = "model.yaml";
// The TorchScript module's attribute holding its own contract (Dict[str, int]), written by the
// recipe's export.
inline constexpr char kContractAttribute[] = "contract";

// What the model's forward() returns (model.yaml's `family`; absent: kPointer, as models
// exported before route-v2 say nothing). docs/MODEL.md has both contracts.
enum class ModelFamily {
  kPointer,  // route-v1: K decodings per problem, orders [B, K, N] and scores [B, K]
  kEdges,    // route-v2: a score per directed pair of nodes, [B, N + 1, N + 1]
};
// "pointer", "edges": model.yaml's values.
const char* ModelFamilyName(ModelFamily family);

struct ModelMetadata {
  ModelFamily family = ModelFamily::kPointer;
  int feature_version = 0;
  int node_features = 0;
  int courier_features = 0;
  int max_stops = 0;  // the largest N the model was trained and tested for, >= 1
  routing::ObjectiveParams objective;
  // The seal (model/training/seal.py): lower-case hex SHA-256 digests.
  std::string model_sha256;     // of model.pt
  std::string selftest_sha256;  // of selftest.json
};

// Parses the text of a model.yaml; `source` (its path) starts every error message. A model.yaml
// without its seal is refused ("seal: missing").
absl::StatusOr<ModelMetadata> ParseModelMetadata(const std::string& yaml_text,
                                                 const std::string& source);

// OK when the model takes what model/features.h encodes (kFeatureVersion, kNodeFeatures,
// kCourierFeatures); else FailedPrecondition naming the key and both values.
absl::Status CheckFeatureContract(const ModelMetadata& metadata);

// The module's own contract (its `contract` attribute: feature_version, node_features,
// courier_features, max_stops; other keys are ignored) against model.yaml: OK when every key it
// states agrees, else FailedPrecondition "source: the module says max_stops 64, model.yaml says
// 100000".
absl::Status CheckModuleContract(const std::map<std::string, int64_t>& module_contract,
                                 const ModelMetadata& metadata, const std::string& source);

// One line per objective parameter whose value differs between the model and the config, e.g.
// "objective.lateness_weight: the model was trained with 10, the config has 5"; empty when
// they agree.
std::vector<std::string> ObjectiveDifferences(const routing::ObjectiveParams& model,
                                              const routing::ObjectiveParams& config);

}  // namespace routeserve::model
