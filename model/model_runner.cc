// ModelRunner: loading, device and precision, the batched forward pass, checking its output.
// The one translation unit of the project that includes LibTorch (with torch_compat.h); every
// LibTorch exception stops here and becomes a status.
#include "model/model_runner.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <memory_resource>
#include <optional>
#include <set>
#include <sstream>
#include <string_view>
#include <thread>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/exception_status.h"
#include "model/features.h"
#include "model/model_files.h"
#include "model/torch_compat.h"
#include "routing/generator.h"

namespace routeserve::model {
namespace {

// Warm-up problems are drawn from the instance generator with this seed (any would do).
constexpr uint64_t kWarmupSeed = 0x77a4d;

// One line of a LibTorch message, for a status: the error itself, without the C++ or
// TorchScript stack around it. The TorchScript interpreter puts the error last, after its
// traceback ("The following operation failed in the TorchScript interpreter. ... \n
// builtins.RuntimeError: what went wrong"); LibTorch's own errors put it first.
std::string Summary(const char* message) {
  constexpr std::string_view kInterpreter = "The following operation failed in the TorchScript";
  std::string_view text(message);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  if (text.starts_with(kInterpreter)) {
    const size_t newline = text.rfind('\n');
    if (newline != std::string_view::npos) return std::string(text.substr(newline + 1));
  }
  return std::string(text.substr(0, text.find('\n')));
}

// The wall: what an exception thrown by LibTorch (or anything under it) says, as a status;
// LibTorch's own carry a backtrace, left out.
absl::Status FromException(const std::string& stage, std::exception_ptr exception) {
  return base::StatusFromException(stage, std::move(exception), [](const std::exception& e) {
    const auto* torch_error = dynamic_cast<const c10::Error*>(&e);
    return Summary(torch_error != nullptr ? torch_error->what_without_backtrace() : e.what());
  });
}

int OnePerCore() {
  const unsigned hardware = std::thread::hardware_concurrency();
  return hardware > 0 ? static_cast<int>(hardware) : 1;
}

// Debian's LibTorch multiplies matrices with whatever BLAS libblas.so.3 is, typically OpenBLAS,
// whose own thread pool at::set_num_threads does not size: left at one thread per core, its idle
// workers spin on sched_yield between the model's many small products (a quarter of a core at
// batch 1, profiled on 2 cores), CPU the other executors, the refine threads and gRPC need.
// The BLAS gets as many threads as a forward pass, unless OPENBLAS_NUM_THREADS already says.
void SizeBlasThreadPool(int threads) {
  if (std::getenv("OPENBLAS_NUM_THREADS") != nullptr) return;
  using SetThreads = void (*)(int);
  if (auto set_threads =
          reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) {
    set_threads(threads);
  }
}

// The device `spec` names, if it can be had.
absl::StatusOr<c10::Device> PickDevice(const DeviceSpec& spec) {
  const bool cuda = torch::cuda::is_available();
  const int cuda_devices = cuda ? static_cast<int>(torch::cuda::device_count()) : 0;
  switch (spec.kind) {
    case DeviceSpec::Kind::kCpu:
      return c10::Device(c10::kCPU);
    case DeviceSpec::Kind::kAuto:
      return cuda_devices > 0 ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU);
    case DeviceSpec::Kind::kCuda:
      if (cuda_devices == 0) {
        return absl::FailedPreconditionError(absl::StrCat(
            "model.device: ", DeviceSpecName(spec),
            " asked for, but LibTorch has no CUDA or sees no CUDA device (use cpu or auto)"));
      }
      if (spec.index >= cuda_devices) {
        return absl::FailedPreconditionError(
            absl::StrCat("model.device: ", DeviceSpecName(spec), " asked for, but only ",
                         cuda_devices, " CUDA device(s) are present"));
      }
      return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(spec.index));
  }
  return absl::InternalError("model.device: unknown kind");
}

// The autocast dtype of `precision` on `device`; nullopt for fp32. A precision the device
// cannot run is an error.
absl::StatusOr<std::optional<at::ScalarType>> PickAutocast(Precision precision,
                                                           const c10::Device& device) {
  switch (precision) {
    case Precision::kFp32:
      return std::optional<at::ScalarType>();
    case Precision::kBf16:
      return std::optional<at::ScalarType>(at::kBFloat16);
    case Precision::kFp16:
      if (!device.is_cuda()) {
        return absl::FailedPreconditionError(absl::StrCat(
            "model.precision: fp16 runs on a CUDA device only; the model runs on ", device.str(),
            " (use fp32 or bf16)"));
      }
      return std::optional<at::ScalarType>(at::kHalf);
  }
  return absl::InternalError("model.precision: unknown precision");
}

// The module's own contract: its attribute `contract` (Dict[str, int], written by the recipe's
// export), empty when it has none (a model exported before the attribute existed).
absl::StatusOr<std::map<std::string, int64_t>> ModuleContract(const torch::jit::Module& module,
                                                              const std::string& source) {
  std::map<std::string, int64_t> contract;
  if (!module.hasattr(kContractAttribute)) return contract;
  const c10::IValue value = module.attr(kContractAttribute);
  auto malformed = [&source] {
    return absl::FailedPreconditionError(
        absl::StrCat(source, ": the module's attribute `contract` is not a Dict[str, int]"));
  };
  if (!value.isGenericDict()) return malformed();
  for (const auto& entry : value.toGenericDict()) {
    if (!entry.key().isString() || !entry.value().isInt()) return malformed();
    contract[entry.key().toStringRef()] = entry.value().toInt();
  }
  return contract;
}

// Pinned (page-locked) host memory from LibTorch's allocator, for a CUDA executor's host
// buffers: a batch is encoded into it and copied to the device from it without a staging copy,
// and without the host waiting. A block is a tensor, kept until the block is freed.
class PinnedMemory final : public std::pmr::memory_resource {
 private:
  void* do_allocate(std::size_t bytes, std::size_t /*alignment: pages*/) override {
    const auto pinned = torch::TensorOptions().dtype(torch::kUInt8).pinned_memory(true);
    torch::Tensor block =
        torch::empty({static_cast<int64_t>(std::max<std::size_t>(bytes, 1))}, pinned);
    void* data = block.data_ptr();
    blocks_.emplace(data, std::move(block));
    return data;
  }
  void do_deallocate(void* data, std::size_t, std::size_t) override { blocks_.erase(data); }
  bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override {
    return this == &other;
  }

  std::map<void*, torch::Tensor> blocks_;
};

// One batch shape's buffers on one CUDA executor, made on its first batch and kept: the device
// copies of its inputs at fixed addresses (which a CUDA graph's replay reads), and the graph
// captured over them with its output, once there is one.
struct DeviceShape {
  std::vector<torch::Tensor> device;
#if ROUTESERVE_HAS_CUDA_GRAPHS
  std::unique_ptr<compat::Graph> graph;
  c10::IValue graph_output;
#endif
};

// A batch's shape: rows, N and (the pointer model's noise) K.
using ShapeKey = std::tuple<int, int, int>;

// Per executor: the host buffers its batches are encoded into (on CUDA, in pinned memory) and,
// on CUDA, its stream and its shapes' device buffers.
struct ExecutorState {
  explicit ExecutorState(std::unique_ptr<std::pmr::memory_resource> host_memory)
      : memory(std::move(host_memory)),
        features(memory != nullptr ? memory.get() : std::pmr::get_default_resource()),
        noise(memory != nullptr ? memory.get() : std::pmr::get_default_resource()) {}

  const std::unique_ptr<std::pmr::memory_resource> memory;  // null: the default
  FeatureBatch features;
  std::pmr::vector<float> noise;
  std::map<ShapeKey, DeviceShape> device_shapes;
#if ROUTESERVE_HAS_CUDA_STREAMS
  std::optional<compat::Stream> stream;
#endif
};

}  // namespace

struct ModelRunner::Impl {
  ModelRunnerOptions options;
  ModelMetadata metadata;
  std::string version;
  std::vector<std::string> warnings;
  torch::jit::Module module;
  c10::Device device{c10::kCPU};
  std::optional<at::ScalarType> autocast_dtype;
  int threads = 1;
  std::vector<std::unique_ptr<ExecutorState>> executors;
  // Shapes x executors captured as CUDA graphs by Warmup(), and those whose capture failed.
  CudaGraphCounts graphs;

  // The inputs of forward() in docs/MODEL.md's order over `state`'s host buffers (no copy),
  // for rows problems at N (with the decodings' noise [rows, K, N] for the pointer model).
  std::vector<torch::Tensor> HostInputs(ExecutorState& state, int rows, int N, int K) const;
  // The module's output for `inputs` under `autocast` (nullopt: fp32). Throws what LibTorch
  // throws.
  c10::IValue RunModule(const std::vector<torch::Tensor>& inputs,
                        std::optional<at::ScalarType> autocast);
  // On CUDA: the shape's buffers on `state`, made on first use, with the staged batch copied
  // into them from the pinned host buffers (on the executor's stream, the host not waiting).
  DeviceShape& StageOnDevice(ExecutorState& state, const ShapeKey& key,
                             const std::vector<torch::Tensor>& host);
  // The module's output for the batch staged on `state`: on the CPU over its host buffers; on
  // CUDA over the shape's device buffers, replaying its graph where one was captured. Runs on
  // the current stream (the caller's guard). Throws what LibTorch throws.
  c10::IValue Forward(ExecutorState& state, int rows, int N, int K,
                      std::optional<at::ScalarType> autocast);
  // Captures the forward of shape `key` on `executor` (warmed up: its buffers exist) as a CUDA
  // graph, replayed by Forward() from then on: OK, or why not (the shape stays eager).
  absl::Status Capture(int executor, const ShapeKey& key, std::optional<at::ScalarType> autocast);
  // route-v1's outputs on the host: orders [rows, K, N] (int64) and scores [rows, K] (float),
  // or why the output breaks the contract.
  absl::Status DecodingsOf(const c10::IValue& output, int rows, int N, int K,
                           torch::Tensor& orders, torch::Tensor& scores) const;
  // route-v2's output on the host: scores [rows, N + 1, N + 1] (float), or why not.
  absl::Status EdgeScoresOf(const c10::IValue& output, int rows, int N,
                            torch::Tensor& scores) const;

  // Checks a call of Run() or Score() and stages its batch on its executor: the rows it runs
  // as, or why not (the status of every problem).
  absl::StatusOr<int> Stage(std::span<const routing::Instance* const> instances, int N, int K,
                            int executor);
  // Stages the batch, runs the forward pass under inference mode and `autocast`, and hands the
  // output to `read` (which copies it to the host) with the rows it ran as: OK, or the status of
  // the whole batch (a bad call, `read`'s, or any exception as Internal: the wall).
  absl::Status StageAndForward(
      std::span<const routing::Instance* const> instances, int N, int K, int executor,
      std::optional<at::ScalarType> autocast,
      const std::function<absl::Status(const c10::IValue& output, int rows)>& read);
  // ModelRunner::Run of the pointer model, under `autocast`.
  std::vector<absl::StatusOr<std::vector<Decoding>>> Decode(
      std::span<const routing::Instance* const> instances, int N, int K, int executor,
      std::optional<at::ScalarType> autocast);
  // ModelRunner::Score, under `autocast`.
  std::vector<absl::StatusOr<ScoredProblem>> Score(
      std::span<const routing::Instance* const> instances, int N, int starts, int executor,
      std::optional<at::ScalarType> autocast);
  // ModelRunner::Run, under `autocast`: the family's decodings.
  std::vector<absl::StatusOr<std::vector<Decoding>>> Run(
      std::span<const routing::Instance* const> instances, int padded_size, int decodings,
      int executor, std::optional<at::ScalarType> autocast);

  // The module from `files` (model.pt's checked bytes) on the device, its contract checked.
  absl::Status LoadModule(const std::string& model_dir, const ModelFiles& files);
  // The self-test in fp32: the recorded costs are fp32's, a precision is the operator's choice.
  absl::Status SelfTest(const std::string& model_dir, const ModelFiles& files);
};

std::vector<torch::Tensor> ModelRunner::Impl::HostInputs(ExecutorState& state, int rows, int N,
                                                         int K) const {
  FeatureBatch& f = state.features;
  const auto float32 = torch::TensorOptions().dtype(torch::kFloat32);
  std::vector<torch::Tensor> inputs = {
      torch::from_blob(f.nodes.data(), {rows, N, kNodeFeatures}, float32),
      torch::from_blob(f.pairs.data(), {rows, N}, torch::kInt64),
      torch::from_blob(f.padding.data(), {rows, N}, torch::kBool),
      torch::from_blob(f.courier.data(), {rows, kCourierFeatures}, float32),
      torch::from_blob(f.travel.data(), {rows, N + 1, N + 1}, float32)};
  if (metadata.family == ModelFamily::kPointer) {
    inputs.push_back(torch::from_blob(state.noise.data(), {rows, K, N}, float32));
  }
  return inputs;
}

c10::IValue ModelRunner::Impl::RunModule(const std::vector<torch::Tensor>& inputs,
                                         std::optional<at::ScalarType> autocast) {
  std::vector<c10::IValue> values(inputs.begin(), inputs.end());
  compat::AutocastGuard guard(device.type(), autocast);
  return module.forward(std::move(values));
}

DeviceShape& ModelRunner::Impl::StageOnDevice(ExecutorState& state, const ShapeKey& key,
                                              const std::vector<torch::Tensor>& host) {
  DeviceShape& shape = state.device_shapes[key];
  if (shape.device.empty()) {
    for (const torch::Tensor& input : host) {
      shape.device.push_back(torch::empty(input.sizes(), input.options().device(device)));
    }
  }
  // The previous batch's copies out of the host buffers are done: its outputs were read back
  // on this stream before it returned, so encoding the next batch over them was safe.
  for (size_t i = 0; i < host.size(); ++i) {
    shape.device[i].copy_(host[i], /*non_blocking=*/true);
  }
  return shape;
}

c10::IValue ModelRunner::Impl::Forward(ExecutorState& state, int rows, int N, int K,
                                       std::optional<at::ScalarType> autocast) {
  const std::vector<torch::Tensor> host = HostInputs(state, rows, N, K);
  if (device.is_cpu()) return RunModule(host, autocast);
  DeviceShape& shape = StageOnDevice(state, {rows, N, K}, host);
#if ROUTESERVE_HAS_CUDA_GRAPHS
  if (shape.graph != nullptr) {
    shape.graph->replay();
    return shape.graph_output;
  }
#endif
  return RunModule(shape.device, autocast);
}

absl::Status ModelRunner::Impl::Capture(int executor, const ShapeKey& key,
                                        std::optional<at::ScalarType> autocast) {
#if ROUTESERVE_HAS_CUDA_GRAPHS
  ExecutorState& state = *executors[executor];
  const auto found = state.device_shapes.find(key);
  if (found == state.device_shapes.end()) {
    return absl::FailedPreconditionError("the shape has not run on this executor");
  }
  DeviceShape& shape = found->second;
  compat::StreamGuard stream_guard(*state.stream);
  auto graph = std::make_unique<compat::Graph>();
  try {
    c10::InferenceMode inference;
    compat::AutocastCacheGuard no_cast_cache(false);
    compat::BeginCapture(*graph);
    c10::IValue output;
    try {
      output = RunModule(shape.device, autocast);
    } catch (...) {
      try {
        graph->capture_end();  // ends the stream's capture, which the error invalidated
      } catch (...) {
      }
      throw;
    }
    graph->capture_end();
    shape.graph_output = std::move(output);
    shape.graph = std::move(graph);
    return absl::OkStatus();
  } catch (...) {
    return FromException("CUDA graph capture failed", std::current_exception());
  }
#else
  (void)executor;
  (void)key;
  (void)autocast;
  return absl::UnimplementedError(absl::StrCat("LibTorch ", TORCH_VERSION,
                                               " was built without CUDA graphs"));
#endif
}

absl::Status ModelRunner::Impl::DecodingsOf(const c10::IValue& output, int rows, int N, int K,
                                            torch::Tensor& orders, torch::Tensor& scores) const {
  if (!output.isTuple() || output.toTupleRef().elements().size() != 2 ||
      !output.toTupleRef().elements()[0].isTensor() ||
      !output.toTupleRef().elements()[1].isTensor()) {
    return absl::DataLossError("model output: expected a tuple (orders, scores) of two tensors");
  }
  const torch::Tensor raw_orders = output.toTupleRef().elements()[0].toTensor();
  const torch::Tensor raw_scores = output.toTupleRef().elements()[1].toTensor();
  if (raw_orders.sizes() != at::IntArrayRef({rows, K, N}) ||
      raw_scores.sizes() != at::IntArrayRef({rows, K})) {
    return absl::DataLossError(absl::StrCat(
        "model output: orders ", c10::str(raw_orders.sizes()), " and scores ",
        c10::str(raw_scores.sizes()), ", expected [", rows, ", ", K, ", ", N, "] and [", rows,
        ", ", K, "]"));
  }
  const at::ScalarType order_type = raw_orders.scalar_type();
  if (c10::isFloatingType(order_type) || c10::isComplexType(order_type)) {
    return absl::DataLossError(absl::StrCat("model output: orders of dtype ",
                                            c10::toString(order_type),
                                            ", expected int64"));
  }
  orders = raw_orders.to(torch::kCPU, torch::kInt64).contiguous();
  scores = raw_scores.to(torch::kCPU, torch::kFloat32).contiguous();
  return absl::OkStatus();
}

absl::Status ModelRunner::Impl::EdgeScoresOf(const c10::IValue& output, int rows, int N,
                                             torch::Tensor& scores) const {
  if (!output.isTensor()) {
    return absl::DataLossError("model output: expected a tensor of edge scores");
  }
  const torch::Tensor raw = output.toTensor();
  if (raw.sizes() != at::IntArrayRef({rows, N + 1, N + 1})) {
    return absl::DataLossError(absl::StrCat("model output: scores ", c10::str(raw.sizes()),
                                            ", expected [", rows, ", ", N + 1, ", ", N + 1,
                                            "]"));
  }
  if (!c10::isFloatingType(raw.scalar_type())) {
    return absl::DataLossError(absl::StrCat("model output: scores of dtype ",
                                            c10::toString(raw.scalar_type()),
                                            ", expected a floating type"));
  }
  scores = raw.to(torch::kCPU, torch::kFloat32).contiguous();
  return absl::OkStatus();
}

absl::StatusOr<int> ModelRunner::Impl::Stage(std::span<const routing::Instance* const> instances,
                                             int N, int K, int executor) {
  if (executor < 0 || executor >= static_cast<int>(executors.size())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "model: executor ", executor, " out of range (", executors.size(), " executors)"));
  }
  if (K < 1 || K > kMaxDecodings) {
    return absl::InvalidArgumentError(
        absl::StrCat("model: ", K, " decodings, expected 1..", kMaxDecodings));
  }
  if (N > metadata.max_stops) {
    return absl::InvalidArgumentError(absl::StrCat(
        "model: padded size ", N, " above the model's max_stops ", metadata.max_stops));
  }
  ExecutorState& state = *executors[executor];
  if (absl::Status encoded = EncodeFeatures(instances, N, state.features); !encoded.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("model: ", encoded.message()));
  }
  const int rows = BatchClassFor(static_cast<int>(instances.size()), options.max_batch_size);
  RepeatFirstProblem(state.features, rows);
  if (metadata.family == ModelFamily::kPointer) {
    GumbelNoise(instances, N, K, state.noise);
    const size_t noise_row = static_cast<size_t>(K) * N;
    state.noise.resize(static_cast<size_t>(rows) * noise_row);
    for (size_t row = instances.size(); row < static_cast<size_t>(rows); ++row) {
      std::copy_n(state.noise.begin(), noise_row, state.noise.begin() + row * noise_row);
    }
  }
  return rows;
}

absl::Status ModelRunner::Impl::StageAndForward(
    std::span<const routing::Instance* const> instances, int N, int K, int executor,
    std::optional<at::ScalarType> autocast,
    const std::function<absl::Status(const c10::IValue& output, int rows)>& read) {
  const absl::StatusOr<int> rows = Stage(instances, N, K, executor);
  if (!rows.ok()) return rows.status();
  ExecutorState& state = *executors[executor];
  try {
#if ROUTESERVE_HAS_CUDA_STREAMS
    // The forward pass and the copy of its output to the host, both on the executor's stream:
    // the copy waits for the forward pass, and the next batch for the copy.
    std::optional<compat::StreamGuard> stream_guard;
    if (state.stream.has_value()) stream_guard.emplace(*state.stream);
#endif
    c10::InferenceMode inference;
    return read(Forward(state, *rows, N, K, autocast), *rows);
  } catch (...) {
    return FromException("model: forward failed", std::current_exception());
  }
}

std::vector<absl::StatusOr<std::vector<Decoding>>> ModelRunner::Impl::Decode(
    std::span<const routing::Instance* const> instances, int N, int K, int executor,
    std::optional<at::ScalarType> autocast) {
  using Result = absl::StatusOr<std::vector<Decoding>>;
  const int B = static_cast<int>(instances.size());
  torch::Tensor orders;
  torch::Tensor scores;
  const absl::Status forward = StageAndForward(
      instances, N, K, executor, autocast, [&](const c10::IValue& output, int rows) {
        return DecodingsOf(output, rows, N, K, orders, scores);
      });
  if (!forward.ok()) return std::vector<Result>(B, forward);

  std::vector<Result> results;
  results.reserve(B);
  const int64_t* order_data = orders.data_ptr<int64_t>();
  const float* score_data = scores.data_ptr<float>();
  for (int b = 0; b < B; ++b) {
    const int n = instances[b]->num_stops();
    Result decoded = CheckedDecodings(*instances[b], order_data + static_cast<size_t>(b) * K * N,
                                      score_data + static_cast<size_t>(b) * K, K, N);
    if (!decoded.ok()) {
      decoded = absl::Status(decoded.status().code(),
                             absl::StrCat("model: invalid decoding of a problem of ", n,
                                          " stops: ", decoded.status().message()));
    }
    results.push_back(std::move(decoded));
  }
  return results;
}

std::vector<absl::StatusOr<ScoredProblem>> ModelRunner::Impl::Score(
    std::span<const routing::Instance* const> instances, int N, int starts, int executor,
    std::optional<at::ScalarType> autocast) {
  using Result = absl::StatusOr<ScoredProblem>;
  const int B = static_cast<int>(instances.size());
  if (metadata.family != ModelFamily::kEdges) {
    return std::vector<Result>(B, absl::InvalidArgumentError(absl::StrCat(
                                      "model: a ", ModelFamilyName(metadata.family),
                                      " model has no edge scores")));
  }
  torch::Tensor scores;
  const absl::Status forward = StageAndForward(
      instances, N, starts, executor, autocast, [&](const c10::IValue& output, int rows) {
        return EdgeScoresOf(output, rows, N, scores);
      });
  if (!forward.ok()) return std::vector<Result>(B, forward);

  std::vector<Result> results;
  results.reserve(B);
  const size_t side = static_cast<size_t>(N) + 1;
  const float* data = scores.data_ptr<float>();
  for (int b = 0; b < B; ++b) {
    results.push_back(ScoredProblemOf(*instances[b],
                                      std::span<const float>(data + b * side * side,
                                                             side * side),
                                      static_cast<int>(side), starts));
  }
  return results;
}

std::vector<absl::StatusOr<std::vector<Decoding>>> ModelRunner::Impl::Run(
    std::span<const routing::Instance* const> instances, int padded_size, int decodings,
    int executor, std::optional<at::ScalarType> autocast) {
  if (instances.empty()) return {};
  if (metadata.family == ModelFamily::kPointer) {
    return Decode(instances, padded_size, decodings, executor, autocast);
  }
  std::vector<absl::StatusOr<std::vector<Decoding>>> results;
  for (absl::StatusOr<ScoredProblem>& scored :
       Score(instances, padded_size, decodings, executor, autocast)) {
    if (scored.ok()) {
      results.push_back(std::move(scored->starts));
    } else {
      results.push_back(scored.status());
    }
  }
  return results;
}

absl::Status ModelRunner::Impl::LoadModule(const std::string& model_dir,
                                           const ModelFiles& files) {
  const std::string model_file = (std::filesystem::path(model_dir) / kModelFileName).string();
  try {
    std::istringstream bytes(files.module_bytes);
    module = torch::jit::load(bytes, device);
    module.eval();
  } catch (...) {
    return FromException(absl::StrCat(model_file, ": cannot be loaded"), std::current_exception());
  }
  absl::StatusOr<std::map<std::string, int64_t>> contract = ModuleContract(module, model_file);
  if (!contract.ok()) return contract.status();
  return CheckModuleContract(*contract, metadata, model_file);
}

absl::Status ModelRunner::Impl::SelfTest(const std::string& model_dir, const ModelFiles& files) {
  const DecodeFn decode = [this](const routing::Instance& instance, int padded_size,
                                 int decodings) -> absl::StatusOr<std::vector<Decoding>> {
    const routing::Instance* one[] = {&instance};
    return std::move(Run(one, padded_size, decodings, /*executor=*/0, std::nullopt).front());
  };
  return RunSelfTest(files.selftest, metadata.objective,
                     (std::filesystem::path(model_dir) / kSelfTestFileName).string(), decode);
}

ModelRunner::ModelRunner(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ModelRunner::~ModelRunner() = default;

absl::StatusOr<std::unique_ptr<ModelRunner>> ModelRunner::Load(const std::string& model_dir,
                                                               const ModelRunnerOptions& options) {
  if (options.executors < 1 || options.max_batch_size < 1 || options.threads < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("model: executors (", options.executors, ") and max batch size (",
                     options.max_batch_size, ") must be >= 1, threads (", options.threads,
                     ") >= 0"));
  }
  absl::StatusOr<ModelFiles> files = ReadModelFiles(model_dir);
  if (!files.ok()) return files.status();
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->metadata = files->metadata;
  impl->version = files->version;
  impl->warnings = ObjectiveDifferences(impl->metadata.objective, options.objective);

  absl::StatusOr<c10::Device> device = PickDevice(options.device);
  if (!device.ok()) return device.status();
  impl->device = *device;
  absl::StatusOr<std::optional<at::ScalarType>> autocast =
      PickAutocast(options.precision, impl->device);
  if (!autocast.ok()) return autocast.status();
  impl->autocast_dtype = *autocast;
  if (options.cuda_graphs == CudaGraphs::kOn &&
      (!impl->device.is_cuda() || !ROUTESERVE_HAS_CUDA_GRAPHS)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "model.cuda_graphs: on needs a CUDA device and a LibTorch with CUDA graphs; the model "
        "runs on ", impl->device.str(), " with LibTorch ", TORCH_VERSION,
        ROUTESERVE_HAS_CUDA_GRAPHS ? "" : " (no CUDA graphs)"));
  }
  if (absl::Status loaded = impl->LoadModule(model_dir, *files); !loaded.ok()) return loaded;

  // Process-wide; executor threads pick it up on their first parallel region.
  impl->threads = options.threads > 0 ? options.threads : OnePerCore();
  at::set_num_threads(impl->threads);
  SizeBlasThreadPool(impl->threads);

  for (int e = 0; e < options.executors; ++e) {
    auto state = std::make_unique<ExecutorState>(
        impl->device.is_cuda() ? std::make_unique<PinnedMemory>() : nullptr);
#if ROUTESERVE_HAS_CUDA_STREAMS
    if (impl->device.is_cuda()) state->stream = compat::StreamForExecutor(impl->device);
#endif
    impl->executors.push_back(std::move(state));
  }
  if (absl::Status passed = impl->SelfTest(model_dir, *files); !passed.ok()) return passed;
  return std::unique_ptr<ModelRunner>(new ModelRunner(std::move(impl)));
}

std::vector<absl::StatusOr<std::vector<Decoding>>> ModelRunner::Run(
    std::span<const routing::Instance* const> instances, int padded_size, int decodings,
    int executor) {
  return impl_->Run(instances, padded_size, decodings, executor, impl_->autocast_dtype);
}

std::vector<absl::StatusOr<ScoredProblem>> ModelRunner::Score(
    std::span<const routing::Instance* const> instances, int padded_size, int starts,
    int executor) {
  if (instances.empty()) return {};
  return impl_->Score(instances, padded_size, starts, executor, impl_->autocast_dtype);
}

absl::StatusOr<WarmupReport> ModelRunner::Warmup(std::span<const int> buckets, int decodings) {
  std::set<int> sizes;
  for (const int bucket : buckets) sizes.insert(PaddedSizeFor(bucket));
  WarmupReport report;
  // On the CPU every executor's thread runs the one optimised graph: executor 0 warms it. On
  // CUDA each executor has its own stream, buffers and graphs: each warms its own.
  const int warmed_executors =
      impl_->device.is_cuda() ? static_cast<int>(impl_->executors.size()) : 1;
  const bool capture =
      impl_->device.is_cuda() && impl_->options.cuda_graphs != CudaGraphs::kOff;
  impl_->graphs = {};
  const absl::Time start = absl::Now();
  for (const int N : sizes) {
    // One generated problem of N stops, repeated: the shapes are what matter.
    routing::GeneratorOptions generator;
    generator.num_stops = N;
    absl::StatusOr<routing::Instance> instance = routing::Instance::Build(
        routing::GenerateProblem(generator, kWarmupSeed, impl_->options.objective),
        impl_->options.objective);
    if (!instance.ok()) return instance.status();
    for (const int batch : BatchClasses(impl_->options.max_batch_size)) {
      const std::vector<const routing::Instance*> instances(batch, &*instance);
      for (int executor = 0; executor < warmed_executors; ++executor) {
        const auto where = [&] {
          return absl::StrCat("at N ", N, ", batch ", batch, " (",
                              PrecisionName(impl_->options.precision), " on ", device(),
                              ", executor ", executor, ")");
        };
        // The warm-up runs, then, with graphs, one more that replays the graph just captured.
        for (int run = 0; run < kWarmupRunsPerShape + (capture ? 1 : 0); ++run) {
          if (run == kWarmupRunsPerShape) {
            const int rows = BatchClassFor(batch, impl_->options.max_batch_size);
            const absl::Status captured =
                impl_->Capture(executor, {rows, N, decodings}, impl_->autocast_dtype);
            if (!captured.ok()) {
              if (impl_->options.cuda_graphs == CudaGraphs::kOn) {
                return absl::Status(captured.code(),
                                    absl::StrCat("model.cuda_graphs: on, but the capture ",
                                                 where(), " failed: ", captured.message()));
              }
              ++impl_->graphs.failed;
              if (impl_->graphs.first_failure.empty()) {
                impl_->graphs.first_failure = absl::StrCat(where(), ": ", captured.message());
              }
              break;  // this shape runs eagerly
            }
            ++impl_->graphs.captured;
          }
          const absl::Time run_start = absl::Now();
          std::vector<absl::StatusOr<std::vector<Decoding>>> results =
              Run(instances, N, decodings, executor);
          const absl::Duration elapsed = absl::Now() - run_start;
          for (const auto& result : results) {
            if (!result.ok()) {
              return absl::Status(result.status().code(),
                                  absl::StrCat("model warm-up ", where(),
                                               run == kWarmupRunsPerShape ? " (CUDA graph)" : "",
                                               ": ", result.status().message()));
            }
          }
          ++report.forward_passes;
          if (elapsed > report.slowest) {
            report.slowest = elapsed;
            report.slowest_padded_size = N;
            report.slowest_batch = batch;
          }
        }
      }
      ++report.shapes;
      report.shapes_run.emplace_back(N, batch);
    }
  }
  report.total = absl::Now() - start;
  report.graphs = impl_->graphs;
  return report;
}

CudaGraphCounts ModelRunner::cuda_graphs() const { return impl_->graphs; }

const std::string& ModelRunner::model_version() const { return impl_->version; }
const ModelMetadata& ModelRunner::metadata() const { return impl_->metadata; }
const std::vector<std::string>& ModelRunner::warnings() const { return impl_->warnings; }
std::string ModelRunner::device() const { return impl_->device.str(); }
Precision ModelRunner::precision() const { return impl_->options.precision; }
int ModelRunner::threads() const { return impl_->threads; }
int ModelRunner::max_batch_size() const { return impl_->options.max_batch_size; }

int ModelRunner::PaddedSizeFor(int bucket) const {
  return std::min(bucket, impl_->metadata.max_stops);
}

std::optional<int64_t> ModelRunner::CudaAllocatedBytes() const {
  if (!impl_->device.is_cuda()) return std::nullopt;
  return compat::CudaAllocatedBytes(impl_->device.index());
}

int ModelRunner::CudaDeviceCount() {
  return torch::cuda::is_available() ? static_cast<int>(torch::cuda::device_count()) : 0;
}

std::vector<int> ModelRunner::BatchClasses(int max_batch_size) {
  std::vector<int> classes;
  for (int size = 1; size < max_batch_size; size *= 2) classes.push_back(size);
  classes.push_back(std::max(max_batch_size, 1));
  return classes;
}

int ModelRunner::BatchClassFor(int batch_size, int max_batch_size) {
  if (batch_size >= max_batch_size) return batch_size;
  int size = 1;
  while (size < batch_size) size *= 2;
  return std::min(size, max_batch_size);
}

}  // namespace routeserve::model
