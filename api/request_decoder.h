// DecodeSuggestRequest: a SuggestRequest from its wire bytes, with what one message can make the
// process allocate bounded before anything is parsed. The server decodes every request through
// it (unary calls and each SuggestStream message alike); ToRouteProblem (api/request.h) then
// checks the fields.
//
// WHY A WALK BEFORE THE PARSE: protobuf makes an object of every element of a repeated message
//   field and of every unknown field. An empty Stop is 2 bytes on the wire and over 100 on the
//   heap, so a 4 MB message of empty stops would make hundreds of megabytes before the stop
//   limit could refuse it. The walk reads the tags without allocating, counts the stops, the
//   matrix's entries and the fields in all, and refuses a message that holds more than a
//   request within `limits` can; only then is it parsed, into an arena the caller owns, so that
//   whatever it made goes at once, with the arena.
// ERRORS: InvalidArgument. Over the limits, naming the field as ToRouteProblem would
//   ("stops: 2000000 stops, above the limit of 128"); bytes that are no SuggestRequest (truncated,
//   malformed, or in the group encoding, which proto3 never writes), "<subject> is not a valid
//   SuggestRequest: <why>", where `subject` says which ("request", "message 6").
// THREADING: a pure function.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "api/request.h"
#include "google/protobuf/arena.h"
#include "routeserve/v1/route_service.pb.h"

namespace routeserve::api {

// The most fields (at every level, each element of a repeated field counted) a request within
// `limits` can hold: its stops' fields, an unpacked matrix, and room for unknown fields.
int64_t MaxRequestFields(const RequestLimits& limits);

// The request in `chunks` (its bytes, in order, as the transport holds them), parsed into
// `arena`, which owns it. `request_id`, when not null, gets the request's `request_id` as far
// as the walk could read it, also when the message is refused (so that a stream can echo it).
absl::StatusOr<v1::SuggestRequest*> DecodeSuggestRequest(std::span<const std::string_view> chunks,
                                                         const RequestLimits& limits,
                                                         google::protobuf::Arena* arena,
                                                         absl::string_view subject,
                                                         std::string* request_id = nullptr);

}  // namespace routeserve::api
