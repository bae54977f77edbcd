// FieldReader: typed values of a yaml-cpp document, with errors that name the key.
#include "model/yaml_fields.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace routeserve::model {

std::string DescribeNode(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return "an empty value";
  if (node.IsMap()) return "a map";
  if (node.IsSequence()) return "a list";
  return absl::StrCat("\"", node.Scalar(), "\"");
}

bool HasField(const YAML::Node& map, const std::string& key) {
  const YAML::Node node = map[key];
  return node.IsDefined() && !node.IsNull();
}

absl::StatusOr<YAML::Node> FieldReader::Get(const YAML::Node& map, const std::string& key,
                                            const std::string& dotted) const {
  const YAML::Node node = map[key];
  if (!node.IsDefined() || node.IsNull()) return Error(dotted, "missing");
  return node;
}

absl::StatusOr<YAML::Node> FieldReader::Map(const YAML::Node& map, const std::string& key,
                                            const std::string& dotted) const {
  absl::StatusOr<YAML::Node> node = Get(map, key, dotted);
  if (node.ok() && !node->IsMap()) {
    return Error(dotted, absl::StrCat("expected a map, got ", DescribeNode(*node)));
  }
  return node;
}

absl::StatusOr<YAML::Node> FieldReader::List(const YAML::Node& map, const std::string& key,
                                             const std::string& dotted) const {
  absl::StatusOr<YAML::Node> node = Get(map, key, dotted);
  if (node.ok() && !node->IsSequence()) {
    return Error(dotted, absl::StrCat("expected a list, got ", DescribeNode(*node)));
  }
  return node;
}

absl::StatusOr<int64_t> FieldReader::Integer(const YAML::Node& map, const std::string& key,
                                             const std::string& dotted, int64_t min,
                                             int64_t max) const {
  absl::StatusOr<YAML::Node> node = Get(map, key, dotted);
  if (!node.ok()) return node.status();
  int64_t value = 0;
  if (!node->IsScalar() || !YAML::convert<int64_t>::decode(*node, value)) {
    return Error(dotted, absl::StrCat("expected an integer, got ", DescribeNode(*node)));
  }
  if (value < min) return Error(dotted, absl::StrCat("must be >= ", min, ", got ", value));
  if (value > max) return Error(dotted, absl::StrCat("must be <= ", max, ", got ", value));
  return value;
}

absl::StatusOr<double> FieldReader::Number(const YAML::Node& node,
                                           const std::string& dotted) const {
  double value = 0;
  if (!node.IsScalar() || !YAML::convert<double>::decode(node, value) || !std::isfinite(value)) {
    return Error(dotted, absl::StrCat("expected a number, got ", DescribeNode(node)));
  }
  return value;
}

absl::StatusOr<double> FieldReader::Number(const YAML::Node& map, const std::string& key,
                                           const std::string& dotted) const {
  absl::StatusOr<YAML::Node> node = Get(map, key, dotted);
  if (!node.ok()) return node.status();
  return Number(*node, dotted);
}

absl::StatusOr<std::string> FieldReader::String(const YAML::Node& map, const std::string& key,
                                                const std::string& dotted) const {
  absl::StatusOr<YAML::Node> node = Get(map, key, dotted);
  if (!node.ok()) return node.status();
  if (!node->IsScalar()) {
    return Error(dotted, absl::StrCat("expected a string, got ", DescribeNode(*node)));
  }
  return node->Scalar();
}

absl::Status FieldReader::Error(const std::string& dotted, const std::string& message) const {
  return absl::InvalidArgumentError(absl::StrCat(source_, ": ", dotted, ": ", message));
}

}  // namespace routeserve::model
