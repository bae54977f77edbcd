// ServedModels: the models a config serves, one per distinct model name, each with the vehicle
// types it answers and the config it runs under (docs/MODEL.md, Models by vehicle type).
//
// WITHOUT model.by_vehicle_type: one, the config itself, answering every vehicle type (model.path,
//   model.repository's model.name, or no model at all: the classical solver).
// WITH IT: model.by_vehicle_type.<type>.name sends that vehicle type to another model of
//   model.repository; a type without a name goes to the default model (model.name). Each model
//   gets the config with its own model.name, model.version, model.device, model.precision,
//   model.decodings and batching.executors: the type's settings where set, else the default
//   model's. Only the default model has a shadow (model.shadow_version).
// ERRORS (InvalidArgument naming the key): a setting under model.by_vehicle_type without
//   model.repository; two vehicle types (or a type and the default model) naming one model
//   with different settings: one model runs one way.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "config/config.h"
#include "routing/problem.h"

namespace routeserve::config {

struct ServedModel {
  std::string name;  // model.name (empty for model.path or no model)
  std::vector<routing::VehicleType> vehicle_types;  // those it answers, in enum order
  Config config;  // what it runs under: model.* and batching.executors its own
  bool is_default = false;  // answers the vehicle types without a model of their own
};

// The default model first, then the others in the order of the first vehicle type naming them.
absl::StatusOr<std::vector<ServedModel>> ServedModels(const Config& config);

}  // namespace routeserve::config
