// The model's metadata, `model.yaml` beside `model.pt` (docs/MODEL.md): the feature contract it
// was trained for, its largest N and the objective it was trained with; and model_version.
//
// ERRORS: InvalidArgument whose message names the file and the key ("m/model.yaml:
//   feature_version: missing", "...: max_stops: expected an integer, got \"many\""); a YAML
//   syntax error names its line. A contract that differs from the encoder's is
//   FailedPrecondition naming both versions. Keys the server does not read (training,
//   evaluation, anything the recipe adds) are ignored.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "routing/objective.h"

namespace routeserve::model {

inline constexpr char kModelFileName[] = "model.pt";
inline constexpr char kMetadataFileName[] = "model.yaml";

struct ModelMetadata {
  int feature_version = 0;
  int node_features = 0;
  int courier_features = 0;
  int max_stops = 0;  // the largest N the model was trained and tested for, >= 1
  routing::ObjectiveParams objective;
};

// Parses the text of a model.yaml; `source` (its path) starts every error message.
absl::StatusOr<ModelMetadata> ParseModelMetadata(const std::string& yaml_text,
                                                 const std::string& source);
// Reads and parses the file at `path`; NotFound when it does not exist.
absl::StatusOr<ModelMetadata> ReadModelMetadata(const std::string& path);

// OK when the model takes what model/features.h encodes (kFeatureVersion, kNodeFeatures,
// kCourierFeatures); else FailedPrecondition naming the key and both values.
absl::Status CheckFeatureContract(const ModelMetadata& metadata);

// One line per objective parameter whose value differs between the model and the config, e.g.
// "objective.lateness_weight: the model was trained with 10, the config has 5"; empty when
// they agree.
std::vector<std::string> ObjectiveDifferences(const routing::ObjectiveParams& model,
                                              const routing::ObjectiveParams& config);

// The model directory's name, "-" and the first 12 hex digits of the SHA-256 of its model.pt,
// e.g. "route-v1-3f2a9c0b7d41". `model_dir` may end with a slash.
absl::StatusOr<std::string> ModelVersion(const std::string& model_dir);

}  // namespace routeserve::model
