// DecodeSuggestRequest (api/request_decoder.h): a walk over the wire format guided by the
// messages' descriptors, then the parse into the arena.
#include "api/request_decoder.h"

#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/wire_format_lite.h"

namespace routeserve::api {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::io::CodedInputStream;
using WireType = google::protobuf::internal::WireFormatLite::WireType;

// Fields of one stop, its position and its window (12), with room to spare for unknown ones and
// fields sent twice.
constexpr int64_t kFieldsPerStop = 32;
// The request's own fields, the courier's, the end position and the options.
constexpr int64_t kFieldsOutsideStops = 64;
// The request's field numbers the walk looks at (route_service.proto).
constexpr int kRequestIdField = 1;
constexpr int kStopsField = 3;
constexpr int kMatrixField = 5;
// Bytes of request_id kept for the error response's echo; an id longer than this is no id.
constexpr uint32_t kMaxEchoedIdBytes = 1024;

int64_t MaxMatrixEntries(const RequestLimits& limits) {
  const int64_t side = static_cast<int64_t>(limits.max_stops) + 2;  // courier, stops, end
  return side * side;
}

// The ZeroCopyInputStream over `chunks`, kept with the streams it concatenates.
class ChunkStream {
 public:
  explicit ChunkStream(std::span<const std::string_view> chunks) {
    parts_.reserve(chunks.size());
    for (std::string_view chunk : chunks) {
      parts_.push_back(std::make_unique<google::protobuf::io::ArrayInputStream>(
          chunk.data(), static_cast<int>(chunk.size())));
      pointers_.push_back(parts_.back().get());
    }
    stream_ = std::make_unique<google::protobuf::io::ConcatenatingInputStream>(
        pointers_.data(), static_cast<int>(pointers_.size()));
  }
  google::protobuf::io::ZeroCopyInputStream* get() { return stream_.get(); }

 private:
  std::vector<std::unique_ptr<google::protobuf::io::ArrayInputStream>> parts_;
  std::vector<google::protobuf::io::ZeroCopyInputStream*> pointers_;
  std::unique_ptr<google::protobuf::io::ConcatenatingInputStream> stream_;
};

// What the walk counts, and why it stopped early (an empty `malformed` when it did not).
struct Walk {
  int64_t fields = 0;
  int64_t stops = 0;
  int64_t matrix_entries = 0;
  std::string* request_id = nullptr;
  std::string malformed;
};

bool Fail(Walk& walk, const CodedInputStream& input, absl::string_view why) {
  walk.malformed = absl::StrCat(why, " at byte ", input.CurrentPosition());
  return false;
}

// Walks one message's fields up to the input's current limit. Known message-typed fields are
// walked into; everything else is skipped unread. False on bytes that are no message.
bool WalkMessage(CodedInputStream& input, const Descriptor* type, bool top_level, Walk& walk) {
  for (;;) {
    const uint32_t tag = input.ReadTag();
    if (tag == 0) {
      // The end of the input or of the limit, or a tag that is not one (0, unreadable). A
      // sub-message cut short by the end of the input is caught by its caller.
      if (!input.ConsumedEntireMessage()) return Fail(walk, input, "malformed tag");
      return true;
    }
    const int number = static_cast<int>(tag >> 3);
    const auto wire_type = static_cast<WireType>(tag & 7);
    if (number == 0) return Fail(walk, input, "field number 0");
    ++walk.fields;
    const FieldDescriptor* field = type != nullptr ? type->FindFieldByNumber(number) : nullptr;
    switch (wire_type) {
      case WireType::WIRETYPE_VARINT: {
        uint64_t ignored;
        if (!input.ReadVarint64(&ignored)) return Fail(walk, input, "truncated varint");
        break;
      }
      case WireType::WIRETYPE_FIXED64: {
        uint64_t ignored;
        if (!input.ReadLittleEndian64(&ignored)) return Fail(walk, input, "truncated fixed64");
        if (top_level && number == kMatrixField) ++walk.matrix_entries;  // an unpacked entry
        break;
      }
      case WireType::WIRETYPE_FIXED32: {
        uint32_t ignored;
        if (!input.ReadLittleEndian32(&ignored)) return Fail(walk, input, "truncated fixed32");
        break;
      }
      case WireType::WIRETYPE_LENGTH_DELIMITED: {
        uint32_t length;
        if (!input.ReadVarint32(&length) ||
            length > static_cast<uint32_t>(std::numeric_limits<int>::max())) {
          return Fail(walk, input, "malformed length");
        }
        if (top_level && number == kStopsField) ++walk.stops;
        if (top_level && number == kMatrixField) walk.matrix_entries += length / sizeof(double);
        if (top_level && number == kRequestIdField && walk.request_id != nullptr &&
            length <= kMaxEchoedIdBytes) {
          if (!input.ReadString(walk.request_id, static_cast<int>(length))) {
            return Fail(walk, input, "truncated string");
          }
          break;
        }
        if (field != nullptr && field->type() == FieldDescriptor::TYPE_MESSAGE) {
          const CodedInputStream::Limit limit = input.PushLimit(static_cast<int>(length));
          if (!WalkMessage(input, field->message_type(), /*top_level=*/false, walk)) return false;
          if (input.BytesUntilLimit() != 0) return Fail(walk, input, "truncated message");
          input.PopLimit(limit);
          break;
        }
        if (!input.Skip(static_cast<int>(length))) return Fail(walk, input, "truncated field");
        break;
      }
      case WireType::WIRETYPE_START_GROUP:
      case WireType::WIRETYPE_END_GROUP:
        // Unknown groups would be parsed into nested objects; no proto3 writer emits them.
        return Fail(walk, input, absl::StrCat("field ", number, " in the group encoding"));
      default:
        return Fail(walk, input, absl::StrCat("field ", number, " of wire type ",
                                              static_cast<int>(wire_type)));
    }
  }
}

}  // namespace

int64_t MaxRequestFields(const RequestLimits& limits) {
  return kFieldsOutsideStops + kFieldsPerStop * limits.max_stops + MaxMatrixEntries(limits);
}

absl::StatusOr<v1::SuggestRequest*> DecodeSuggestRequest(std::span<const std::string_view> chunks,
                                                         const RequestLimits& limits,
                                                         google::protobuf::Arena* arena,
                                                         absl::string_view subject,
                                                         std::string* request_id) {
  auto invalid = [subject](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat(subject, " is not a valid SuggestRequest: ", why));
  };
  Walk walk{.request_id = request_id};
  {
    ChunkStream stream(chunks);
    CodedInputStream input(stream.get());
    if (!WalkMessage(input, v1::SuggestRequest::descriptor(), /*top_level=*/true, walk)) {
      return invalid(walk.malformed);
    }
  }
  if (walk.stops > limits.max_stops) {
    return absl::InvalidArgumentError(
        absl::StrCat("stops: ", walk.stops, " stops, above the limit of ", limits.max_stops));
  }
  if (walk.matrix_entries > MaxMatrixEntries(limits)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "travel_time_matrix_s: ", walk.matrix_entries, " entries, more than a request of ",
        limits.max_stops, " stops can hold (", MaxMatrixEntries(limits), ")"));
  }
  if (walk.fields > MaxRequestFields(limits)) {
    return invalid(absl::StrCat(walk.fields, " fields, more than a request of ", limits.max_stops,
                                " stops can hold (", MaxRequestFields(limits), ")"));
  }

  v1::SuggestRequest* request = google::protobuf::Arena::CreateMessage<v1::SuggestRequest>(arena);
  ChunkStream stream(chunks);
  if (!request->ParseFromZeroCopyStream(stream.get())) {
    return invalid("malformed protobuf");  // e.g. a string field that is not UTF-8
  }
  if (request_id != nullptr) *request_id = request->request_id();
  return request;
}

}  // namespace routeserve::api
