#include "tools/common/json.h"

#include <cmath>
#include <memory>

#include "absl/status/status.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/type_resolver_util.h"

namespace routeserve::tools::json {
namespace {

constexpr char kTypeUrlPrefix[] = "type.googleapis.com";

absl::Status ToAbsl(const google::protobuf::util::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.code()),
                      std::string(status.message()));
}

}  // namespace

Value Number(double number) {
  Value value;
  if (std::isfinite(number)) {
    value.set_number_value(number);
  } else {
    value.set_null_value(google::protobuf::NULL_VALUE);
  }
  return value;
}

Value String(absl::string_view text) {
  Value value;
  value.set_string_value(std::string(text));
  return value;
}

Value Bool(bool flag) {
  Value value;
  value.set_bool_value(flag);
  return value;
}

Value List(std::vector<Value> values) {
  Value value;
  auto& list = *value.mutable_list_value()->mutable_values();
  for (Value& element : values) *list.Add() = std::move(element);
  return value;
}

Object& Object::Set(absl::string_view key, Value value) & {
  (*value_.mutable_struct_value()->mutable_fields())[std::string(key)] = std::move(value);
  return *this;
}

Object&& Object::Set(absl::string_view key, Value value) && {
  return std::move(Set(key, std::move(value)));
}

Value Object::Build() && { return std::move(value_); }

absl::StatusOr<Value> FromMessage(const google::protobuf::Message& message,
                                  bool preserve_proto_field_names) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = preserve_proto_field_names;
  std::string text;
  if (absl::Status printed =
          ToAbsl(google::protobuf::util::MessageToJsonString(message, &text, options));
      !printed.ok()) {
    return printed;
  }
  Value value;
  if (absl::Status parsed = ToAbsl(google::protobuf::util::JsonStringToMessage(text, &value));
      !parsed.ok()) {
    return parsed;
  }
  return value;
}

absl::StatusOr<std::string> ToJson(const Value& value, Layout layout) {
  // Deterministic serialization writes map entries by key; the JSON printer then streams them
  // in that order.
  std::string binary;
  {
    google::protobuf::io::StringOutputStream stream(&binary);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    if (!value.SerializeToCodedStream(&coded)) {
      return absl::InternalError("cannot serialize the report");
    }
  }
  static const std::unique_ptr<google::protobuf::util::TypeResolver> resolver(
      google::protobuf::util::NewTypeResolverForDescriptorPool(
          kTypeUrlPrefix, google::protobuf::DescriptorPool::generated_pool()));
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = layout == Layout::kIndented;
  std::string text;
  if (absl::Status printed = ToAbsl(google::protobuf::util::BinaryToJsonString(
          resolver.get(), std::string(kTypeUrlPrefix) + "/" + Value::descriptor()->full_name(),
          binary, &text, options));
      !printed.ok()) {
    return printed;
  }
  return text;
}

}  // namespace routeserve::tools::json
