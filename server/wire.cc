// DecodeRequest and EncodeResponse (server/wire.h).
#include "server/wire.h"

#include <vector>

#include "api/request_decoder.h"
#include "grpcpp/impl/codegen/proto_utils.h"  // SerializationTraits of protobuf messages

namespace routeserve::server {

absl::StatusOr<v1::SuggestRequest*> DecodeRequest(const grpc::ByteBuffer& bytes,
                                                  const api::RequestLimits& limits,
                                                  google::protobuf::Arena* arena,
                                                  absl::string_view subject,
                                                  std::string* request_id) {
  std::vector<grpc::Slice> slices;
  // Dump() only fails on a buffer that was never filled: an empty message, then.
  if (!bytes.Valid() || !bytes.Dump(&slices).ok()) slices.clear();
  std::vector<std::string_view> chunks;
  chunks.reserve(slices.size());
  for (const grpc::Slice& slice : slices) {
    chunks.emplace_back(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return api::DecodeSuggestRequest(chunks, limits, arena, subject, request_id);
}

grpc::ByteBuffer EncodeResponse(const v1::SuggestResponse& response) {
  grpc::ByteBuffer bytes;
  bool own_buffer = false;
  // Serializing a message the server built cannot fail but for one over 2 GB, which no
  // response of at most limits.max_stops stops comes near.
  [[maybe_unused]] const grpc::Status status =
      grpc::SerializationTraits<v1::SuggestResponse>::Serialize(response, &bytes, &own_buffer);
  return bytes;
}

}  // namespace routeserve::server
