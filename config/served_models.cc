// ServedModels (config/served_models.h): the vehicle types' settings resolved against the
// default model's, grouped by model name.
#include "config/served_models.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace routeserve::config {
namespace {

std::string TypeName(routing::VehicleType type) {
  return std::string(routing::VehicleTypeName(type));
}

std::string TypeKey(int type, absl::string_view setting) {
  return absl::StrCat("model.by_vehicle_type.", TypeName(static_cast<routing::VehicleType>(type)),
                      ".", setting);
}

bool AnySet(const Config::Model::VehicleModel& vehicle) {
  return !vehicle.name.empty() || vehicle.version != 0 || vehicle.device.has_value() ||
         vehicle.precision.has_value() || vehicle.decodings != 0 || vehicle.executors != 0;
}

// `base` with the settings of `vehicle` that are set.
Config Resolved(const Config& base, const Config::Model::VehicleModel& vehicle) {
  Config config = base;
  if (!vehicle.name.empty() && vehicle.name != base.model.name) {
    config.model.name = vehicle.name;
    config.model.version = 0;
    config.model.shadow_version = 0;
  }
  if (vehicle.version != 0) config.model.version = vehicle.version;
  if (vehicle.device.has_value()) config.model.device = *vehicle.device;
  if (vehicle.precision.has_value()) config.model.precision = *vehicle.precision;
  if (vehicle.decodings != 0) config.model.decodings = vehicle.decodings;
  if (vehicle.executors != 0) config.batching.executors = vehicle.executors;
  return config;
}

// The first setting in which `a` and `b` differ, "" when none does.
std::string DifferingSetting(const Config& a, const Config& b) {
  if (a.model.version != b.model.version) return "version";
  if (!(a.model.device == b.model.device)) return "device";
  if (a.model.precision != b.model.precision) return "precision";
  if (a.model.decodings != b.model.decodings) return "decodings";
  if (a.batching.executors != b.batching.executors) return "executors";
  return "";
}

}  // namespace

absl::StatusOr<std::vector<ServedModel>> ServedModels(const Config& config) {
  std::vector<ServedModel> served;
  served.push_back({.name = config.model.name, .config = config, .is_default = true});
  for (int type = 0; type < routing::kNumVehicleTypes; ++type) {
    const Config::Model::VehicleModel& vehicle = config.model.by_vehicle_type[type];
    const auto vehicle_type = static_cast<routing::VehicleType>(type);
    if (!AnySet(vehicle)) {
      served.front().vehicle_types.push_back(vehicle_type);
      continue;
    }
    if (config.model.repository.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          TypeKey(type, "name"),
          ": models by vehicle type come from model.repository, which is empty"));
    }
    const std::string name = vehicle.name.empty() ? config.model.name : vehicle.name;
    const Config resolved = Resolved(config, vehicle);
    auto same_name = std::find_if(served.begin(), served.end(),
                                  [&](const ServedModel& model) { return model.name == name; });
    if (same_name == served.end()) {
      served.push_back({.name = name, .vehicle_types = {vehicle_type}, .config = resolved});
      continue;
    }
    if (const std::string setting = DifferingSetting(resolved, same_name->config);
        !setting.empty()) {
      const std::string other =
          same_name->is_default
              ? absl::StrCat("is the default model, whose ", setting, " (model.*) differs")
              : absl::StrCat("also serves vehicle type ",
                             TypeName(same_name->vehicle_types.front()),
                             ", with another ", setting);
      return absl::InvalidArgumentError(absl::StrCat(
          TypeKey(type, setting), ": model \"", name, "\" ", other,
          "; a model runs one way: give both the same ", setting,
          ", or this vehicle type a model of its own (", TypeKey(type, "name"), ")"));
    }
    same_name->vehicle_types.push_back(vehicle_type);
  }
  // The default model answers no vehicle type when every type names one of its own.
  if (served.front().vehicle_types.empty() && served.size() > 1) served.erase(served.begin());
  return served;
}

}  // namespace routeserve::config
