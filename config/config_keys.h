// The kinds of key the configuration's schema (config/config.cc) is built from: integer, number,
// seconds, microseconds, host:port, integer-list and text keys, each knowing how its YAML value is
// read, range-checked and written back. Internal to config/config.cc and its tests; everyone
// else uses config/config.h.
//
// ERRORS: a key's reader returns InvalidArgument whose message leaves out the key
//   ("must be >= 0, got -3", "expected a number, got \"fast\""); the caller puts the dotted key
//   in front and where the value came from behind. An error in one element of a list starts
//   with the element's index in brackets ("[2]: must be <= 1024, got 2000"), which the caller
//   joins to the key without a separator ("batching.buckets[2]: must be ...").
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "config/config.h"

namespace YAML {
class Node;
}  // namespace YAML

namespace routeserve::config::keys {

// How a key's value is written in YAML: one scalar, or a list of scalars.
enum class ValueShape { kScalar, kList };

// One entry of the schema: a section, which holds entries, or a key, which holds a value.
struct ConfigEntry {
  std::string name;
  std::vector<ConfigEntry> entries;  // a section's entries; empty for a key
  ValueShape shape = ValueShape::kScalar;  // a key's; --set takes a list only for kList
  // Reads a key's YAML value into the config.
  std::function<absl::Status(const YAML::Node&, Config&)> read;
  // A key's value as YAML.
  std::function<std::string(const Config&)> write;

  bool is_section() const { return !entries.empty(); }
};

ConfigEntry Section(std::string name, std::vector<ConfigEntry> entries);

// The range of a number key; the bounds are inclusive unless said otherwise.
struct NumberRange {
  double min = -std::numeric_limits<double>::infinity();
  bool min_excluded = false;
  double max = std::numeric_limits<double>::infinity();
};

// The field of Config that `field` designates: a callable taking Config& or const Config& and
// returning a reference to the field, e.g. [](auto& c) -> auto& { return c.limits.max_stops; }.
template <typename Field>
using FieldType = std::remove_reference_t<std::invoke_result_t<Field, Config&>>;

// An integer key: its value must be written as an integer (decimal, or hexadecimal with 0x)
// within [min, max].
template <typename Field>
ConfigEntry IntegerKey(std::string name, Field field, FieldType<Field> min,
                       FieldType<Field> max = std::numeric_limits<FieldType<Field>>::max());

// A number key, fractions allowed, within `range`.
template <typename Field>
ConfigEntry NumberKey(std::string name, Field field, NumberRange range);

// A duration key whose value is a number of seconds within `range`, fractions allowed.
template <typename Field>
ConfigEntry SecondsKey(std::string name, Field field, NumberRange range);

// A duration key whose value is an integer number of microseconds within [min_us, max_us].
template <typename Field>
ConfigEntry MicrosecondsKey(std::string name, Field field, int64_t min_us, int64_t max_us);

// A key whose value is true or false.
template <typename Field>
ConfigEntry BoolKey(std::string name, Field field);

// How the elements of a list key must be ordered.
enum class ListOrder { kAny, kStrictlyAscending };

// A key whose value is a non-empty list of integers, each within [min, max], in `order`; the
// field is a std::vector of an integer type. Written in flow style: [8, 16, 32].
template <typename Field>
ConfigEntry IntegerListKey(std::string name, Field field, int64_t min, int64_t max,
                           ListOrder order);

// A host:port key: a host name, an IPv4 address or a bracketed IPv6 address, and a port in
// 0..65535.
template <typename Field>
ConfigEntry AddressKey(std::string name, Field field);

// A key whose value is one scalar read as text (an empty value reads as ""), turned into the
// field's value by `parse`, a callable taking absl::string_view and returning an
// absl::StatusOr of the field's type (its error message leaves out the key); `format` turns the
// field's value back into that text, which ConfigToYaml writes double-quoted.
template <typename Field, typename Parse, typename Format>
ConfigEntry TextKey(std::string name, Field field, Parse parse, Format format);

// A text key that takes any text as it is.
template <typename Field>
ConfigEntry StringKey(std::string name, Field field);

// The shortest text that reads back as `value` ("4.5", "10", "1e-07").
std::string FormatNumber(double value);

// `text` as a YAML double-quoted string, which reads back as `text` whatever it holds.
std::string DoubleQuoted(absl::string_view text);

// How an error message shows a node: 2.5, "fast", a map, a list, an empty value.
std::string Describe(const YAML::Node& node);

// ---------------------------------------------------------------------------------------------
// Implementation details follow.

namespace internal {

// Wide enough for every int64_t and uint64_t and one more, so range checks need no care.
using WideInt = __int128;

ConfigEntry Key(std::string name, std::function<absl::Status(const YAML::Node&, Config&)> read,
                std::function<std::string(const Config&)> write,
                ValueShape shape = ValueShape::kScalar);
absl::StatusOr<WideInt> ReadIntegerIn(const YAML::Node& node, WideInt min, WideInt max,
                                      absl::string_view min_text, absl::string_view max_text);
absl::StatusOr<double> ReadNumberIn(const YAML::Node& node, const NumberRange& range);
absl::StatusOr<std::string> ReadAddress(const YAML::Node& node);
absl::StatusOr<std::string> ReadText(const YAML::Node& node);
absl::StatusOr<bool> ReadBool(const YAML::Node& node);
absl::StatusOr<std::vector<int64_t>> ReadIntegerList(const YAML::Node& node, int64_t min,
                                                     int64_t max, ListOrder order);
std::string FormatIntegerList(const std::vector<int64_t>& values);

}  // namespace internal

template <typename Field>
ConfigEntry IntegerKey(std::string name, Field field, FieldType<Field> min, FieldType<Field> max) {
  using Int = FieldType<Field>;
  static_assert(std::is_integral_v<Int>);
  return internal::Key(
      std::move(name),
      [=](const YAML::Node& node, Config& config) -> absl::Status {
        const absl::StatusOr<internal::WideInt> value =
            internal::ReadIntegerIn(node, min, max, absl::StrCat(min), absl::StrCat(max));
        if (!value.ok()) return value.status();
        field(config) = static_cast<Int>(*value);
        return absl::OkStatus();
      },
      [=](const Config& config) { return absl::StrCat(field(config)); });
}

template <typename Field>
ConfigEntry NumberKey(std::string name, Field field, NumberRange range) {
  return internal::Key(
      std::move(name),
      [=](const YAML::Node& node, Config& config) -> absl::Status {
        const absl::StatusOr<double> value = internal::ReadNumberIn(node, range);
        if (!value.ok()) return value.status();
        field(config) = *value;
        return absl::OkStatus();
      },
      [=](const Config& config) { return FormatNumber(field(config)); });
}

template <typename Field>
ConfigEntry SecondsKey(std::string name, Field field, NumberRange range) {
  return internal::Key(
      std::move(name),
      [=](const YAML::Node& node, Config& config) -> absl::Status {
        const absl::StatusOr<double> seconds = internal::ReadNumberIn(node, range);
        if (!seconds.ok()) return seconds.status();
        field(config) = absl::Seconds(*seconds);
        return absl::OkStatus();
      },
      [=](const Config& config) { return FormatNumber(absl::ToDoubleSeconds(field(config))); });
}

template <typename Field>
ConfigEntry MicrosecondsKey(std::string name, Field field, int64_t min_us, int64_t max_us) {
  return internal::Key(
      std::move(name),
      [=](const YAML::Node& node, Config& config) -> absl::Status {
        const absl::StatusOr<internal::WideInt> us = internal::ReadIntegerIn(
            node, min_us, max_us, absl::StrCat(min_us), absl::StrCat(max_us));
        if (!us.ok()) return us.status();
        field(config) = absl::Microseconds(static_cast<int64_t>(*us));
        return absl::OkStatus();
      },
      [=](const Config& config) {
        return absl::StrCat(absl::ToInt64Microseconds(field(config)));
      });
}

template <typename Field>
ConfigEntry BoolKey(std::string name, Field field) {
  static_assert(std::is_same_v<FieldType<Field>, bool>);
  return internal::Key(
      std::move(name),
      [=](const YAML::Node& node, Config& config) -> absl::Status {
        const absl::StatusOr<bool> value = internal::ReadBool(node);
        if (!value.ok()) return value.status();
        field(config) = *value;
        return absl::OkStatus();
      },
      [=](const Config& config) { return field(config) ? "true" : "false"; });
}

template <typename Field>
ConfigEntry IntegerListKey(std::string name, Field field, int64_t min, int64_t max,
                           ListOrder order) {
  using Int = typename FieldType<Field>::value_type;
  static_assert(std::is_integral_v<Int>);
  return internal::Key(
      std::move(name),
      [=](const YAML::Node& node, Config& config) -> absl::Status {
        const absl::StatusOr<std::vector<int64_t>> values =
            internal::ReadIntegerList(node, min, max, order);
        if (!values.ok()) return values.status();
        field(config).assign(values->begin(), values->end());
        return absl::OkStatus();
      },
      [=](const Config& config) {
        return internal::FormatIntegerList(
            std::vector<int64_t>(field(config).begin(), field(config).end()));
      },
      ValueShape::kList);
}

template <typename Field>
ConfigEntry AddressKey(std::string name, Field field) {
  return internal::Key(
      std::move(name),
      [=](const YAML::Node& node, Config& config) -> absl::Status {
        absl::StatusOr<std::string> address = internal::ReadAddress(node);
        if (!address.ok()) return address.status();
        field(config) = *std::move(address);
        return absl::OkStatus();
      },
      [=](const Config& config) { return DoubleQuoted(field(config)); });
}

template <typename Field, typename Parse, typename Format>
ConfigEntry TextKey(std::string name, Field field, Parse parse, Format format) {
  return internal::Key(
      std::move(name),
      [=](const YAML::Node& node, Config& config) -> absl::Status {
        const absl::StatusOr<std::string> text = internal::ReadText(node);
        if (!text.ok()) return text.status();
        auto value = parse(absl::string_view(*text));
        if (!value.ok()) return value.status();
        field(config) = *std::move(value);
        return absl::OkStatus();
      },
      [=](const Config& config) { return DoubleQuoted(format(field(config))); });
}

template <typename Field>
ConfigEntry StringKey(std::string name, Field field) {
  return TextKey(
      std::move(name), field,
      [](absl::string_view text) { return absl::StatusOr<std::string>(std::string(text)); },
      [](const std::string& value) { return value; });
}

}  // namespace routeserve::config::keys
