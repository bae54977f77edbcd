// The service's two ends on the wire: requests are decoded by the service itself from the bytes
// gRPC received (api/request_decoder.h bounds what one message can make the process allocate
// before it is parsed, and an unparseable message gets an answer of its own, where gRPC's own
// parse would end a stream silently), and responses are encoded into the bytes gRPC sends.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "api/request.h"
#include "google/protobuf/arena.h"
#include "grpcpp/support/byte_buffer.h"
#include "routeserve/v1/route_service.pb.h"

namespace routeserve::server {

// api::DecodeSuggestRequest over the buffer's slices, without copying them.
absl::StatusOr<v1::SuggestRequest*> DecodeRequest(const grpc::ByteBuffer& bytes,
                                                  const api::RequestLimits& limits,
                                                  google::protobuf::Arena* arena,
                                                  absl::string_view subject,
                                                  std::string* request_id = nullptr);

// The response's wire bytes.
grpc::ByteBuffer EncodeResponse(const v1::SuggestResponse& response);

}  // namespace routeserve::server
