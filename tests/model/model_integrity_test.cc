// A corrupt model never loads (model/model_files.h, model/selftest.h, ModelRunner::Load): real
// sealed models (make_test_models.py, the recipe's export with its NaN-weights copy, the shipped
// route-v1) copied into temporary directories and damaged there, one way per test: a flipped
// byte, an edited model.yaml or self-test (some re-sealed, so that only a later check can tell),
// a FIFO or a directory in a file's place.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "model/model_files.h"
#include "model/model_runner.h"

namespace routeserve::model {
namespace {

std::string TestModel(const std::string& name) {
  return std::string(ROUTESERVE_TEST_MODELS_DIR) + "/" + name;
}

std::string ReadText(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  REQUIRE(file.good());
  return std::string((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
}

// A copy of a model directory under the system's temporary directory, removed with the object.
class ModelCopy {
 public:
  explicit ModelCopy(const std::string& source) {
    dir_ = std::filesystem::temp_directory_path() /
           ("routeserve_integrity_test_" + std::to_string(std::random_device{}())) / "model-c";
    std::filesystem::create_directories(dir_);
    for (const char* file : {kModelFileName, kMetadataFileName, kSelfTestFileName}) {
      std::filesystem::copy_file(std::filesystem::path(source) / file, dir_ / file);
    }
  }
  ~ModelCopy() { std::filesystem::remove_all(dir_.parent_path()); }
  ModelCopy(const ModelCopy&) = delete;
  ModelCopy& operator=(const ModelCopy&) = delete;

  std::string path() const { return dir_.string(); }
  std::string File(const std::string& name) const { return (dir_ / name).string(); }
  std::string Read(const std::string& name) const { return ReadText(dir_ / name); }
  void Write(const std::string& name, const std::string& bytes) const {
    std::ofstream(dir_ / name, std::ios::binary | std::ios::trunc) << bytes;
  }
  // Replaces the first `from` in file `name` (which must hold it) by `to`.
  void Replace(const std::string& name, const std::string& from, const std::string& to) const {
    std::string text = Read(name);
    const size_t at = text.find(from);
    REQUIRE(at != std::string::npos);
    text.replace(at, from.size(), to);
    Write(name, text);
  }
  // Records file `name`'s SHA-256 as it is now in model.yaml's seal, as a forger would.
  void Reseal(const std::string& name) const {
    const std::string key =
        name == kModelFileName ? "model_sha256: " : "selftest_sha256: ";
    std::string yaml = Read(kMetadataFileName);
    const size_t at = yaml.find(key);
    REQUIRE(at != std::string::npos);
    yaml.replace(at + key.size(), 64, Sha256Hex(Read(name)));
    Write(kMetadataFileName, yaml);
  }

 private:
  std::filesystem::path dir_;
};

ModelRunnerOptions CpuOptions() {
  ModelRunnerOptions options;
  options.device = DeviceSpec{.kind = DeviceSpec::Kind::kCpu};
  options.threads = 1;
  options.max_batch_size = 4;
  return options;
}

absl::Status LoadStatus(const std::string& dir) {
  return ModelRunner::Load(dir, CpuOptions()).status();
}

// A cost as the self-test writes it: every digit.
std::string Cost(double cost) { return absl::StrFormat("%.17g", cost); }

// The "cost" of selftest.json's first case, as written.
std::string FirstCost(const std::string& selftest) {
  const size_t at = selftest.find("\"cost\": ");
  REQUIRE(at != std::string::npos);
  const size_t start = at + 8;
  return selftest.substr(start, selftest.find(',', start) - start);
}

TEST_CASE("model_version covers model.pt, model.yaml and selftest.json: it changes with each",
          "[model_integrity]") {
  ModelCopy copy(TestModel("nearest"));
  const absl::StatusOr<std::unique_ptr<ModelRunner>> sealed = ModelRunner::Load(copy.path(),
                                                                               CpuOptions());
  INFO(sealed.status().ToString());
  REQUIRE(sealed.ok());
  const std::string version = (*sealed)->model_version();
  // What `sha256sum model.pt model.yaml selftest.json | sha256sum` prints, cut to 12 digits.
  const std::string sums = absl::StrCat(
      Sha256Hex(copy.Read("model.pt")), "  model.pt\n", Sha256Hex(copy.Read("model.yaml")),
      "  model.yaml\n", Sha256Hex(copy.Read("selftest.json")), "  selftest.json\n");
  CHECK(version == "model-c-" + Sha256Hex(sums).substr(0, 12));

  copy.Write("model.yaml", copy.Read("model.yaml") + "# a note added after the seal\n");
  const absl::StatusOr<std::unique_ptr<ModelRunner>> noted = ModelRunner::Load(copy.path(),
                                                                              CpuOptions());
  REQUIRE(noted.ok());
  CHECK((*noted)->model_version() != version);

  copy.Replace("selftest.json", "\"about\": \"", "\"about\": \"(copied) ");
  copy.Reseal("selftest.json");
  const absl::StatusOr<std::unique_ptr<ModelRunner>> retested = ModelRunner::Load(copy.path(),
                                                                                 CpuOptions());
  REQUIRE(retested.ok());
  CHECK((*retested)->model_version() != (*noted)->model_version());
  CHECK((*retested)->model_version() != version);
}

TEST_CASE("one flipped byte in model.pt or selftest.json is refused by its checksum, naming the "
          "file and both digests",
          "[model_integrity]") {
  for (const std::string file : {"model.pt", "selftest.json"}) {
    INFO(file);
    ModelCopy copy(TestModel("nearest"));
    std::string bytes = copy.Read(file);
    const std::string sealed = Sha256Hex(bytes);
    bytes[bytes.size() / 2] ^= 0x01;
    copy.Write(file, bytes);
    const absl::Status status = LoadStatus(copy.path());
    INFO(status.ToString());
    CHECK(status.code() == absl::StatusCode::kDataLoss);
    CHECK(absl::StartsWith(status.message(), copy.File(file) + ": SHA-256 " + Sha256Hex(bytes)));
    CHECK(absl::StrContains(status.message(),
                            " is " + sealed + ": the file is not the one sealed"));
  }
}

TEST_CASE("a copy of the recipe's models with NaN weights, under a matching checksum, fails "
          "its self-test: the outputs must be finite",
          "[model_integrity]") {
  struct Case {
    std::string dir, message;
  };
  for (const Case& c : {Case{std::string(ROUTESERVE_RECIPE_MODEL_DIR) + "/nan_weights",
                             "scores[0] is nan: the model's outputs must be finite"},
                        Case{std::string(ROUTESERVE_RECIPE_MODEL_DIR) + "/edges/nan_weights",
                             "] is nan: the model's outputs must be finite"}}) {
    const absl::StatusOr<ModelFiles> files = ReadModelFiles(c.dir);  // the checksums match
    INFO(files.status().ToString());
    REQUIRE(files.ok());
    const absl::Status status = LoadStatus(c.dir);
    INFO(status.ToString());
    CHECK(status.code() == absl::StatusCode::kDataLoss);
    CHECK(absl::StartsWith(status.message(), c.dir + "/selftest.json: case 0: "));
    CHECK(absl::StrContains(status.message(), c.message));
  }
}

TEST_CASE("a model whose self-test cost no longer matches is refused; a difference within "
          "the tolerance is not",
          "[model_integrity]") {
  for (const std::string& source :
       {TestModel("nearest"), std::string(ROUTESERVE_RECIPE_MODEL_DIR) + "/model",
        std::string(ROUTESERVE_RECIPE_MODEL_DIR) + "/edges/model"}) {
    INFO(source);
    ModelCopy copy(source);
    const std::string recorded = FirstCost(copy.Read("selftest.json"));
    const double cost = std::stod(recorded);

    copy.Replace("selftest.json", "\"cost\": " + recorded,
                 "\"cost\": " + Cost(cost * (1 + 1e-5)));
    copy.Reseal("selftest.json");
    const absl::Status status = LoadStatus(copy.path());
    INFO(status.ToString());
    CHECK(status.code() == absl::StatusCode::kDataLoss);
    CHECK(absl::StartsWith(status.message(), copy.File("selftest.json") + ": case 0: "));
    CHECK(absl::StrContains(status.message(), "the model's best route costs "));
    CHECK(absl::StrContains(status.message(), "(tolerance 1e-06 relative)"));

    copy.Replace("selftest.json", "\"cost\": " + Cost(cost * (1 + 1e-5)),
                 "\"cost\": " + Cost(cost * (1 + 1e-8)));
    copy.Reseal("selftest.json");
    CHECK(LoadStatus(copy.path()).ok());
  }
}

TEST_CASE("model.yaml may not claim more stops than the model: the module's contract and the "
          "self-test's reach both say how many",
          "[model_integrity]") {
  SECTION("the shipped model (no contract on its module): its self-test reaches 64") {
    ModelCopy copy(ROUTESERVE_SHIPPED_MODEL_DIR);
    copy.Replace("model.yaml", "max_stops: 64", "max_stops: 100000");
    const absl::Status status = LoadStatus(copy.path());
    CHECK(status.code() == absl::StatusCode::kFailedPrecondition);
    CHECK(status.message() ==
          copy.path() + "/model.yaml: max_stops: 100000, but the model was sealed for 64 (the "
                        "largest N of " + copy.File("selftest.json") + ")");
  }
  SECTION("a module that says 16 under a model.yaml and self-test that say 128") {
    ModelCopy copy(TestModel("nearest"));
    std::filesystem::copy_file(TestModel("nearest_max16") + "/model.pt", copy.File("model.pt"),
                               std::filesystem::copy_options::overwrite_existing);
    copy.Reseal("model.pt");
    const absl::Status status = LoadStatus(copy.path());
    CHECK(status.code() == absl::StatusCode::kFailedPrecondition);
    CHECK(status.message() ==
          copy.File("model.pt") + ": the module says max_stops 16, model.yaml says 128");
  }
  SECTION("fewer than the self-test reached is refused too") {
    ModelCopy copy(TestModel("nearest"));
    copy.Replace("model.yaml", "max_stops: 128", "max_stops: 64");
    CHECK(absl::StrContains(LoadStatus(copy.path()).message(),
                            "max_stops: 64, but the model was sealed for 128"));
  }
}

TEST_CASE("a model whose module's contract attribute is malformed is refused",
          "[model_integrity]") {
  const absl::Status status = LoadStatus(TestModel("bad_contract"));
  CHECK(status.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(absl::StrContains(status.message(),
                          "model.pt: the module's attribute `contract` is not a Dict[str, int]"));
}

TEST_CASE("a model without its seal or its self-test is refused, naming what is missing",
          "[model_integrity]") {
  ModelCopy copy(TestModel("nearest"));
  std::filesystem::remove(copy.File("selftest.json"));
  const absl::Status missing = LoadStatus(copy.path());
  CHECK(missing.code() == absl::StatusCode::kNotFound);
  CHECK(missing.message() ==
        copy.File("selftest.json") + ": cannot be opened: No such file or directory");

  std::string yaml = copy.Read("model.yaml");
  yaml.resize(yaml.find("seal:"));
  copy.Write("model.yaml", yaml);
  const absl::Status unsealed = LoadStatus(copy.path());
  CHECK(unsealed.code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StartsWith(unsealed.message(), copy.File("model.yaml") + ": seal: missing"));
}

TEST_CASE("a FIFO, a directory or a device in a model file's place is refused at once, naming it",
          "[model_integrity]") {
  ModelCopy copy(TestModel("nearest"));
  std::filesystem::remove(copy.File("model.pt"));
  // Opening a FIFO for reading waits for a writer: the load must not even try.
  REQUIRE(mkfifo(copy.File("model.pt").c_str(), 0600) == 0);
  const absl::Status fifo = LoadStatus(copy.path());
  CHECK(fifo.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(fifo.message() == copy.File("model.pt") + ": not a regular file (a FIFO)");

  std::filesystem::remove(copy.File("model.yaml"));
  std::filesystem::create_directory(copy.File("model.yaml"));
  CHECK(LoadStatus(copy.path()).message() ==
        copy.File("model.yaml") + ": not a regular file (a directory)");

  CHECK(ReadRegularFile("/dev/null").status().message() ==
        "/dev/null: not a regular file (a character device)");
}

TEST_CASE("a model file that cannot be opened or read says why, in the system's words",
          "[model_integrity]") {
  ModelCopy copy(TestModel("nearest"));
  const absl::StatusOr<std::string> under_a_file = ReadRegularFile(copy.File("model.pt") + "/x");
  CHECK(under_a_file.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(under_a_file.status().message() ==
        copy.File("model.pt") + "/x: cannot be opened: Not a directory");
  // A regular file whose read fails: this process's memory at address 0.
  CHECK(ReadRegularFile("/proc/self/mem").status().message() ==
        "/proc/self/mem: read failed: Input/output error");
  const absl::StatusOr<std::string> read = ReadRegularFile(copy.File("model.yaml"));
  REQUIRE(read.ok());
  CHECK(*read == copy.Read("model.yaml"));
}

}  // namespace
}  // namespace routeserve::model
