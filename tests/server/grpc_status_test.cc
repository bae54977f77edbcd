// The one mapping from absl::Status to what callers see.
#include <catch2/catch.hpp>

#include "server/grpc_status.h"

namespace routeserve::server {
namespace {

TEST_CASE("caller errors keep their code and message", "[grpc_status]") {
  const absl::Status status =
      absl::InvalidArgumentError("stops[3].time_window: earliest after latest");
  const grpc::Status mapped = ToGrpcStatus(status);
  CHECK(mapped.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(mapped.error_message() == "stops[3].time_window: earliest after latest");
  const google::rpc::Status rpc = ToRpcStatus(status);
  CHECK(rpc.code() == static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  CHECK(rpc.message() == "stops[3].time_window: earliest after latest");

  CHECK(ToGrpcStatus(absl::ResourceExhaustedError("queue full")).error_code() ==
        grpc::StatusCode::RESOURCE_EXHAUSTED);
  CHECK(ToGrpcStatus(absl::DeadlineExceededError("late")).error_code() ==
        grpc::StatusCode::DEADLINE_EXCEEDED);
  CHECK(ToGrpcStatus(absl::UnavailableError("draining")).error_code() ==
        grpc::StatusCode::UNAVAILABLE);
  CHECK(ToGrpcStatus(absl::CancelledError("gone")).error_code() == grpc::StatusCode::CANCELLED);
}

TEST_CASE("server faults never leak their text", "[grpc_status]") {
  const absl::Status leaky = absl::InternalError(
      "solver failed: std::bad_alloc at /home/build/routing/solver.cc:123\n#0 0x7f00 in Solve");
  for (const absl::Status& status :
       {leaky, absl::UnknownError("/etc/secret"), absl::DataLossError("what()")}) {
    const grpc::Status mapped = ToGrpcStatus(status);
    CHECK(mapped.error_code() == grpc::StatusCode::INTERNAL);
    CHECK(mapped.error_message() == kInternalErrorMessage);
    CHECK(mapped.error_details().empty());
    const google::rpc::Status rpc = ToRpcStatus(status);
    CHECK(rpc.code() == static_cast<int>(grpc::StatusCode::INTERNAL));
    CHECK(rpc.message() == kInternalErrorMessage);
  }
}

TEST_CASE("OK maps to OK", "[grpc_status]") {
  CHECK(ToGrpcStatus(absl::OkStatus()).ok());
  CHECK(ToRpcStatus(absl::OkStatus()).code() == 0);
  CHECK(ToRpcStatus(absl::OkStatus()).message().empty());
}

}  // namespace
}  // namespace routeserve::server
