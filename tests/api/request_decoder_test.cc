// DecodeSuggestRequest: what it accepts is what protobuf parses, whichever way the bytes are
// chunked; what it refuses for its size it refuses before the parse, with nothing allocated in
// the arena; bytes that are no request are named as such.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>

#include "absl/strings/match.h"
#include "api/request.h"
#include "api/request_decoder.h"
#include "google/protobuf/arena.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/util/message_differencer.h"
#include "routing/generator.h"

namespace routeserve::api {
namespace {

const RequestLimits kLimits{.max_stops = 128};

std::string WireOf(const v1::SuggestRequest& request) {
  std::string bytes;
  REQUIRE(request.SerializeToString(&bytes));
  return bytes;
}

v1::SuggestRequest Generated(int stops, bool matrix) {
  routing::GeneratorOptions options;
  options.num_stops = stops;
  options.caller_matrix = matrix;
  v1::SuggestRequest request = ToSuggestRequest(routing::GenerateProblem(options, /*seed=*/11));
  request.set_request_id("courier-17");
  return request;
}

absl::StatusOr<v1::SuggestRequest*> Decode(const std::string& bytes, google::protobuf::Arena* arena,
                                           std::string* request_id = nullptr) {
  const std::vector<std::string_view> chunks = {bytes};
  return DecodeSuggestRequest(chunks, kLimits, arena, "request", request_id);
}

// Appends fields of the request message by hand (tag, then value), for what no writer of the
// generated code would send.
class WireWriter {
 public:
  WireWriter& Tag(int number, int wire_type) {
    coded_.WriteTag(static_cast<uint32_t>(number << 3 | wire_type));
    return *this;
  }
  WireWriter& Varint(uint64_t value) {
    coded_.WriteVarint64(value);
    return *this;
  }
  WireWriter& Bytes(const std::string& value) {
    coded_.WriteVarint32(static_cast<uint32_t>(value.size()));
    coded_.WriteString(value);
    return *this;
  }
  std::string Take() {
    coded_.Trim();
    return bytes_;
  }

 private:
  std::string bytes_;
  google::protobuf::io::StringOutputStream stream_{&bytes_};
  google::protobuf::io::CodedOutputStream coded_{&stream_};
};

constexpr int kVarint = 0;
constexpr int kLengthDelimited = 2;
constexpr int kStartGroup = 3;

TEST_CASE("a request decodes to what protobuf parses, however its bytes are chunked",
          "[api][decoder]") {
  for (const bool matrix : {false, true}) {
    const v1::SuggestRequest original = Generated(matrix ? 30 : 128, matrix);
    const std::string bytes = WireOf(original);
    google::protobuf::Arena arena;
    std::string id;
    absl::StatusOr<v1::SuggestRequest*> whole = Decode(bytes, &arena, &id);
    INFO(whole.status().ToString());
    REQUIRE(whole.ok());
    CHECK(google::protobuf::util::MessageDifferencer::Equals(**whole, original));
    CHECK(id == "courier-17");
    CHECK((*whole)->GetArena() == &arena);

    // Split into three chunks at a few places, as gRPC's slices may fall.
    for (const size_t cut : {size_t{1}, bytes.size() / 3, bytes.size() / 2, bytes.size() - 1}) {
      const std::string_view view(bytes);
      const std::vector<std::string_view> chunks = {view.substr(0, cut), view.substr(cut, 7),
                                                    view.substr(std::min(view.size(), cut + 7))};
      google::protobuf::Arena chunked_arena;
      absl::StatusOr<v1::SuggestRequest*> chunked =
          DecodeSuggestRequest(chunks, kLimits, &chunked_arena, "request");
      REQUIRE(chunked.ok());
      CHECK(google::protobuf::util::MessageDifferencer::Equals(**chunked, original));
    }
  }
}

TEST_CASE("two million empty stops are refused before anything is parsed", "[api][decoder]") {
  WireWriter writer;
  for (int i = 0; i < 2'000'000; ++i) writer.Tag(3, kLengthDelimited).Bytes("");
  const std::string bytes = writer.Take();
  REQUIRE(bytes.size() == 4'000'000);

  google::protobuf::Arena arena;
  absl::StatusOr<v1::SuggestRequest*> decoded = Decode(bytes, &arena);
  CHECK(decoded.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(decoded.status().message() == "stops: 2000000 stops, above the limit of 128");
  // Nothing was made: the arena never allocated a block.
  CHECK(arena.SpaceAllocated() == 0);
}

TEST_CASE("a flood of unknown fields, or a matrix larger than any request can hold, is refused "
          "before the parse",
          "[api][decoder]") {
  SECTION("unknown varint fields") {
    WireWriter writer;
    writer.Tag(1, kLengthDelimited).Bytes("flood");
    for (int i = 0; i < 100'000; ++i) writer.Tag(99, kVarint).Varint(0);
    google::protobuf::Arena arena;
    std::string id;
    absl::StatusOr<v1::SuggestRequest*> decoded = Decode(writer.Take(), &arena, &id);
    CHECK(decoded.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(absl::StartsWith(decoded.status().message(), "request is not a valid SuggestRequest: "));
    CHECK(absl::StrContains(decoded.status().message(), "fields, more than a request of 128"));
    CHECK(arena.SpaceAllocated() == 0);
    CHECK(id == "flood");  // read for the echo, though the request is refused
  }
  SECTION("a packed matrix of 20,000 entries") {
    v1::SuggestRequest request = Generated(5, false);
    for (int i = 0; i < 20'000; ++i) request.add_travel_time_matrix_s(1);
    google::protobuf::Arena arena;
    absl::StatusOr<v1::SuggestRequest*> decoded = Decode(WireOf(request), &arena);
    CHECK(decoded.status().message() ==
          "travel_time_matrix_s: 20000 entries, more than a request of 128 stops can hold "
          "(16900)");
    CHECK(arena.SpaceAllocated() == 0);
  }
}

TEST_CASE("bytes that are no SuggestRequest are named as such", "[api][decoder]") {
  const std::string good = WireOf(Generated(12, false));
  struct Case {
    const char* what;
    std::string bytes;
  };
  std::vector<Case> cases = {
      {"truncated in the middle", good.substr(0, good.size() / 2)},
      {"truncated by one byte", good.substr(0, good.size() - 1)},
      {"a zero tag", std::string("\x00\x01", 2)},
      {"a stop whose length runs past the end",
       WireWriter().Tag(3, kLengthDelimited).Varint(50).Take()},
      {"a group", WireWriter().Tag(9, kStartGroup).Take()},
      {"wire type 7", std::string("\x0f", 1)},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    google::protobuf::Arena arena;
    absl::StatusOr<v1::SuggestRequest*> decoded = Decode(c.bytes, &arena);
    REQUIRE(decoded.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(absl::StartsWith(decoded.status().message(), "request is not a valid SuggestRequest: "));
  }
  // The subject is the caller's.
  google::protobuf::Arena arena;
  const std::vector<std::string_view> chunks = {cases[0].bytes};
  CHECK(absl::StartsWith(
      DecodeSuggestRequest(chunks, kLimits, &arena, "message 6").status().message(),
      "message 6 is not a valid SuggestRequest: "));
}

TEST_CASE("the empty message decodes, to the empty request", "[api][decoder]") {
  google::protobuf::Arena arena;
  absl::StatusOr<v1::SuggestRequest*> decoded =
      DecodeSuggestRequest({}, kLimits, &arena, "request");
  REQUIRE(decoded.ok());
  CHECK((*decoded)->stops_size() == 0);
}

}  // namespace
}  // namespace routeserve::api
