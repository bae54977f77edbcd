// A corrupt model never serves, against the real binary: routeserve configured with one exits 2
// at start-up with the reason in its log, before it listens (so no health check ever sees it
// SERVING): the recipe's export with NaN weights under a matching checksum (its self-test
// fails), and a directory whose model.pt is a FIFO (refused at once, not waited on).
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server_process.h"

namespace routeserve::testing {
namespace {

std::vector<std::string> ServerArgs(const std::string& model_path) {
  return {"--config", ROUTESERVE_CONFIG_PATH, "--set", "server.address=127.0.0.1:0",
          "--set", "metrics.address=127.0.0.1:0", "--set", "model.threads=1",
          "--set", absl::StrCat("model.path=", model_path)};
}

// Starts routeserve on `model_path`: it must exit 2 without listening; returns its log.
std::string RefusedStart(const std::string& model_path) {
  ServerProcess process(ROUTESERVE_BINARY, ServerArgs(model_path));
  const int exit_code = process.WaitForExit();
  const std::string log = process.Stderr();
  INFO(log);
  CHECK(exit_code == 2);
  CHECK(absl::StrContains(log, "cannot start: "));
  CHECK_FALSE(absl::StrContains(log, "listening on"));
  return log;
}

TEST_CASE("routeserve with a model whose weights are NaN under a matching checksum exits 2, "
          "its self-test failed, and never listens",
          "[process][model_integrity]") {
  const std::string model = std::string(ROUTESERVE_RECIPE_MODEL_DIR) + "/nan_weights";
  const std::string log = RefusedStart(model);
  CHECK(absl::StrContains(log, model + "/selftest.json: case 0: "));
  CHECK(absl::StrContains(log, "scores[0] is nan: the model's outputs must be finite"));
}

TEST_CASE("routeserve with a FIFO for model.pt exits 2 at once, naming it",
          "[process][model_integrity]") {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / absl::StrCat("routeserve-fifo-", getpid());
  std::filesystem::create_directories(dir);
  const std::filesystem::path source = std::string(ROUTESERVE_RECIPE_MODEL_DIR) + "/model";
  for (const char* file : {"model.yaml", "selftest.json"}) {
    std::filesystem::copy_file(source / file, dir / file,
                               std::filesystem::copy_options::overwrite_existing);
  }
  std::filesystem::remove(dir / "model.pt");
  REQUIRE(mkfifo((dir / "model.pt").c_str(), 0600) == 0);
  const std::string log = RefusedStart(dir.string());
  CHECK(absl::StrContains(log, (dir / "model.pt").string() + ": not a regular file (a FIFO)"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace routeserve::testing
