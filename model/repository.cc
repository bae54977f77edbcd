#include "model/repository.h"

#include <algorithm>
#include <filesystem>
#include <string>
#include <system_error>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace routeserve::model {
namespace {

// A version directory's number: a positive decimal integer written plainly ("4.partial", "-1",
// "+2", "007" and "0" are not versions).
bool ParseVersion(const std::string& name, int64_t& version) {
  return absl::SimpleAtoi(name, &version) && version > 0 && std::to_string(version) == name;
}

}  // namespace

std::string RepositoryModel::label() const { return absl::StrCat(name, "/", version); }

absl::StatusOr<std::vector<int64_t>> ListVersions(const std::string& repository,
                                                  const std::string& name) {
  namespace fs = std::filesystem;
  std::error_code error;
  if (!fs::is_directory(repository, error)) {
    return absl::NotFoundError(
        absl::StrCat("model.repository: \"", repository, "\" is not a directory"));
  }
  const fs::path model_dir = fs::path(repository) / name;
  if (name.empty() || name.find('/') != std::string::npos || name == "." || name == ".." ||
      !fs::is_directory(model_dir, error)) {
    return absl::NotFoundError(absl::StrCat("model.name: no model \"", name, "\" in \"",
                                            repository, "\" (no directory ", model_dir.string(),
                                            ")"));
  }
  std::vector<int64_t> versions;
  for (fs::directory_iterator entry(model_dir, error), end; !error && entry != end;
       entry.increment(error)) {
    int64_t version = 0;
    if (ParseVersion(entry->path().filename().string(), version) &&
        entry->is_directory(error)) {
      versions.push_back(version);
    }
  }
  if (error) {
    return absl::NotFoundError(
        absl::StrCat("model.repository: cannot list ", model_dir.string(), ": ", error.message()));
  }
  if (versions.empty()) {
    return absl::NotFoundError(absl::StrCat("model.name: \"", name, "\" has no version in ",
                                            model_dir.string(),
                                            " (directories named 1, 2, ...)"));
  }
  std::sort(versions.begin(), versions.end());
  return versions;
}

absl::StatusOr<RepositoryModel> ChooseVersion(const std::string& repository,
                                              const std::string& name, int64_t version) {
  absl::StatusOr<std::vector<int64_t>> versions = ListVersions(repository, name);
  if (!versions.ok()) return versions.status();
  int64_t chosen = versions->back();
  if (version != kLatestVersion) {
    if (!std::binary_search(versions->begin(), versions->end(), version)) {
      return absl::NotFoundError(absl::StrCat("model.version: ", name, " has no version ",
                                              version, " (it has ",
                                              absl::StrJoin(*versions, ", "), ")"));
    }
    chosen = version;
  }
  return RepositoryModel{
      .name = name,
      .version = chosen,
      .dir = (std::filesystem::path(repository) / name / std::to_string(chosen)).string()};
}

}  // namespace routeserve::model
