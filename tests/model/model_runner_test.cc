// ModelRunner with real TorchScript files: the test models of make_test_models.py (fixture
// routeserve_test_models), loaded with the project's LibTorch.
#include "model/model_runner.h"

#include <catch2/catch.hpp>

#include <dlfcn.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "model/model_files.h"
#include "routing/evaluator.h"
#include "routing/generator.h"
#include "tests/model/default_buckets.h"

namespace routeserve::model {
namespace {

std::string ModelDir(const std::string& name) {
  return std::string(ROUTESERVE_TEST_MODELS_DIR) + "/" + name;
}

ModelRunnerOptions CpuOptions() {
  ModelRunnerOptions options;
  options.device = DeviceSpec{.kind = DeviceSpec::Kind::kCpu};
  options.threads = 1;
  options.executors = 2;
  options.max_batch_size = 8;
  return options;
}

std::unique_ptr<ModelRunner> LoadPath(const std::string& path,
                                      const ModelRunnerOptions& options = CpuOptions()) {
  absl::StatusOr<std::unique_ptr<ModelRunner>> runner = ModelRunner::Load(path, options);
  INFO(runner.status().ToString());
  REQUIRE(runner.ok());
  return *std::move(runner);
}

std::unique_ptr<ModelRunner> Load(const std::string& name,
                                  const ModelRunnerOptions& options = CpuOptions()) {
  return LoadPath(ModelDir(name), options);
}

// A directory under the system's temporary directory, removed with the object.
class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("routeserve_runner_test_" + std::to_string(std::random_device{}())) / "model-x";
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_.parent_path()); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string path() const { return path_.string(); }
  void Write(const std::string& name, const std::string& text) const {
    std::ofstream(path_ / name, std::ios::binary) << text;
  }
  void CopyFrom(const std::string& model, const std::string& name) const {
    std::filesystem::copy_file(std::filesystem::path(ModelDir(model)) / name, path_ / name);
  }

 private:
  std::filesystem::path path_;
};

std::string ReadFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
}

// Generated problems of every regime, `count` of them with 1..max_stops stops.
std::vector<routing::Instance> Problems(int count, int max_stops, uint64_t seed) {
  std::mt19937_64 random(seed);
  std::vector<routing::Instance> instances;
  for (int i = 0; i < count; ++i) {
    routing::GeneratorOptions options;
    options.num_stops = 1 + static_cast<int>(random() % max_stops);
    options.windows = static_cast<routing::TimeWindowTightness>(i % 3);
    options.on_board_share = (i % 4 == 0) ? 0.5 : 0.2;
    options.visit_share = (i % 5 == 0) ? 0.3 : 0.0;
    options.end_position_probability = (i % 2 == 0) ? 1.0 : 0.0;
    options.caller_matrix = i % 3 == 1;
    absl::StatusOr<routing::Instance> instance =
        routing::Instance::Build(routing::GenerateProblem(options, seed * 1000 + i), {});
    REQUIRE(instance.ok());
    instances.push_back(*std::move(instance));
  }
  return instances;
}

using Results = std::vector<absl::StatusOr<std::vector<Decoding>>>;

Results Run(ModelRunner& runner, const std::vector<const routing::Instance*>& instances, int N,
            int K, int executor = 0) {
  Results results = runner.Run(instances, N, K, executor);
  REQUIRE(results.size() == instances.size());
  return results;
}

TEST_CASE("a model loads: version, metadata, device, threads", "[model_runner]") {
  const std::unique_ptr<ModelRunner> runner = Load("nearest");
  const absl::StatusOr<ModelFiles> files = ReadModelFiles(ModelDir("nearest"));
  REQUIRE(files.ok());
  CHECK(runner->model_version() == files->version);
  CHECK(absl::StartsWith(runner->model_version(), "nearest-"));
  CHECK(runner->max_stops() == 128);
  CHECK(runner->metadata().feature_version == 1);
  CHECK(runner->device() == "cpu");
  CHECK(runner->precision() == Precision::kFp32);
  CHECK(runner->threads() == 1);
  CHECK(runner->max_batch_size() == 8);
  CHECK(runner->warnings().empty());
  CHECK(runner->PaddedSizeFor(256) == 128);
  CHECK(runner->PaddedSizeFor(16) == 16);
  if (ModelRunner::CudaDeviceCount() == 0) {
    ModelRunnerOptions automatic = CpuOptions();
    automatic.device = DeviceSpec{.kind = DeviceSpec::Kind::kAuto};
    CHECK(Load("nearest", automatic)->device() == "cpu");
  }
}

TEST_CASE("OpenBLAS's own thread pool gets model.threads, unless OPENBLAS_NUM_THREADS is set",
          "[model_runner]") {
  // The set-up installs OpenBLAS as the BLAS behind LibTorch (scripts/install-deps.sh).
  using GetThreads = int (*)();
  const auto blas_threads =
      reinterpret_cast<GetThreads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  REQUIRE(blas_threads != nullptr);
  unsetenv("OPENBLAS_NUM_THREADS");
  ModelRunnerOptions options = CpuOptions();
  for (const int threads : {2, 1}) {
    options.threads = threads;
    Load("nearest", options);
    CHECK(blas_threads() == threads);
  }
  setenv("OPENBLAS_NUM_THREADS", "1", /*overwrite=*/1);
  options.threads = 2;
  Load("nearest", options);
  CHECK(blas_threads() == 1);
  unsetenv("OPENBLAS_NUM_THREADS");
}

TEST_CASE("a feature version other than the encoder's is refused, naming both", "[model_runner]") {
  const absl::StatusOr<std::unique_ptr<ModelRunner>> runner =
      ModelRunner::Load(ModelDir("wrong_version"), CpuOptions());
  REQUIRE_FALSE(runner.ok());
  INFO(runner.status().message());
  CHECK(runner.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(absl::StrContains(runner.status().message(), "wrong_version/model.yaml: feature_version"));
  CHECK(absl::StrContains(runner.status().message(), "made for feature_version 2"));
  CHECK(absl::StrContains(runner.status().message(), "encodes feature_version 1"));
}

TEST_CASE("fp16 on the CPU is refused, and so are CUDA graphs and a CUDA device that is not "
          "there",
          "[model_runner]") {
  ModelRunnerOptions fp16 = CpuOptions();
  fp16.precision = Precision::kFp16;
  const absl::StatusOr<std::unique_ptr<ModelRunner>> refused =
      ModelRunner::Load(ModelDir("nearest"), fp16);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(absl::StartsWith(
      refused.status().message(),
      "model.precision: fp16 runs on a CUDA device only; the model runs on cpu"));

  ModelRunnerOptions graphs_on = CpuOptions();
  graphs_on.cuda_graphs = CudaGraphs::kOn;
  const absl::StatusOr<std::unique_ptr<ModelRunner>> no_graphs =
      ModelRunner::Load(ModelDir("nearest"), graphs_on);
  REQUIRE_FALSE(no_graphs.ok());
  CHECK(absl::StartsWith(no_graphs.status().message(),
                         "model.cuda_graphs: on needs a CUDA device and a LibTorch with CUDA "
                         "graphs; the model runs on cpu"));
  if (ModelRunner::CudaDeviceCount() == 0) {
    ModelRunnerOptions cuda = CpuOptions();
    cuda.device = DeviceSpec{.kind = DeviceSpec::Kind::kCuda, .index = 0};
    const absl::StatusOr<std::unique_ptr<ModelRunner>> no_cuda =
        ModelRunner::Load(ModelDir("nearest"), cuda);
    REQUIRE_FALSE(no_cuda.ok());
    CHECK(absl::StartsWith(no_cuda.status().message(), "model.device: cuda:0 asked for"));
  }
}

TEST_CASE("missing or broken files are refused with the path", "[model_runner]") {
  const absl::StatusOr<std::unique_ptr<ModelRunner>> missing =
      ModelRunner::Load("/nonexistent/route-v1", CpuOptions());
  CHECK(missing.status().code() == absl::StatusCode::kNotFound);
  CHECK(missing.status().message() == "model.path: \"/nonexistent/route-v1\" is not a directory");

  TempDir dir;
  const absl::StatusOr<std::unique_ptr<ModelRunner>> no_yaml =
      ModelRunner::Load(dir.path(), CpuOptions());
  CHECK(no_yaml.status().code() == absl::StatusCode::kNotFound);
  CHECK(absl::StrContains(no_yaml.status().message(), "model.yaml"));

  dir.CopyFrom("nearest", "model.yaml");
  const absl::StatusOr<std::unique_ptr<ModelRunner>> no_pt =
      ModelRunner::Load(dir.path(), CpuOptions());
  CHECK(no_pt.status().code() == absl::StatusCode::kNotFound);
  CHECK(no_pt.status().message() ==
        dir.path() + "/model.pt: cannot be opened: No such file or directory");

  // A file that is no TorchScript archive, sealed as it is: LibTorch refuses it.
  dir.CopyFrom("nearest", "selftest.json");
  dir.Write("model.pt", "not a TorchScript archive");
  std::string yaml = ReadFile(ModelDir("nearest") + "/model.yaml");
  const size_t at = yaml.find("model_sha256: ");
  REQUIRE(at != std::string::npos);
  yaml.replace(at + 14, 64, Sha256Hex("not a TorchScript archive"));
  dir.Write("model.yaml", yaml);
  const absl::StatusOr<std::unique_ptr<ModelRunner>> broken =
      ModelRunner::Load(dir.path(), CpuOptions());
  CHECK(broken.status().code() == absl::StatusCode::kInternal);
  CHECK(absl::StrContains(broken.status().message(), "model.pt: cannot be loaded: "));
  CHECK_FALSE(absl::StrContains(broken.status().message(), "\n"));
}

TEST_CASE("an objective other than the config's is a warning, not an error", "[model_runner]") {
  TempDir dir;
  for (const char* file : {"model.pt", "model.yaml", "selftest.json"}) {
    dir.CopyFrom("nearest", file);
  }
  ModelRunnerOptions options = CpuOptions();
  options.objective.lateness_weight = 4;
  // The self-test runs under the model's own objective, which its costs were recorded with.
  const std::unique_ptr<ModelRunner> runner = LoadPath(dir.path(), options);
  CHECK(runner->warnings() ==
        std::vector<std::string>{
            "objective.lateness_weight: the model was trained with 10, the config has 4"});
  CHECK(absl::StartsWith(runner->model_version(), "model-x-"));
}

TEST_CASE("the nearest model's decodings are feasible orders of the stops, with their costs",
          "[model_runner]") {
  const std::unique_ptr<ModelRunner> runner = Load("nearest");
  const std::vector<routing::Instance> instances = Problems(40, 30, 1);
  int sampled_differs = 0;
  for (size_t first = 0; first < instances.size(); first += 5) {
    std::vector<const routing::Instance*> batch;
    int largest = 0;
    for (size_t i = first; i < first + 5; ++i) {
      batch.push_back(&instances[i]);
      largest = std::max(largest, instances[i].num_stops());
    }
    const int N = DefaultBucketFor(largest);
    const Results results = Run(*runner, batch, N, /*K=*/6);
    const Results again = Run(*runner, batch, N, /*K=*/6, /*executor=*/1);
    for (size_t b = 0; b < batch.size(); ++b) {
      INFO("problem " << first + b << ": " << results[b].status().ToString());
      REQUIRE(results[b].ok());
      REQUIRE(results[b]->size() == 6);
      for (size_t k = 0; k < 6; ++k) {
        const Decoding& decoding = (*results[b])[k];
        const routing::RouteEvaluation evaluation = routing::Evaluate(*batch[b], decoding.order);
        CHECK(evaluation.feasible());
        CHECK(decoding.cost == evaluation.cost);
        CHECK(decoding.score <= 0);
        CHECK(decoding.order == (*again[b])[k].order);  // deterministic, any executor
        if (decoding.order != (*results[b])[0].order) ++sampled_differs;
      }
    }
  }
  CHECK(sampled_differs > 0);  // the noise does steer the sampled decodings
}

TEST_CASE("padding invariance: a problem gets the same decodings alone and in a batch of larger "
          "problems",
          "[model_runner]") {
  const std::unique_ptr<ModelRunner> runner = Load("nearest");
  const std::vector<routing::Instance> small = Problems(60, 20, 2);
  const std::vector<routing::Instance> large = Problems(7, 60, 3);
  const int K = 4;
  for (size_t i = 0; i < small.size(); ++i) {
    const routing::Instance& problem = small[i];
    const Results alone = Run(*runner, {&problem}, DefaultBucketFor(problem.num_stops()), K);
    // In a batch of 8 at N = 64, at a place that moves with i.
    std::vector<const routing::Instance*> batch;
    for (const routing::Instance& other : large) batch.push_back(&other);
    const size_t place = i % 8;
    batch.insert(batch.begin() + static_cast<std::ptrdiff_t>(place), &problem);
    const Results in_batch = Run(*runner, batch, 64, K);
    INFO("problem " << i << " (" << problem.num_stops() << " stops) at " << place);
    REQUIRE(alone[0].ok());
    REQUIRE(in_batch[place].ok());
    for (int k = 0; k < K; ++k) {
      INFO("decoding " << k);
      CHECK((*alone[0])[k].order == (*in_batch[place])[k].order);
      CHECK((*alone[0])[k].score == Approx((*in_batch[place])[k].score).margin(1e-4));
    }
  }
}

TEST_CASE("an order that breaks the contract is refused for its problem (DataLoss), a failing "
          "forward pass for the batch (Internal)",
          "[model_runner]") {
  const std::vector<routing::Instance> instances = Problems(16, 12, 4);
  std::vector<const routing::Instance*> batch;
  for (const routing::Instance& instance : instances) batch.push_back(&instance);

  SECTION("index order: infeasible wherever a dropoff precedes its pickup in the request") {
    const std::unique_ptr<ModelRunner> runner = Load("index_order");
    const Results results = Run(*runner, batch, 16, 3);
    int refused = 0;
    for (size_t b = 0; b < batch.size(); ++b) {
      std::vector<int> index(batch[b]->num_stops());
      for (size_t i = 0; i < index.size(); ++i) index[i] = static_cast<int>(i);
      const bool feasible = routing::Evaluate(*batch[b], index).feasible();
      INFO("problem " << b << ": " << results[b].status().ToString());
      CHECK(results[b].ok() == feasible);
      if (!feasible) {
        ++refused;
        CHECK(results[b].status().code() == absl::StatusCode::kDataLoss);
        CHECK(absl::StrContains(results[b].status().message(), "decoding 0: infeasible"));
      }
    }
    CHECK(refused > 0);
  }
  SECTION("garbage: stop 0 over and over") {
    const std::unique_ptr<ModelRunner> runner = Load("garbage");
    for (const auto& result : Run(*runner, batch, 16, 3)) {
      if (result.ok()) continue;  // a problem of one stop: [0] is its order
      CHECK(result.status().code() == absl::StatusCode::kDataLoss);
    }
    const Results results = Run(*runner, {batch[0], batch[1]}, 16, 3);
    CHECK(results[0].status().code() == absl::StatusCode::kDataLoss);
  }
  SECTION("scores that are not finite") {
    const std::unique_ptr<ModelRunner> runner = Load("nan_scores");
    for (const auto& result : Run(*runner, batch, 16, 3)) {
      CHECK(result.status().code() == absl::StatusCode::kDataLoss);
      CHECK(absl::StrContains(result.status().message(),
                              "scores[0] is nan: the model's outputs must be finite"));
    }
  }
  SECTION("raises") {
    const std::unique_ptr<ModelRunner> runner = Load("raises");
    for (const auto& result : Run(*runner, batch, 16, 3)) {
      CHECK(result.status().code() == absl::StatusCode::kInternal);
      CHECK(absl::StrContains(result.status().message(), "forward always fails"));
      CHECK_FALSE(absl::StrContains(result.status().message(), "\n"));
    }
  }
}

TEST_CASE("wrong calls are refused for the whole batch", "[model_runner]") {
  const std::unique_ptr<ModelRunner> small_model = Load("nearest_max16");
  const std::vector<routing::Instance> instances = Problems(3, 12, 5);
  const std::vector<const routing::Instance*> batch = {&instances[0], &instances[1]};
  for (const auto& [N, K, executor] : std::vector<std::tuple<int, int, int>>{
           {32, 2, 0},   // above max_stops
           {1, 2, 0},    // smaller than the problems (unless they have one stop)
           {16, 0, 0},   // no decoding
           {16, 65, 0},  // too many
           {16, 2, 2},   // 2 executors: 0 and 1
       }) {
    if (N == 1 && instances[0].num_stops() == 1 && instances[1].num_stops() == 1) continue;
    INFO("N " << N << ", K " << K << ", executor " << executor);
    for (const auto& result : Run(*small_model, batch, N, K, executor)) {
      CHECK(result.status().code() == absl::StatusCode::kInvalidArgument);
    }
  }
  CHECK(small_model->Run({}, 16, 2, 0).empty());
}

TEST_CASE("batch classes: powers of two up to the largest batch, which is a class of its own",
          "[model_runner]") {
  CHECK(ModelRunner::BatchClasses(1) == std::vector<int>{1});
  CHECK(ModelRunner::BatchClasses(8) == std::vector<int>{1, 2, 4, 8});
  CHECK(ModelRunner::BatchClasses(6) == std::vector<int>{1, 2, 4, 6});
  CHECK(ModelRunner::BatchClasses(64) == std::vector<int>{1, 2, 4, 8, 16, 32, 64});
  CHECK(ModelRunner::BatchClassFor(1, 64) == 1);
  CHECK(ModelRunner::BatchClassFor(3, 8) == 4);
  CHECK(ModelRunner::BatchClassFor(33, 64) == 64);
  CHECK(ModelRunner::BatchClassFor(5, 6) == 6);
  CHECK(ModelRunner::BatchClassFor(8, 8) == 8);
  CHECK(ModelRunner::BatchClassFor(9, 8) == 9);  // larger than the largest: as it is
}

TEST_CASE("warm-up runs every (N, batch class) twice (on the CPU, on executor 0), and a model "
          "that fails names the shape",
          "[model_runner]") {
  ModelRunnerOptions options = CpuOptions();
  options.max_batch_size = 6;
  options.executors = 3;
  const std::unique_ptr<ModelRunner> runner = Load("nearest_max16", options);
  const std::vector<int> buckets = {4, 8, 16, 32};  // 32 runs at N = 16, the model's max_stops
  const absl::StatusOr<WarmupReport> report = runner->Warmup(buckets, /*decodings=*/3);
  INFO(report.status().ToString());
  REQUIRE(report.ok());
  std::set<std::pair<int, int>> expected;
  for (const int N : {4, 8, 16}) {
    for (const int batch : {1, 2, 4, 6}) expected.emplace(N, batch);
  }
  CHECK(report->shapes == 12);
  CHECK(report->forward_passes == 12 * kWarmupRunsPerShape);  // one graph for every executor
  CHECK(std::set(report->shapes_run.begin(), report->shapes_run.end()) == expected);
  CHECK(report->shapes_run.size() == expected.size());
  CHECK(report->total >= report->slowest);
  CHECK(expected.count({report->slowest_padded_size, report->slowest_batch}) == 1);

  const std::unique_ptr<ModelRunner> garbage = Load("garbage", options);
  const absl::StatusOr<WarmupReport> failed = garbage->Warmup(buckets, 3);
  REQUIRE_FALSE(failed.ok());
  CHECK(absl::StartsWith(failed.status().message(),
                         "model warm-up at N 4, batch 1 (fp32 on cpu, executor 0): "));

  // Every warm-up forward's scores must be finite.
  const std::unique_ptr<ModelRunner> nan_scores = Load("nan_scores", options);
  const absl::StatusOr<WarmupReport> not_finite = nan_scores->Warmup(buckets, 3);
  REQUIRE_FALSE(not_finite.ok());
  CHECK(not_finite.status().code() == absl::StatusCode::kDataLoss);
  CHECK(absl::StartsWith(not_finite.status().message(),
                         "model warm-up at N 4, batch 1 (fp32 on cpu, executor 0): "));
  CHECK(absl::StrContains(not_finite.status().message(), "scores[0] is nan"));
}

TEST_CASE("executors run batches concurrently and get what a lone caller gets", "[model_runner]") {
  const std::unique_ptr<ModelRunner> runner = Load("nearest");
  const std::vector<routing::Instance> instances = Problems(24, 16, 6);
  auto batch_of = [&](int b) {
    return std::vector<const routing::Instance*>{&instances[3 * b], &instances[3 * b + 1],
                                                 &instances[3 * b + 2]};
  };
  std::vector<Results> serial;
  for (int b = 0; b < 8; ++b) serial.push_back(Run(*runner, batch_of(b), 16, 4));
  std::vector<Results> concurrent(8);
  std::vector<std::thread> threads;
  for (int executor = 0; executor < 2; ++executor) {
    threads.emplace_back([&, executor] {
      for (int b = executor; b < 8; b += 2) {
        concurrent[b] = runner->Run(batch_of(b), 16, 4, executor);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int b = 0; b < 8; ++b) {
    REQUIRE(concurrent[b].size() == 3);
    for (int i = 0; i < 3; ++i) {
      REQUIRE(concurrent[b][i].ok());
      for (int k = 0; k < 4; ++k) {
        CHECK((*concurrent[b][i])[k].order == (*serial[b][i])[k].order);
      }
    }
  }
}

TEST_CASE("bf16 on the CPU runs under autocast and gives the fp32 orders here", "[model_runner]") {
  ModelRunnerOptions bf16 = CpuOptions();
  bf16.precision = Precision::kBf16;
  const std::unique_ptr<ModelRunner> reduced = Load("nearest", bf16);
  const std::unique_ptr<ModelRunner> full = Load("nearest");
  const std::vector<routing::Instance> instances = Problems(8, 16, 7);
  std::vector<const routing::Instance*> batch;
  for (const routing::Instance& instance : instances) batch.push_back(&instance);
  const Results a = Run(*reduced, batch, 16, 3);
  const Results b = Run(*full, batch, 16, 3);
  for (size_t i = 0; i < batch.size(); ++i) {
    INFO(a[i].status().ToString());
    REQUIRE(a[i].ok());
    for (int k = 0; k < 3; ++k) CHECK((*a[i])[k].order == (*b[i])[k].order);
  }
}

}  // namespace
}  // namespace routeserve::model
