// The properties the fuzz target holds api/ and routing/ to, as one function of the input bytes,
// so that the libFuzzer target (request_fuzzer.cc) and the corpus replay in the normal test
// suite (corpus_test.cc) check exactly the same things.
//
// INPUT: the bytes are a SuggestRequest in the wire format; failing that, in the text format;
//   failing that, in proto JSON (what routeserve-cli reads). Bytes that are none of these are
//   not a request and pass.
// PROPERTIES: see CheckRequestBytes.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "routeserve/v1/route_service.pb.h"

namespace routeserve::fuzz {

// The stop limit the target validates with: the server's default `limits.max_stops`.
inline constexpr int kFuzzMaxStops = 128;

// The request the bytes hold (see INPUT), if any.
std::optional<v1::SuggestRequest> DecodeRequest(std::string_view bytes);

// The server's own decoding of wire bytes (api::DecodeSuggestRequest, in two chunks): what it
// accepts is what protobuf parses; what it refuses is InvalidArgument, either "request is not
// a valid SuggestRequest: ..." (for parseable bytes only a flood of fields or a group) or named
// by field, and then validation refuses the parsed request too. "" when all hold.
std::string CheckServerDecoding(std::string_view bytes);

// The server's decoding (CheckServerDecoding) of the bytes as they are; then decodes them (see
// INPUT), validates and converts the request as the server does, and when it is
// valid evaluates routes over it and solves it (the classical solver with a small budget, the
// exact solver on the smallest). Returns the first property that fails, or "" when all hold:
//   - a refused request is InvalidArgument, its message "field: what", the field as the API
//     spells it;
//   - a valid request converts to a problem that passes routing's own validation, converts
//     back to the same request, and builds an instance;
//   - any order of its stops evaluates to finite, non-negative totals and ordered times, and
//     the route written into the response has its times in range and in order;
//   - the order that serves the on-board orders first, then each order's pickup followed by
//     its dropoff, is feasible (a valid problem always has a feasible route);
//   - the solvers return feasible routes that visit each stop once, at the cost the evaluator
//     gives them; the exact solver's is no dearer than the others'.
std::string CheckRequestBytes(std::string_view bytes);

}  // namespace routeserve::fuzz
