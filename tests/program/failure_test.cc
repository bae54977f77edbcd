// program/failure.h: a status carries its exit status through to main().
#include <catch2/catch.hpp>

#include "absl/status/status.h"
#include "program/failure.h"

namespace routeserve::program {
namespace {

TEST_CASE("ExitCode: 0 for OK, 2 for a usage error, the attached one, else 1") {
  CHECK(ExitCode(absl::OkStatus()) == kExitOk);
  const absl::Status usage = UsageError("--count: needs a value");
  CHECK(usage.code() == absl::StatusCode::kInvalidArgument);
  CHECK(usage.message() == "--count: needs a value");
  CHECK(ExitCode(usage) == kExitUsage);
  CHECK(ExitCode(absl::InvalidArgumentError("model.path: no such file")) == kExitFailure);
  CHECK(ExitCode(absl::UnavailableError("address in use")) == kExitFailure);
  const absl::Status config = WithExitCode(absl::NotFoundError("no such config"), kExitUsage);
  CHECK(ExitCode(config) == kExitUsage);
  CHECK(config.code() == absl::StatusCode::kNotFound);
  CHECK(config.message() == "no such config");
  CHECK(ExitCode(WithExitCode(absl::InternalError("x"), 3)) == 3);
  CHECK(WithExitCode(absl::OkStatus(), kExitUsage).ok());
}

TEST_CASE("Exit: an OK status prints nothing and exits 0") {
  CHECK(Exit("program_test", absl::OkStatus()) == kExitOk);
  CHECK(Exit("program_test", UsageError("stray")) == kExitUsage);
}

}  // namespace
}  // namespace routeserve::program
