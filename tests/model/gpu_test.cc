// The model on a CUDA device, and the GPU metrics (label gpu; `ctest -L gpu`, which
// scripts/gpu-check.sh runs on a machine with a GPU). Where LibTorch sees no CUDA device (every
// CPU machine, and always with Debian's CPU-only LibTorch) each test says so and returns, and
// ctest reports it skipped (SKIP_REGULAR_EXPRESSION, tests/model/CMakeLists.txt): nothing here
// can pass without a GPU.
#include <catch2/catch.hpp>

#include <cmath>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "metrics/gpu_sampler.h"
#include "model/model_runner.h"
#include "prometheus/registry.h"
#include "routing/instance.h"
#include "tests/model/problems.h"

namespace routeserve::model {
namespace {

// ctest's SKIP_REGULAR_EXPRESSION for this executable matches this line.
bool SkippedWithoutCuda() {
  if (ModelRunner::CudaDeviceCount() > 0) return false;
  std::cout << "no CUDA device: skipped" << std::endl;
  return true;
}

std::string ModelDir(const std::string& name) {
  return std::string(ROUTESERVE_TEST_MODELS_DIR) + "/" + name;
}

ModelRunnerOptions Options(DeviceSpec::Kind kind, Precision precision = Precision::kFp32,
                           int executors = 1) {
  ModelRunnerOptions options;
  options.device = DeviceSpec{.kind = kind, .index = 0};
  options.precision = precision;
  options.threads = 1;
  options.executors = executors;
  options.max_batch_size = 16;
  return options;
}

std::unique_ptr<ModelRunner> Load(const std::string& model, const ModelRunnerOptions& options) {
  absl::StatusOr<std::unique_ptr<ModelRunner>> runner = ModelRunner::Load(ModelDir(model), options);
  INFO(model << ": " << runner.status().ToString());
  REQUIRE(runner.ok());
  return *std::move(runner);
}

using Results = std::vector<absl::StatusOr<std::vector<Decoding>>>;

// The orders of every decoding of every problem; a failed problem fails the test.
std::vector<std::vector<std::vector<int>>> OrdersOf(const Results& results) {
  std::vector<std::vector<std::vector<int>>> orders;
  for (const auto& result : results) {
    INFO(result.status().ToString());
    REQUIRE(result.ok());
    std::vector<std::vector<int>>& problem = orders.emplace_back();
    for (const Decoding& decoding : *result) problem.push_back(decoding.order);
  }
  return orders;
}

constexpr int kPadded = 16;
constexpr int kMaxStops = 14;  // the problems' stops, within kPadded
constexpr int kDecodings = 4;

TEST_CASE("on CUDA in fp32 each model family gives the CPU's routes", "[gpu]") {
  if (SkippedWithoutCuda()) return;
  const std::vector<routing::Instance> instances = Problems(16, kMaxStops, 3);
  for (const std::string model : {"nearest", "nearest_edges"}) {
    INFO(model);
    const auto cpu = Load(model, Options(DeviceSpec::Kind::kCpu));
    const auto cuda = Load(model, Options(DeviceSpec::Kind::kCuda));
    CHECK(cuda->device() == "cuda:0");
    const Results on_cpu = cpu->Run(Pointers(instances), kPadded, kDecodings, 0);
    const Results on_cuda = cuda->Run(Pointers(instances), kPadded, kDecodings, 0);
    CHECK(OrdersOf(on_cuda) == OrdersOf(on_cpu));
    for (size_t i = 0; i < instances.size(); ++i) {
      for (size_t k = 0; k < on_cpu[i]->size(); ++k) {
        CHECK(std::abs((*on_cuda[i])[k].cost - (*on_cpu[i])[k].cost) <=
              1e-6 * std::max(1.0, (*on_cpu[i])[k].cost));
      }
    }
    CHECK(cuda->CudaAllocatedBytes().value_or(0) > 0);
  }
}

TEST_CASE("executors on their own CUDA streams give at once the routes they give one by one",
          "[gpu]") {
  if (SkippedWithoutCuda()) return;
  constexpr int kExecutors = 4;
  const auto cuda = Load("nearest_edges", Options(DeviceSpec::Kind::kCuda, Precision::kFp32,
                                                  kExecutors));
  std::vector<std::vector<routing::Instance>> batches;
  for (int e = 0; e < kExecutors; ++e) batches.push_back(Problems(8, kMaxStops, 10 + e));
  std::vector<std::vector<std::vector<std::vector<int>>>> serial;
  for (int e = 0; e < kExecutors; ++e) {
    serial.push_back(OrdersOf(cuda->Run(Pointers(batches[e]), kPadded, kDecodings, e)));
  }
  for (int round = 0; round < 10; ++round) {
    std::vector<Results> concurrent(kExecutors);
    std::vector<std::thread> threads;
    for (int e = 0; e < kExecutors; ++e) {
      threads.emplace_back([&, e] {
        concurrent[e] = cuda->Run(Pointers(batches[e]), kPadded, kDecodings, e);
      });
    }
    for (std::thread& thread : threads) thread.join();
    for (int e = 0; e < kExecutors; ++e) {
      INFO("round " << round << ", executor " << e);
      CHECK(OrdersOf(concurrent[e]) == serial[e]);
    }
  }
}

TEST_CASE("CUDA graphs replay the eager forward pass's routes", "[gpu]") {
  if (SkippedWithoutCuda()) return;
  const std::vector<routing::Instance> instances = Problems(16, kMaxStops, 7);
  const std::vector<int> buckets = {kPadded};
  for (const std::string model : {"nearest_edges", "nearest"}) {
    INFO(model);
    ModelRunnerOptions eager_options = Options(DeviceSpec::Kind::kCuda);
    eager_options.cuda_graphs = CudaGraphs::kOff;
    const auto eager = Load(model, eager_options);
    REQUIRE(eager->Warmup(buckets, kDecodings).ok());
    CHECK(eager->cuda_graphs().captured == 0);
    const auto graphs = Load(model, Options(DeviceSpec::Kind::kCuda));  // auto
    const absl::StatusOr<WarmupReport> report = graphs->Warmup(buckets, kDecodings);
    INFO(report.status().ToString());
    REQUIRE(report.ok());
    INFO(report->graphs.first_failure);
    const int shapes = static_cast<int>(ModelRunner::BatchClasses(16).size());
    CHECK(report->graphs.captured + report->graphs.failed == shapes);
    // The edge model's forward pass is static: every shape captures.
    if (model == "nearest_edges") CHECK(report->graphs.captured == shapes);
    const std::vector<const routing::Instance*> all = Pointers(instances);
    for (const size_t batch : {size_t{1}, size_t{3}, size_t{16}}) {
      const std::vector<const routing::Instance*> some(all.begin(), all.begin() + batch);
      INFO("batch " << batch);
      CHECK(OrdersOf(graphs->Run(some, kPadded, kDecodings, 0)) ==
            OrdersOf(eager->Run(some, kPadded, kDecodings, 0)));
    }
  }
}

TEST_CASE("bf16 and fp16 on CUDA give feasible routes of every problem, warmed up", "[gpu]") {
  if (SkippedWithoutCuda()) return;
  const std::vector<routing::Instance> instances = Problems(16, kMaxStops, 5);
  for (const Precision precision : {Precision::kBf16, Precision::kFp16}) {
    for (const std::string model : {"nearest", "nearest_edges"}) {
      INFO(model << " in " << PrecisionName(precision));
      const auto cuda = Load(model, Options(DeviceSpec::Kind::kCuda, precision));
      const std::vector<int> buckets = {8, 16};
      const absl::StatusOr<WarmupReport> warmup = cuda->Warmup(buckets, kDecodings);
      INFO(warmup.status().ToString());
      REQUIRE(warmup.ok());
      const Results results = cuda->Run(Pointers(instances), kPadded, kDecodings, 0);
      for (size_t i = 0; i < instances.size(); ++i) {
        REQUIRE(results[i].ok());
        CHECK(static_cast<int>(results[i]->size()) == kDecodings);
        for (const Decoding& decoding : *results[i]) {
          CHECK(static_cast<int>(decoding.order.size()) == instances[i].num_stops());
          CHECK(std::isfinite(decoding.cost));
        }
      }
    }
  }
}

TEST_CASE("NVML's GPU metrics are there and plausible", "[gpu]") {
  if (SkippedWithoutCuda()) return;
  prometheus::Registry registry;
  const std::unique_ptr<metrics::GpuSampler> sampler = metrics::GpuSampler::Start(
      registry, {.period = absl::Milliseconds(100),
                 .allocator_bytes_in_use = [](int) { return std::optional<int64_t>(1); }});
  INFO(sampler->unavailable_reason());
  REQUIRE(sampler->sampling());
  CHECK(sampler->devices() >= 1);
  absl::SleepFor(absl::Milliseconds(300));
  std::map<std::string, std::vector<double>> values;
  for (const prometheus::MetricFamily& family : registry.Collect()) {
    for (const prometheus::ClientMetric& metric : family.metric) {
      values[family.name].push_back(metric.gauge.value);
    }
  }
  REQUIRE(values["routeserve_gpu_memory_total_bytes"].size() ==
          static_cast<size_t>(sampler->devices()));
  for (int gpu = 0; gpu < sampler->devices(); ++gpu) {
    INFO("gpu " << gpu);
    const double total = values["routeserve_gpu_memory_total_bytes"][gpu];
    const double used = values["routeserve_gpu_memory_used_bytes"][gpu];
    const double utilization = values["routeserve_gpu_utilization_ratio"][gpu];
    CHECK(total > 1e9);  // a GPU of less than a gigabyte serves no model
    CHECK(used >= 0);
    CHECK(used <= total);
    CHECK(utilization >= 0);
    CHECK(utilization <= 1);
  }
  CHECK(values["routeserve_gpu_allocator_bytes_in_use"].size() ==
        static_cast<size_t>(sampler->devices()));
}

}  // namespace
}  // namespace routeserve::model
