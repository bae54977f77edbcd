// Replays the fuzz target's committed corpus (tests/fuzz/corpus: the seeds and every input that
// once broke a property) through the target's checks, in the normal suite and without libFuzzer.
// A file's name says what it is: valid-* must be accepted and invalid-* refused by validation;
// refused-* (wire bytes) refused by the server's decoder before validation; the others (inputs
// the fuzzer found) need only hold the properties.
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "absl/strings/match.h"
#include "api/request.h"
#include "api/request_decoder.h"
#include "google/protobuf/arena.h"
#include "tests/fuzz/request_checks.h"

namespace routeserve::fuzz {
namespace {

std::vector<std::filesystem::path> CorpusFiles() {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(ROUTESERVE_FUZZ_CORPUS_DIR)) {
    if (entry.is_regular_file() && entry.path().filename() != "README.md") {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST_CASE("every input of the fuzz corpus holds the fuzz target's properties", "[fuzz]") {
  const std::vector<std::filesystem::path> files = CorpusFiles();
  REQUIRE(files.size() >= 10);
  for (const std::filesystem::path& path : files) {
    const std::string name = path.filename().string();
    INFO(name);
    const std::string bytes = ReadFile(path);
    CHECK(CheckRequestBytes(bytes) == "");
    if (absl::StartsWith(name, "refused-")) {
      google::protobuf::Arena arena;
      const std::vector<std::string_view> chunks = {bytes};
      const absl::Status status =
          api::DecodeSuggestRequest(chunks, {.max_stops = kFuzzMaxStops}, &arena, "request")
              .status();
      INFO(status.ToString());
      CHECK(status.code() == absl::StatusCode::kInvalidArgument);
      CHECK(arena.SpaceAllocated() == 0);  // refused before anything was parsed
    }
    if (absl::StartsWith(name, "valid-") || absl::StartsWith(name, "invalid-")) {
      const std::optional<v1::SuggestRequest> request = DecodeRequest(bytes);
      REQUIRE(request.has_value());
      const absl::Status status =
          api::ToRouteProblem(*request, {.max_stops = kFuzzMaxStops}).status();
      INFO(status.ToString());
      CHECK(status.ok() == absl::StartsWith(name, "valid-"));
    }
  }
}

}  // namespace
}  // namespace routeserve::fuzz
