// Names of precisions and devices.
#include "model/runner_options.h"

#include <charconv>

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

absl::StatusOr<Precision> ParsePrecision(absl::string_view name) {
  for (const Precision precision : {Precision::kFp32, Precision::kBf16, Precision::kFp16}) {
    if (name == PrecisionName(precision)) return precision;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("expected fp32, bf16 or fp16, got \"", name, "\""));
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
  for (const CudaGraphs mode : {CudaGraphs::kAuto, CudaGraphs::kOn, CudaGraphs::kOff}) {
    if (name == CudaGraphsName(mode)) return mode;
  }
  return absl::InvalidArgumentError(absl::StrCat("expected auto, on or off, got \"", name, "\""));
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
