// The edge between the server's errors (absl::Status, everywhere inside) and what callers see:
// a grpc::Status for a call, a google.rpc.Status for one message of SuggestStream.
//
// Codes map one to one (absl's canonical codes are gRPC's). Messages pass through unchanged,
// since inside errors are written for the caller ("stops[3].time_window: earliest after
// latest"), except for the codes that mean a fault of the server (INTERNAL, UNKNOWN, DATA_LOSS):
// those say only "internal error", so that no stack, path or exception text leaks; the caller
// of the mapping logs the original where an operator needs it.
#pragma once

#include "absl/status/status.h"
#include "google/rpc/status.pb.h"
#include "grpcpp/support/status.h"

namespace routeserve::server {

// The message a server fault is answered with.
inline constexpr char kInternalErrorMessage[] = "internal error";

// True for the codes whose message is withheld from callers (see above).
bool IsServerFault(absl::StatusCode code);

grpc::Status ToGrpcStatus(const absl::Status& status);

// The same mapping as a google.rpc.Status message (code and message; no details).
google::rpc::Status ToRpcStatus(const absl::Status& status);

}  // namespace routeserve::server
