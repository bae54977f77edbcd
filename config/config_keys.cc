// The kinds of key of the configuration's schema (config/config_keys.h): reading, checking and
// writing their values as YAML spells them.
#include "config/config_keys.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <iterator>
#include <optional>
#include <system_error>

#include "absl/strings/ascii.h"
#include "absl/strings/str_join.h"

namespace routeserve::config::keys {
namespace {

using internal::WideInt;

// The longest value quoted in an error message; longer ones are cut.
constexpr std::size_t kMaxQuotedChars = 60;

// A quoted scalar ('...' or "...") is a string to YAML even when it holds digits.
bool IsQuoted(const YAML::Node& node) { return node.Tag() == "!"; }

// A plain scalar read as a finite number (YAML's decimal and exponent forms), or nullopt.
std::optional<double> ParseNumber(absl::string_view text) {
  if (!text.empty() && text.front() == '+') {  // YAML allows it, from_chars does not
    text.remove_prefix(1);
    if (!text.empty() && text.front() == '-') return std::nullopt;
  }
  double value = 0;
  const auto result = std::from_chars(text.data(), text.data() + text.size(), value);
  if (result.ec != std::errc() || result.ptr != text.data() + text.size() ||
      !std::isfinite(value)) {
    return std::nullopt;  // not a number, "nan", "inf", or beyond double's range
  }
  return value;
}

// A plain scalar read as an integer (decimal, or hexadecimal with 0x), or nullopt. Magnitudes
// beyond 64 bits come back as +-2^64, which every range check rejects.
std::optional<WideInt> ParseInteger(absl::string_view text) {
  bool negative = false;
  if (!text.empty() && (text.front() == '+' || text.front() == '-')) {
    negative = text.front() == '-';
    text.remove_prefix(1);
  }
  int base = 10;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    base = 16;
    text.remove_prefix(2);
  }
  if (text.empty() || text.front() == '+' || text.front() == '-') return std::nullopt;
  uint64_t magnitude = 0;
  const auto result = std::from_chars(text.data(), text.data() + text.size(), magnitude, base);
  if (result.ptr != text.data() + text.size()) return std::nullopt;
  WideInt value = magnitude;
  if (result.ec == std::errc::result_out_of_range) {
    value = WideInt{1} << 64;
  } else if (result.ec != std::errc()) {
    return std::nullopt;
  }
  return negative ? -value : value;
}

absl::Status Expected(absl::string_view what, const YAML::Node& node) {
  return absl::InvalidArgumentError(absl::StrCat("expected ", what, ", got ", Describe(node)));
}

// Expected() for a number key, which explains why "5" in quotes is no number.
absl::Status ExpectedNumber(absl::string_view what, const YAML::Node& node) {
  if (!node.IsScalar() || !IsQuoted(node)) return Expected(what, node);
  return absl::InvalidArgumentError(
      absl::StrCat("expected ", what, ", got ", Describe(node), " (quoted, so a string)"));
}

absl::StatusOr<WideInt> ReadInteger(const YAML::Node& node) {
  if (!node.IsScalar() || IsQuoted(node)) return ExpectedNumber("an integer", node);
  const std::optional<WideInt> value = ParseInteger(node.Scalar());
  if (!value.has_value()) return Expected("an integer", node);
  return *value;
}

absl::StatusOr<double> ReadNumber(const YAML::Node& node) {
  if (!node.IsScalar() || IsQuoted(node)) return ExpectedNumber("a number", node);
  const std::optional<double> value = ParseNumber(node.Scalar());
  if (!value.has_value()) return Expected("a number", node);
  return *value;
}

// An error for a value outside its range, e.g. "must be >= 0, got -3".
absl::Status OutOfRange(absl::string_view bound, const YAML::Node& node) {
  return absl::InvalidArgumentError(absl::StrCat("must be ", bound, ", got ", node.Scalar()));
}

// ---------------------------------------------------------------------------------------------
// The address: host:port, the host a name, an IPv4 address or a bracketed IPv6 address.

constexpr int kMaxPort = 65535;

bool IsHostName(absl::string_view host) {
  if (host.empty()) return false;
  for (const char c : host) {
    if (!absl::ascii_isalnum(c) && c != '.' && c != '-' && c != '_') return false;
  }
  return true;
}

bool IsBracketedIpv6(absl::string_view host) {
  if (host.size() < 4 || host.front() != '[' || host.back() != ']') return false;
  host = host.substr(1, host.size() - 2);
  if (host.find(':') == absl::string_view::npos) return false;
  for (const char c : host) {
    if (!absl::ascii_isxdigit(c) && c != ':' && c != '.') return false;
  }
  return true;
}

bool IsPort(absl::string_view port) {
  if (port.empty() || port.size() > 5) return false;
  int value = 0;
  const auto result = std::from_chars(port.data(), port.data() + port.size(), value);
  return result.ec == std::errc() && result.ptr == port.data() + port.size() && value >= 0 &&
         value <= kMaxPort;
}

bool IsHostPort(absl::string_view address) {
  const std::size_t colon = address.rfind(':');
  if (colon == absl::string_view::npos) return false;
  const absl::string_view host = address.substr(0, colon);
  return (IsHostName(host) || IsBracketedIpv6(host)) && IsPort(address.substr(colon + 1));
}

}  // namespace

std::string FormatNumber(double value) {
  char text[32];
  const auto result = std::to_chars(std::begin(text), std::end(text), value);
  return std::string(text, result.ptr);
}

std::string DoubleQuoted(absl::string_view text) {
  std::string quoted = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      quoted += '\\';
      quoted += c;
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      constexpr char kHex[] = "0123456789abcdef";
      const auto byte = static_cast<unsigned char>(c);
      quoted += "\\x";
      quoted += kHex[byte >> 4];
      quoted += kHex[byte & 0xf];
    } else {
      quoted += c;
    }
  }
  quoted += '"';
  return quoted;
}

std::string Describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      break;
    default:
      return "an empty value";
  }
  const std::string& text = node.Scalar();
  if (!IsQuoted(node) && ParseNumber(text).has_value()) return text;
  std::string shown = DoubleQuoted(text.substr(0, kMaxQuotedChars));
  if (text.size() > kMaxQuotedChars) shown += "...";
  return shown;
}

ConfigEntry Section(std::string name, std::vector<ConfigEntry> entries) {
  ConfigEntry section;
  section.name = std::move(name);
  section.entries = std::move(entries);
  return section;
}

namespace internal {

ConfigEntry Key(std::string name, std::function<absl::Status(const YAML::Node&, Config&)> read,
                std::function<std::string(const Config&)> write, ValueShape shape) {
  ConfigEntry key;
  key.name = std::move(name);
  key.shape = shape;
  key.read = std::move(read);
  key.write = std::move(write);
  return key;
}

absl::StatusOr<WideInt> ReadIntegerIn(const YAML::Node& node, WideInt min, WideInt max,
                                      absl::string_view min_text, absl::string_view max_text) {
  const absl::StatusOr<WideInt> value = ReadInteger(node);
  if (!value.ok()) return value.status();
  if (*value < min) return OutOfRange(absl::StrCat(">= ", min_text), node);
  if (*value > max) return OutOfRange(absl::StrCat("<= ", max_text), node);
  return *value;
}

absl::StatusOr<double> ReadNumberIn(const YAML::Node& node, const NumberRange& range) {
  const absl::StatusOr<double> value = ReadNumber(node);
  if (!value.ok()) return value.status();
  if (range.min_excluded ? *value <= range.min : *value < range.min) {
    return OutOfRange(absl::StrCat(range.min_excluded ? "> " : ">= ", FormatNumber(range.min)),
                      node);
  }
  if (*value > range.max) return OutOfRange(absl::StrCat("<= ", FormatNumber(range.max)), node);
  return *value;
}

absl::StatusOr<std::string> ReadAddress(const YAML::Node& node) {
  if (!node.IsScalar() || !IsHostPort(node.Scalar())) {
    return Expected(absl::StrCat("host:port (e.g. 127.0.0.1:50051 or \"[::1]:50051\") with a port "
                                 "in 0..",
                                 kMaxPort),
                    node);
  }
  return node.Scalar();
}

absl::StatusOr<std::string> ReadText(const YAML::Node& node) {
  if (node.IsNull()) return std::string();
  if (!node.IsScalar()) return Expected("a string", node);
  return node.Scalar();
}

absl::StatusOr<bool> ReadBool(const YAML::Node& node) {
  // YAML 1.2's booleans only: "yes", "on" and the like are refused rather than guessed at.
  if (node.IsScalar() && node.Tag() != "!") {
    if (node.Scalar() == "true") return true;
    if (node.Scalar() == "false") return false;
  }
  return Expected("true or false", node);
}

absl::StatusOr<std::vector<int64_t>> ReadIntegerList(const YAML::Node& node, int64_t min,
                                                     int64_t max, ListOrder order) {
  if (!node.IsSequence()) return Expected("a list of integers, e.g. [8, 16, 32]", node);
  if (node.size() == 0) return absl::InvalidArgumentError("expected at least one value, got []");
  std::vector<int64_t> values;
  values.reserve(node.size());
  for (std::size_t i = 0; i < node.size(); ++i) {
    const absl::StatusOr<WideInt> value =
        ReadIntegerIn(node[i], min, max, absl::StrCat(min), absl::StrCat(max));
    if (!value.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("[", i, "]: ", value.status().message()));
    }
    if (order == ListOrder::kStrictlyAscending && !values.empty() && *value <= values.back()) {
      return absl::InvalidArgumentError(
          absl::StrCat("[", i, "]: must be above the value before it (", values.back(),
                       "), got ", node[i].Scalar()));
    }
    values.push_back(static_cast<int64_t>(*value));
  }
  return values;
}

std::string FormatIntegerList(const std::vector<int64_t>& values) {
  return absl::StrCat("[", absl::StrJoin(values, ", "), "]");
}

}  // namespace internal
}  // namespace routeserve::config::keys
