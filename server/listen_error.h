// Why gRPC could not listen on an address. grpc::ServerBuilder only says that it failed (the
// reason goes to gRPC's own log), so after a failure the server binds the address itself, once,
// to learn the system's reason: "Address already in use", "Permission denied", "Cannot assign
// requested address", or that the address does not resolve.
#pragma once

#include <string>

namespace routeserve::server {

// `address` is "host:port" as server.address takes it ("[::]:50051" for IPv6). The reason a
// socket cannot be bound and listened on there, or "" when it can (then gRPC failed for a
// reason of its own).
std::string WhyCannotListen(const std::string& address);

}  // namespace routeserve::server
