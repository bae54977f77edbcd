// model/repository.h: the versions of a model in a repository, and the version policy.
#include "model/repository.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "tests/temp_dir.h"

namespace routeserve::model {
namespace {

namespace fs = std::filesystem;

using testing::TempDir;

TEST_CASE("a repository's versions are its model's directories named by positive integers",
          "[repository]") {
  TempDir repository;
  const std::string root = repository.path().string();
  const fs::path model = repository.path() / "couriers";
  for (const char* dir : {"1", "10", "2", "4.partial", "007", "0", "-3", "latest"}) {
    fs::create_directories(model / dir);
  }
  std::ofstream(model / "11") << "a file, not a version";

  const absl::StatusOr<std::vector<int64_t>> versions = ListVersions(root, "couriers");
  REQUIRE(versions.ok());
  CHECK(*versions == std::vector<int64_t>{1, 2, 10});

  const absl::StatusOr<RepositoryModel> latest = ChooseVersion(root, "couriers", kLatestVersion);
  REQUIRE(latest.ok());
  CHECK(latest->version == 10);
  CHECK(latest->dir == (model / "10").string());
  CHECK(latest->label() == "couriers/10");

  const absl::StatusOr<RepositoryModel> pinned = ChooseVersion(root, "couriers", 2);
  REQUIRE(pinned.ok());
  CHECK(pinned->dir == (model / "2").string());
}

TEST_CASE("a repository, model or version that is not there is NotFound naming its key",
          "[repository]") {
  TempDir repository;
  const std::string root = repository.path().string();
  fs::create_directories(repository.path() / "empty" / "draft");
  fs::create_directories(repository.path() / "couriers" / "1");
  for (const auto& [repo, name, version, message] :
       std::vector<std::tuple<std::string, std::string, int64_t, std::string>>{
           {root + "/nowhere", "couriers", 0,
            "model.repository: \"" + root + "/nowhere\" is not a directory"},
           {root, "vans", 0, "model.name: no model \"vans\""},
           {root, "../couriers", 0, "model.name: no model \"../couriers\""},
           {root, "empty", 0, "model.name: \"empty\" has no version"},
           {root, "couriers", 3,
            "model.version: couriers has no version 3 (it has 1)"},
       }) {
    const absl::StatusOr<RepositoryModel> chosen = ChooseVersion(repo, name, version);
    INFO(chosen.status().ToString());
    REQUIRE_FALSE(chosen.ok());
    CHECK(chosen.status().code() == absl::StatusCode::kNotFound);
    CHECK(chosen.status().message().substr(0, message.size()) == message);
  }
}

}  // namespace
}  // namespace routeserve::model
