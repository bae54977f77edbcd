// Names of precisions and devices.
#include "model/runner_options.h"

#include <charconv>
#include <initializer_list>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace routeserve::model {

absl::string_view PrecisionName(Precision precision) {
  switch (precision) {
    case Precision::kFp32:
      return "fp32";
    case Precision::kBf16:
      return "bf16";
    case Precision::kFp16:
      return "fp16";
  }
  return "unknown";
}

namespace {

// The one of `values` that `name_of` names `name`; else an error listing their names:
// "expected a, b or c, got "name"".
template <typename Enum, typename NameOf>
absl::StatusOr<Enum> ParseName(absl::string_view name, std::initializer_list<Enum> values,
                               NameOf name_of) {
  std::string expected;
  size_t listed = 0;
  for (const Enum value : values) {
    if (name == name_of(value)) return value;
    const char* separator = listed == 0 ? "" : (listed + 1 == values.size() ? " or " : ", ");
    absl::StrAppend(&expected, separator, name_of(value));
    ++listed;
  }
  return absl::InvalidArgumentError(absl::StrCat("expected ", expected, ", got \"", name, "\""));
}

}  // namespace

absl::StatusOr<Precision> ParsePrecision(absl::string_view name) {
  return ParseName(name, {Precision::kFp32, Precision::kBf16, Precision::kFp16}, PrecisionName);
}

absl::string_view CudaGraphsName(CudaGraphs mode) {
  switch (mode) {
    case CudaGraphs::kAuto:
      return "auto";
    case CudaGraphs::kOn:
      return "on";
    case CudaGraphs::kOff:
      return "off";
  }
  return "unknown";
}

absl::StatusOr<CudaGraphs> ParseCudaGraphs(absl::string_view name) {
  return ParseName(name, {CudaGraphs::kAuto, CudaGraphs::kOn, CudaGraphs::kOff}, CudaGraphsName);
}

std::string DeviceSpecName(const DeviceSpec& device) {
  switch (device.kind) {
    case DeviceSpec::Kind::kAuto:
      return "auto";
    case DeviceSpec::Kind::kCpu:
      return "cpu";
    case DeviceSpec::Kind::kCuda:
      return absl::StrCat("cuda:", device.index);
  }
  return "unknown";
}

absl::StatusOr<DeviceSpec> ParseDeviceSpec(absl::string_view name) {
  if (name == "auto") return DeviceSpec{.kind = DeviceSpec::Kind::kAuto};
  if (name == "cpu") return DeviceSpec{.kind = DeviceSpec::Kind::kCpu};
  if (name == "cuda") return DeviceSpec{.kind = DeviceSpec::Kind::kCuda, .index = 0};
  constexpr absl::string_view kCudaPrefix = "cuda:";
  if (absl::StartsWith(name, kCudaPrefix)) {
    const absl::string_view digits = name.substr(kCudaPrefix.size());
    int index = -1;
    const auto result = std::from_chars(digits.data(), digits.data() + digits.size(), index);
    if (!digits.empty() && result.ec == std::errc() &&
        result.ptr == digits.data() + digits.size() && index >= 0 && index < 1024) {
      return DeviceSpec{.kind = DeviceSpec::Kind::kCuda, .index = index};
    }
  }
  return absl::InvalidArgumentError(
      absl::StrCat("expected auto, cpu, cuda or cuda:N, got \"", name, "\""));
}

}  // namespace routeserve::model
