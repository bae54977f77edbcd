// FieldReader: required and optional values of a parsed YAML (or JSON) document, each error
// naming "source: dotted.key: what is wrong", for model.yaml (model/metadata.h) and the
// self-test (model/selftest.h). yaml-cpp is private to routeserve_model: include this header
// from its .cc files only.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace routeserve::model {

// "an empty value", "a map", "a list" or the scalar in quotes: what a wrong value was.
std::string DescribeNode(const YAML::Node& node);

class FieldReader {
 public:
  explicit FieldReader(std::string source) : source_(std::move(source)) {}

  // map[key]; InvalidArgument "source: dotted: missing" when absent or null.
  absl::StatusOr<YAML::Node> Get(const YAML::Node& map, const std::string& key,
                                 const std::string& dotted) const;
  // A map (or a list) at map[key].
  absl::StatusOr<YAML::Node> Map(const YAML::Node& map, const std::string& key,
                                 const std::string& dotted) const;
  absl::StatusOr<YAML::Node> List(const YAML::Node& map, const std::string& key,
                                  const std::string& dotted) const;
  // An integer in [min, max].
  absl::StatusOr<int64_t> Integer(const YAML::Node& map, const std::string& key,
                                  const std::string& dotted, int64_t min,
                                  int64_t max = INT64_MAX) const;
  // A finite number.
  absl::StatusOr<double> Number(const YAML::Node& map, const std::string& key,
                                const std::string& dotted) const;
  absl::StatusOr<double> Number(const YAML::Node& node, const std::string& dotted) const;
  absl::StatusOr<std::string> String(const YAML::Node& map, const std::string& key,
                                     const std::string& dotted) const;

  absl::Status Error(const std::string& dotted, const std::string& message) const;
  const std::string& source() const { return source_; }

 private:
  const std::string source_;
};

// True when map[key] is present and not null.
bool HasField(const YAML::Node& map, const std::string& key);

}  // namespace routeserve::model
