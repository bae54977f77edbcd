// The config's schema: every section and key, with its type, range and field.
#include "config/schema.h"

#include <cstdint>
#include <string>

#include "routing/objective.h"
#include "routing/validation.h"

namespace routeserve::config {
namespace {

using keys::AddressKey;
using keys::BoolKey;
using keys::ConfigEntry;
using keys::IntegerKey;
using keys::IntegerListKey;
using keys::ListOrder;
using keys::MicrosecondsKey;
using keys::NumberKey;
using keys::SecondsKey;
using keys::Section;
using keys::StringKey;
using keys::TextKey;


// Ranges stated in config/routeserve.yaml.
constexpr int kMaxStopsLimit = 1024;  // limits.max_stops and each of batching.buckets
constexpr int kMaxBatchSize = 4096;
constexpr int64_t kMaxQueueDelayUs = 10'000'000;
constexpr double kMaxDetourFactor = 5;
constexpr double kMaxSpeedMps = 60;
// Lateness and waiting cost at most this many seconds of travel per second: far beyond any
// useful trade, and small enough that costs of the longest routes stay finite.
constexpr double kMaxCostWeight = 1e6;
constexpr double kMaxGpuSamplePeriodS = 3600;
constexpr double kMaxExecutorStuckAfterS = 3600;
constexpr int kMaxStreamOutstanding = 65536;
// A captured line holds a whole request (217 KiB at 128 stops): a file must hold a few.
constexpr int64_t kMinCaptureFileBytes = 1 << 20;

std::vector<ConfigEntry> SpeedKeys() {
  std::vector<ConfigEntry> keys;
  for (int type = 0; type < routing::kNumVehicleTypes; ++type) {
    keys.push_back(
        NumberKey(std::string(routing::VehicleTypeName(static_cast<routing::VehicleType>(type))),
                  [type](auto& c) -> auto& { return c.objective.speed_mps[type]; },
                  {.min = routing::kMinSpeedMps, .max = kMaxSpeedMps}));
  }
  return keys;
}

// A text key whose empty value means "the default model's": the field is a std::optional.
template <typename Field, typename Parse, typename Format>
ConfigEntry OptionalTextKey(std::string name, Field field, Parse parse, Format format) {
  using Value = typename keys::FieldType<Field>::value_type;
  return TextKey(
      std::move(name), field,
      [parse](absl::string_view text) -> absl::StatusOr<std::optional<Value>> {
        if (text.empty()) return std::nullopt;
        absl::StatusOr<Value> value = parse(text);
        if (!value.ok()) return value.status();
        return *std::move(value);
      },
      [format](const std::optional<Value>& value) {
        return value.has_value() ? std::string(format(*value)) : std::string();
      });
}

// model.by_vehicle_type.<type>: its model and that model's own settings.
std::vector<ConfigEntry> VehicleModelSections() {
  std::vector<ConfigEntry> sections;
  for (int type = 0; type < routing::kNumVehicleTypes; ++type) {
    auto of = [type](auto& c) -> auto& { return c.model.by_vehicle_type[type]; };
    sections.push_back(Section(
        std::string(routing::VehicleTypeName(static_cast<routing::VehicleType>(type))),
        {
            StringKey("name", [of](auto& c) -> auto& { return of(c).name; }),
            IntegerKey(
                "version", [of](auto& c) -> auto& { return of(c).version; },
                /*min=*/int64_t{0}),
            OptionalTextKey(
                "device", [of](auto& c) -> auto& { return of(c).device; },
                model::ParseDeviceSpec, model::DeviceSpecName),
            OptionalTextKey(
                "precision", [of](auto& c) -> auto& { return of(c).precision; },
                model::ParsePrecision, model::PrecisionName),
            IntegerKey(
                "decodings", [of](auto& c) -> auto& { return of(c).decodings; },
                /*min=*/0, /*max=*/model::kMaxDecodings),
            IntegerKey(
                "executors", [of](auto& c) -> auto& { return of(c).executors; }, /*min=*/0),
        }));
  }
  return sections;
}

}  // namespace

// One table, as long as the file it mirrors: a key per entry, in the file's order.
const std::vector<ConfigEntry>& Schema() {
  static const auto* const schema = new std::vector<ConfigEntry>{
      Section("server",
              {
                  AddressKey(
                      "address", [](auto& c) -> auto& { return c.server.address; }),
                  IntegerKey(
                      "worker_threads", [](auto& c) -> auto& { return c.server.worker_threads; },
                      /*min=*/0),
                  SecondsKey("max_connection_age_s",
                             [](auto& c) -> auto& { return c.server.max_connection_age; },
                             {.min = 0}),
                  Section("tls",
                          {
                              StringKey("cert_file",
                                        [](auto& c) -> auto& { return c.server.tls.cert_file; }),
                              StringKey("key_file",
                                        [](auto& c) -> auto& { return c.server.tls.key_file; }),
                              StringKey(
                                  "client_ca_file",
                                  [](auto& c) -> auto& { return c.server.tls.client_ca_file; }),
                          }),
              }),
      Section("limits",
              {
                  IntegerKey(
                      "max_stops", [](auto& c) -> auto& { return c.limits.max_stops; }, /*min=*/1,
                      /*max=*/kMaxStopsLimit),
                  IntegerKey(
                      "max_message_bytes",
                      [](auto& c) -> auto& { return c.limits.max_message_bytes; },
                      /*min=*/0),
                  IntegerKey(
                      "max_stream_messages",
                      [](auto& c) -> auto& { return c.limits.max_stream_messages; },
                      /*min=*/int64_t{0}),
                  IntegerKey(
                      "max_stream_outstanding",
                      [](auto& c) -> auto& { return c.limits.max_stream_outstanding; },
                      /*min=*/1, /*max=*/kMaxStreamOutstanding),
                  IntegerKey(
                      "max_concurrent_streams",
                      [](auto& c) -> auto& { return c.limits.max_concurrent_streams; },
                      /*min=*/0),
              }),
      Section("batching",
              {
                  IntegerListKey(
                      "buckets", [](auto& c) -> auto& { return c.batching.buckets; }, /*min=*/1,
                      /*max=*/kMaxStopsLimit, ListOrder::kStrictlyAscending),
                  IntegerKey(
                      "max_batch_size", [](auto& c) -> auto& { return c.batching.max_batch_size; },
                      /*min=*/1, /*max=*/kMaxBatchSize),
                  MicrosecondsKey(
                      "max_queue_delay_us",
                      [](auto& c) -> auto& { return c.batching.max_queue_delay; }, /*min_us=*/0,
                      /*max_us=*/kMaxQueueDelayUs),
                  IntegerKey(
                      "max_queue_size", [](auto& c) -> auto& { return c.batching.max_queue_size; },
                      /*min=*/1),
                  BoolKey("admit_by_deadline",
                          [](auto& c) -> auto& { return c.batching.admit_by_deadline; }),
                  IntegerKey(
                      "executors", [](auto& c) -> auto& { return c.batching.executors; },
                      /*min=*/0),
                  SecondsKey("executor_stuck_after_s",
                             [](auto& c) -> auto& { return c.batching.executor_stuck_after; },
                             {.min = 0, .max = kMaxExecutorStuckAfterS}),
              }),
      Section(
          "objective",
          {
              NumberKey("lateness_weight",
                        [](auto& c) -> auto& { return c.objective.lateness_weight; },
                        {.min = 0, .max = kMaxCostWeight}),
              NumberKey("waiting_weight",
                        [](auto& c) -> auto& { return c.objective.waiting_weight; },
                        {.min = 0, .max = kMaxCostWeight}),
              NumberKey("detour_factor", [](auto& c) -> auto& { return c.objective.detour_factor; },
                        {.min = 1, .max = kMaxDetourFactor}),
              Section("speed_mps", SpeedKeys()),
          }),
      Section("solver",
              {
                  IntegerKey(
                      "max_moves", [](auto& c) -> auto& { return c.solver.max_moves; },
                      /*min=*/int64_t{0}),
                  IntegerKey(
                      "perturbation_rounds",
                      [](auto& c) -> auto& { return c.solver.perturbation_rounds; },
                      /*min=*/int64_t{0}),
                  IntegerKey(
                      "max_evaluations", [](auto& c) -> auto& { return c.solver.max_evaluations; },
                      /*min=*/int64_t{0}),
                  IntegerKey(
                      "candidates", [](auto& c) -> auto& { return c.solver.candidates_k; },
                      /*min=*/0),
                  IntegerKey(
                      "seed", [](auto& c) -> auto& { return c.solver.seed; }, /*min=*/uint64_t{0}),
              }),
      Section("model",
              {
                  StringKey("path", [](auto& c) -> auto& { return c.model.path; }),
                  StringKey("repository", [](auto& c) -> auto& { return c.model.repository; }),
                  StringKey("name", [](auto& c) -> auto& { return c.model.name; }),
                  IntegerKey(
                      "version", [](auto& c) -> auto& { return c.model.version; },
                      /*min=*/int64_t{0}),
                  IntegerKey(
                      "shadow_version", [](auto& c) -> auto& { return c.model.shadow_version; },
                      /*min=*/int64_t{-1}),
                  NumberKey("shadow_ratio",
                            [](auto& c) -> auto& { return c.model.shadow_ratio; },
                            {.min = 0, .max = 1}),
                  TextKey(
                      "device", [](auto& c) -> auto& { return c.model.device; },
                      model::ParseDeviceSpec, model::DeviceSpecName),
                  TextKey(
                      "precision", [](auto& c) -> auto& { return c.model.precision; },
                      model::ParsePrecision,
                      [](model::Precision p) { return std::string(model::PrecisionName(p)); }),
                  TextKey(
                      "cuda_graphs", [](auto& c) -> auto& { return c.model.cuda_graphs; },
                      model::ParseCudaGraphs,
                      [](model::CudaGraphs g) { return std::string(model::CudaGraphsName(g)); }),
                  IntegerKey(
                      "decodings", [](auto& c) -> auto& { return c.model.decodings; },
                      /*min=*/1, /*max=*/model::kMaxDecodings),
                  IntegerKey(
                      "candidates", [](auto& c) -> auto& { return c.model.candidates; },
                      /*min=*/0),
                  IntegerKey(
                      "threads", [](auto& c) -> auto& { return c.model.threads; }, /*min=*/0),
                  Section("by_vehicle_type", VehicleModelSections()),
              }),
      Section("refine",
              {
                  IntegerKey(
                      "max_moves", [](auto& c) -> auto& { return c.refine.max_moves; },
                      /*min=*/int64_t{0}),
                  IntegerKey(
                      "perturbation_rounds",
                      [](auto& c) -> auto& { return c.refine.perturbation_rounds; },
                      /*min=*/int64_t{0}),
              }),
      Section("metrics",
              {
                  AddressKey(
                      "address", [](auto& c) -> auto& { return c.metrics.address; }),
                  SecondsKey("gpu_sample_period_s",
                             [](auto& c) -> auto& { return c.metrics.gpu_sample_period; },
                             {.min = 0, .max = kMaxGpuSamplePeriodS}),
              }),
      Section("capture",
              {
                  StringKey("path", [](auto& c) -> auto& { return c.capture.path; }),
                  NumberKey("sample_ratio",
                            [](auto& c) -> auto& { return c.capture.sample_ratio; },
                            {.min = 0, .max = 1}),
                  IntegerKey(
                      "max_file_bytes", [](auto& c) -> auto& { return c.capture.max_file_bytes; },
                      /*min=*/int64_t{kMinCaptureFileBytes}),
              }),
      Section("shutdown",
              {
                  SecondsKey("drain_delay_s",
                             [](auto& c) -> auto& { return c.shutdown.drain_delay; }, {.min = 0}),
                  SecondsKey("grace_period_s",
                             [](auto& c) -> auto& { return c.shutdown.grace_period; }, {.min = 0}),
              }),
  };
  return *schema;
}

}  // namespace routeserve::config
