// absl::Status -> grpc::Status and google.rpc.Status.
#include "server/grpc_status.h"

#include <string>

namespace routeserve::server {
namespace {

// The one mapping both forms share.
struct CallerStatus {
  int code = 0;
  std::string message;
};

CallerStatus ForCaller(const absl::Status& status) {
  if (status.ok()) return {};
  const int code = static_cast<int>(status.code());
  // Codes outside the canonical range are a fault of the server as well.
  const bool canonical = code > 0 && code <= static_cast<int>(absl::StatusCode::kUnauthenticated);
  if (!canonical || IsServerFault(status.code())) {
    return {static_cast<int>(absl::StatusCode::kInternal), kInternalErrorMessage};
  }
  return {code, std::string(status.message())};
}

}  // namespace

bool IsServerFault(absl::StatusCode code) {
  return code == absl::StatusCode::kInternal || code == absl::StatusCode::kUnknown ||
         code == absl::StatusCode::kDataLoss;
}

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  CallerStatus mapped = ForCaller(status);
  return grpc::Status(static_cast<grpc::StatusCode>(mapped.code), std::move(mapped.message));
}

google::rpc::Status ToRpcStatus(const absl::Status& status) {
  CallerStatus mapped = ForCaller(status);
  google::rpc::Status out;
  out.set_code(mapped.code);
  out.set_message(std::move(mapped.message));
  return out;
}

}  // namespace routeserve::server
