// A model repository (model.repository): a directory of NAME/VERSION/ directories, laid out as
// TF Serving and Triton lay theirs out. VERSION is a positive decimal integer, written without
// leading zeros; each version
// directory is a model directory as the training recipe exports it (model.pt, model.yaml,
// selftest.json: model/model_files.h). Other entries are ignored, so that a new version can be
// copied in under another name ("4.partial") and renamed into place, which is atomic.
//
// Which version serves is the version policy's (model.version): the latest, the highest number
// present; or one pinned by number, which is how a rollout is rolled back. Nothing here loads a
// model: ChooseVersion only names the directory; the runner's checks decide whether it serves.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace routeserve::model {

// model.version's "latest": the highest version present.
inline constexpr int64_t kLatestVersion = 0;

struct RepositoryModel {
  std::string name;
  int64_t version = 0;
  std::string dir;  // repository/name/version
  // "name/version": what the model's version and the metrics call it.
  std::string label() const;
};

// The versions of model `name` in `repository`, ascending. NotFound naming the directory when
// `repository` or `repository/name` is not a directory, or holds no version.
absl::StatusOr<std::vector<int64_t>> ListVersions(const std::string& repository,
                                                  const std::string& name);

// The version the policy picks: `version` itself (NotFound, listing those present, when it is
// not there), or the latest for kLatestVersion.
absl::StatusOr<RepositoryModel> ChooseVersion(const std::string& repository,
                                              const std::string& name, int64_t version);

}  // namespace routeserve::model
