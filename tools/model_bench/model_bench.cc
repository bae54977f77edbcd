// model_bench: routes per second of the model runner at "model level": host-side problems to
// host-side checked orders, feature encoding, the forward pass, copies and the check of every
// decoding included; problem generation and Instance::Build excluded (docs/BENCHMARKS.md).
//
// For each (decodings, batch size) it runs batches of generated problems (seeds 1000 on) for
// about --seconds after one warm-up batch and prints routes/s and the time per batch. --padded
// is the bucket N the batch runs at (default: the smallest of 8, 16, 32, 64, 128 that holds
// --stops). One executor; --threads sets LibTorch's intra-op threads. Exit 1 when the model
// cannot load or run, 2 on a bad flag.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "model/model_runner.h"
#include "program/command_line.h"
#include "program/failure.h"
#include "program/int_list.h"
#include "routing/generator.h"
#include "routing/instance.h"

ABSL_FLAG(std::string, model, "", "the model's directory; required");
ABSL_FLAG(int, stops, 20, "stops of every problem");
ABSL_FLAG(int, padded, 0, "the bucket N the batches run at (0: the smallest bucket that holds "
                          "--stops)");
ABSL_FLAG(routeserve::program::IntList, batches, routeserve::program::IntList({1, 8, 64}),
          "batch sizes");
ABSL_FLAG(routeserve::program::IntList, decodings, routeserve::program::IntList({1, 8}),
          "decodings per problem");
ABSL_FLAG(int, threads, 1, "LibTorch's intra-op threads");
ABSL_FLAG(std::string, precision, "fp32", "fp32, bf16 or fp16");
ABSL_FLAG(std::string, device, "cpu", "cpu, cuda, cuda:N or auto");
ABSL_FLAG(double, seconds, 3, "seconds per row, after one warm-up batch");
ABSL_FLAG(std::string, cuda_graphs, "off",
          "auto, on or off: with auto or on, the runner's warm-up (every batch class up to the "
          "largest batch) captures CUDA graphs, which the rows replay (model.cuda_graphs)");

namespace routeserve::model {
namespace {

using Clock = std::chrono::steady_clock;

constexpr char kName[] = "model_bench";

const program::CommandLineSpec& ModelBenchCommandLine() {
  static const program::CommandLineSpec spec = {
      .name = kName,
      .usage = "usage: model_bench --model DIR [--stops 20] [--padded 32] [--batches 1,8,64]\n"
               "                   [--decodings 1,8] [--threads 1] [--precision fp32] "
               "[--device cpu]\n"
               "                   [--seconds 3] [--cuda_graphs off]\n"
               "\n"
               "Prints the model runner's routes/s and time per batch at each (decodings, batch "
               "size),\nfeatures, forward pass and checks included.\n",
  };
  return spec;
}

struct Flags {
  std::string model;
  int stops = 20;
  int padded = 0;
  std::vector<int> batches;
  std::vector<int> decodings;
  int threads = 1;
  DeviceSpec device;
  std::string precision_name;  // as given, for the table's heading
  Precision precision = Precision::kFp32;
  double seconds = 3;
  CudaGraphs cuda_graphs = CudaGraphs::kOff;
};

absl::Status Bad(absl::string_view flag, absl::string_view what) {
  return program::UsageError(absl::StrCat(flag, ": ", what));
}

absl::StatusOr<Flags> FlagsFromCommandLine() {
  Flags flags;
  flags.model = absl::GetFlag(FLAGS_model);
  if (flags.model.empty()) return program::UsageError("--model is required");
  flags.stops = absl::GetFlag(FLAGS_stops);
  flags.padded = absl::GetFlag(FLAGS_padded);
  flags.threads = absl::GetFlag(FLAGS_threads);
  flags.batches = absl::GetFlag(FLAGS_batches).values;
  flags.decodings = absl::GetFlag(FLAGS_decodings).values;
  for (const auto& [name, value] : {std::pair{"--stops", flags.stops},
                                    std::pair{"--threads", flags.threads}}) {
    if (value < 1) return Bad(name, "must be >= 1");
  }
  for (const auto& [name, list] : {std::pair{"--batches", &flags.batches},
                                   std::pair{"--decodings", &flags.decodings}}) {
    if (*std::min_element(list->begin(), list->end()) < 1) return Bad(name, "each must be >= 1");
  }
  if (flags.padded == 0) {
    flags.padded = flags.stops;
    for (const int bucket : {128, 64, 32, 16, 8}) {
      if (bucket >= flags.stops) flags.padded = bucket;
    }
  }
  if (flags.padded < flags.stops) return Bad("--padded", "must hold --stops");
  absl::StatusOr<DeviceSpec> device = ParseDeviceSpec(absl::GetFlag(FLAGS_device));
  if (!device.ok()) return Bad("--device", device.status().message());
  flags.device = *device;
  flags.precision_name = absl::GetFlag(FLAGS_precision);
  absl::StatusOr<Precision> precision = ParsePrecision(flags.precision_name);
  if (!precision.ok()) return Bad("--precision", precision.status().message());
  flags.precision = *precision;
  flags.seconds = absl::GetFlag(FLAGS_seconds);
  if (!(flags.seconds > 0)) return Bad("--seconds", "must be > 0");
  absl::StatusOr<CudaGraphs> graphs = ParseCudaGraphs(absl::GetFlag(FLAGS_cuda_graphs));
  if (!graphs.ok()) return Bad("--cuda_graphs", graphs.status().message());
  flags.cuda_graphs = *graphs;
  return flags;
}

// One row of the table: `batch_size` problems at a time, `decodings` each, for flags.seconds.
absl::Status MeasureRow(ModelRunner& runner, const std::vector<routing::Instance>& instances,
                        const Flags& flags, int decodings, int batch_size) {
  std::vector<const routing::Instance*> batch(batch_size);
  size_t next = 0;
  auto fill = [&] {
    for (int b = 0; b < batch_size; ++b) batch[b] = &instances[next++ % instances.size()];
  };
  fill();
  for (const auto& result : runner.Run(batch, flags.padded, decodings, 0)) {
    if (!result.ok()) return result.status();
  }
  int64_t routes = 0;
  int batches = 0;
  const Clock::time_point start = Clock::now();
  double elapsed = 0;
  while (elapsed < flags.seconds) {
    fill();
    routes += static_cast<int64_t>(runner.Run(batch, flags.padded, decodings, 0).size());
    ++batches;
    elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  }
  std::printf("| %d | %d | %.0f | %.2f |\n", decodings, batch_size, routes / elapsed,
              1000 * elapsed / batches);
  std::fflush(stdout);
  return absl::OkStatus();
}

absl::Status Run(const Flags& flags) {
  const int largest_batch = *std::max_element(flags.batches.begin(), flags.batches.end());
  ModelRunnerOptions options;
  options.device = flags.device;
  options.precision = flags.precision;
  options.threads = flags.threads;
  options.max_batch_size = largest_batch;
  options.cuda_graphs = flags.cuda_graphs;
  absl::StatusOr<std::unique_ptr<ModelRunner>> runner = ModelRunner::Load(flags.model, options);
  if (!runner.ok()) return runner.status();

  // Enough distinct problems for the largest batch, a few times over.
  std::vector<routing::Instance> instances;
  routing::GeneratorOptions generator;
  generator.num_stops = flags.stops;
  for (int i = 0; i < 4 * largest_batch; ++i) {
    instances.push_back(
        *routing::Instance::Build(routing::GenerateProblem(generator, 1000 + i), {}));
  }

  std::printf("model %s (%s), %d stops at N %d, device %s, %s, %d intra-op threads, CUDA "
              "graphs %s\n",
              (*runner)->model_version().c_str(), flags.model.c_str(), flags.stops, flags.padded,
              (*runner)->device().c_str(), flags.precision_name.c_str(), (*runner)->threads(),
              std::string(CudaGraphsName(flags.cuda_graphs)).c_str());
  std::printf("| decodings | batch | routes/s | ms per batch |\n|---|---|---|---|\n");
  for (const int decodings : flags.decodings) {
    if (flags.cuda_graphs != CudaGraphs::kOff) {
      // The graphs are captured by the warm-up, for this number of decodings.
      const int buckets[] = {flags.padded};
      absl::StatusOr<WarmupReport> warmup = (*runner)->Warmup(buckets, decodings);
      if (!warmup.ok()) return warmup.status();
      if (warmup->graphs.failed > 0) {
        std::printf("(%d shapes run eagerly: %s)\n", warmup->graphs.failed,
                    warmup->graphs.first_failure.c_str());
      }
    }
    for (const int batch_size : flags.batches) {
      if (absl::Status row = MeasureRow(**runner, instances, flags, decodings, batch_size);
          !row.ok()) {
        return row;
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace
}  // namespace routeserve::model

int main(int argc, char** argv) {
  namespace program = routeserve::program;
  namespace model = routeserve::model;
  program::ParseCommandLine(argc, argv, model::ModelBenchCommandLine());
  absl::StatusOr<model::Flags> flags = model::FlagsFromCommandLine();
  if (!flags.ok()) return program::Exit(model::kName, flags.status());
  return program::Exit(model::kName, model::Run(*flags));
}
