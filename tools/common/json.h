// The tools' JSON reports, written by protobuf's JSON printer: a report is built as a
// google.protobuf.Value (objects, lists, numbers, strings, booleans) and printed by ToJson.
//
// Two things protobuf does not do on its own, done here: JSON has no NaN or infinity, so a
// number that is not finite is written as null (which readers take as "no figure"); and an
// object's keys come out sorted, the same on every run (protobuf prints a Struct's map in its
// hash order, which changes from run to run; routeserve-datagen promises the same file for the
// same flags). Numbers are doubles: integers are exact up to 2^53.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"
#include "google/protobuf/struct.pb.h"

namespace routeserve::tools::json {

using Value = google::protobuf::Value;

Value Number(double number);  // null when not finite
Value String(absl::string_view text);
Value Bool(bool flag);
Value List(std::vector<Value> values);

// Numbers, as a list.
template <typename Range>
Value NumberList(const Range& numbers) {
  std::vector<Value> values;
  for (const auto number : numbers) values.push_back(Number(static_cast<double>(number)));
  return List(std::move(values));
}

// An object, built key by key: Object().Set("mode", String("open_loop")).Set(...).Build(), or
// std::move(object).Build() once a named one is complete. A key set again takes the new value.
class Object {
 public:
  Object& Set(absl::string_view key, Value value) &;
  Object&& Set(absl::string_view key, Value value) &&;
  Value Build() &&;

 private:
  Value value_ = [] {
    Value empty;
    empty.mutable_struct_value();
    return empty;
  }();
};

// A message as protobuf's JSON mapping writes it (field names as the .proto spells them, or
// in lowerCamelCase without `preserve_proto_field_names`), as a Value to nest in a report.
absl::StatusOr<Value> FromMessage(const google::protobuf::Message& message,
                                  bool preserve_proto_field_names);

enum class Layout {
  kOneLine,   // no whitespace: one report per line (JSON lines)
  kIndented,  // a line per key, for people reading the file
};

absl::StatusOr<std::string> ToJson(const Value& value, Layout layout);

}  // namespace routeserve::tools::json
