#include "program/failure.h"

#include <cstdio>
#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/types/optional.h"

namespace routeserve::program {
namespace {

// Where a status keeps its exit status: a payload, the number as text.
constexpr char kExitCodeUrl[] = "type.routeserve/program.ExitCode";

}  // namespace

absl::Status UsageError(absl::string_view message) {
  return WithExitCode(absl::InvalidArgumentError(message), kExitUsage);
}

absl::Status WithExitCode(absl::Status status, int exit_code) {
  if (!status.ok()) status.SetPayload(kExitCodeUrl, absl::Cord(std::to_string(exit_code)));
  return status;
}

int ExitCode(const absl::Status& status) {
  if (status.ok()) return kExitOk;
  const absl::optional<absl::Cord> payload = status.GetPayload(kExitCodeUrl);
  int exit_code = kExitFailure;
  if (payload.has_value() && absl::SimpleAtoi(std::string(*payload), &exit_code)) {
    return exit_code;
  }
  return kExitFailure;
}

int Exit(absl::string_view name, const absl::Status& status) {
  if (!status.ok()) {
    std::fprintf(stderr, "%.*s: %.*s\n", static_cast<int>(name.size()), name.data(),
                 static_cast<int>(status.message().size()), status.message().data());
  }
  return ExitCode(status);
}

}  // namespace routeserve::program
