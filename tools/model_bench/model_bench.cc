// model_bench: routes per second of the model runner at "model level" (DESIGN §8): host-side
// problems to host-side checked orders, feature encoding, the forward pass, copies and the
// check of every decoding included; problem generation and Instance::Build excluded.
//
//   build/model_bench --model DIR [--stops 20] [--padded 32] [--batches 1,8,64]
//                     [--decodings 1,8] [--threads 1] [--precision fp32] [--device cpu]
//                     [--seconds 3]
//
// For each (decodings, batch size) it runs batches of generated problems (seeds 1000 on) for
// about --seconds after one warm-up batch and prints routes/s and the time per batch. --padded
// is the bucket N the batch runs at (default: the smallest of 8, 16, 32, 64, 128 that holds
// --stops). One executor; --threads sets LibTorch's intra-op threads.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "model/model_runner.h"
#include "routing/generator.h"
#include "routing/instance.h"

namespace routeserve::model {
namespace {

using Clock = std::chrono::steady_clock;

struct Flags {
  std::string model;
  int stops = 20;
  int padded = 0;
  std::vector<int> batches = {1, 8, 64};
  std::vector<int> decodings = {1, 8};
  int threads = 1;
  std::string precision = "fp32";
  std::string device = "cpu";
  double seconds = 3;
};

std::vector<int> IntList(const std::string& text) {
  std::vector<int> values;
  for (const auto piece : absl::StrSplit(text, ',')) {
    int value = 0;
    if (!absl::SimpleAtoi(piece, &value) || value < 1) {
      std::fprintf(stderr, "model_bench: bad list \"%s\"\n", text.c_str());
      std::exit(2);
    }
    values.push_back(value);
  }
  return values;
}

Flags ParseFlags(int argc, char** argv) {
  Flags flags;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string name = argv[i];
    const std::string value = argv[i + 1];
    if (name == "--model") {
      flags.model = value;
    } else if (name == "--stops") {
      flags.stops = IntList(value).front();
    } else if (name == "--padded") {
      flags.padded = IntList(value).front();
    } else if (name == "--batches") {
      flags.batches = IntList(value);
    } else if (name == "--decodings") {
      flags.decodings = IntList(value);
    } else if (name == "--threads") {
      flags.threads = IntList(value).front();
    } else if (name == "--precision") {
      flags.precision = value;
    } else if (name == "--device") {
      flags.device = value;
    } else if (name == "--seconds") {
      if (!absl::SimpleAtod(value, &flags.seconds)) std::exit(2);
    } else {
      std::fprintf(stderr, "model_bench: unknown flag %s\n", name.c_str());
      std::exit(2);
    }
  }
  if (flags.model.empty()) {
    std::fprintf(stderr, "usage: model_bench --model DIR [flags] (see the source)\n");
    std::exit(2);
  }
  if (flags.padded == 0) {
    flags.padded = flags.stops;
    for (const int bucket : {128, 64, 32, 16, 8}) {
      if (bucket >= flags.stops) flags.padded = bucket;
    }
  }
  return flags;
}

int Main(int argc, char** argv) {
  const Flags flags = ParseFlags(argc, argv);
  const int largest_batch = *std::max_element(flags.batches.begin(), flags.batches.end());
  ModelRunnerOptions options;
  absl::StatusOr<DeviceSpec> device = ParseDeviceSpec(flags.device);
  absl::StatusOr<Precision> precision = ParsePrecision(flags.precision);
  if (!device.ok() || !precision.ok()) {
    std::fprintf(stderr, "model_bench: bad --device or --precision\n");
    return 2;
  }
  options.device = *device;
  options.precision = *precision;
  options.threads = flags.threads;
  options.max_batch_size = largest_batch;
  absl::StatusOr<std::unique_ptr<ModelRunner>> runner = ModelRunner::Load(flags.model, options);
  if (!runner.ok()) {
    std::fprintf(stderr, "model_bench: %s\n", std::string(runner.status().message()).c_str());
    return 1;
  }

  // Enough distinct problems for the largest batch, a few times over.
  std::vector<routing::Instance> instances;
  routing::GeneratorOptions generator;
  generator.num_stops = flags.stops;
  for (int i = 0; i < 4 * largest_batch; ++i) {
    instances.push_back(
        *routing::Instance::Build(routing::GenerateProblem(generator, 1000 + i), {}));
  }

  std::printf("model %s (%s), %d stops at N %d, device %s, %s, %d intra-op threads\n",
              (*runner)->model_version().c_str(), flags.model.c_str(), flags.stops, flags.padded,
              (*runner)->device().c_str(), flags.precision.c_str(), (*runner)->threads());
  std::printf("| decodings | batch | routes/s | ms per batch |\n|---|---|---|---|\n");
  for (const int decodings : flags.decodings) {
    for (const int batch_size : flags.batches) {
      std::vector<const routing::Instance*> batch(batch_size);
      size_t next = 0;
      auto fill = [&] {
        for (int b = 0; b < batch_size; ++b) batch[b] = &instances[next++ % instances.size()];
      };
      fill();
      for (const auto& result : (*runner)->Run(batch, flags.padded, decodings, 0)) {
        if (!result.ok()) {
          std::fprintf(stderr, "model_bench: %s\n", std::string(result.status().message()).c_str());
          return 1;
        }
      }
      int64_t routes = 0;
      int batches = 0;
      const Clock::time_point start = Clock::now();
      double elapsed = 0;
      while (elapsed < flags.seconds) {
        fill();
        routes += static_cast<int64_t>((*runner)->Run(batch, flags.padded, decodings, 0).size());
        ++batches;
        elapsed = std::chrono::duration<double>(Clock::now() - start).count();
      }
      std::printf("| %d | %d | %.0f | %.2f |\n", decodings, batch_size, routes / elapsed,
                  1000 * elapsed / batches);
      std::fflush(stdout);
    }
  }
  return 0;
}

}  // namespace
}  // namespace routeserve::model

int main(int argc, char** argv) { return routeserve::model::Main(argc, argv); }
