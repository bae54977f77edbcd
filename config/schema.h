// The config's schema (config/schema.cc): every section and key of config/routeserve.yaml, in
// its order, with the key's type, range and the field of Config it sets. What reads, checks and
// writes the config (config/config.cc) walks it.
#pragma once

#include <vector>

#include "config/config_keys.h"

namespace routeserve::config {

// The smallest limits.max_message_bytes other than 0 (which derives it).
inline constexpr int kMinMessageBytes = 1024;

const std::vector<keys::ConfigEntry>& Schema();

}  // namespace routeserve::config
