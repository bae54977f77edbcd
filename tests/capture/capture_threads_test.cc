// capture/request_capture.h under callers on many threads beside its writer: each capture is
// written whole, once, or counted dropped. Run under ThreadSanitizer by make test-tsan, so it
// reads the lines as text: protobuf's JSON parser is left to the other tests.
#include "capture/request_capture.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "route_checks.h"
#include "tests/eventually.h"
#include "tests/temp_dir.h"

namespace routeserve::capture {
namespace {

TEST_CASE("captures recorded from many threads at once are each written whole or counted "
          "dropped",
          "[capture]") {
  testing::TempDir dir;
  const std::filesystem::path path = dir.path() / "captured.jsonl";
  constexpr int kThreads = 4, kEach = 50;
  CaptureCounts counts;
  {
    const std::unique_ptr<RequestCapture> capture =
        *RequestCapture::Start({.path = path.string(), .sample_ratio = 1});
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&capture, t] {
        for (int i = 0; i < kEach; ++i) {
          const v1::SuggestRequest request = testing::MakeRequest(
              routing::GeneratorOptions{}, 10, 100 * t + i, absl::StrCat("t", t, "-", i));
          planning::PlanResult answer;
          for (int stop = 0; stop < 10; ++stop) answer.order.push_back(stop);
          capture->Record(capture->Draw(request), answer);
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
    CHECK(testing::Eventually(
        [&] {
          counts = capture->counts();
          return counts.written + counts.dropped == kThreads * kEach;
        },
        absl::Seconds(60)));
  }
  std::ifstream file(path);
  std::set<std::string> ids;
  int64_t lines = 0;
  for (std::string line; std::getline(file, line); ++lines) {
    CHECK(line.front() == '{');
    CHECK(line.back() == '}');
    const size_t at = line.find("\"request_id\":\"");
    REQUIRE(at != std::string::npos);
    const size_t start = at + 14;
    ids.insert(line.substr(start, line.find('"', start) - start));
  }
  CHECK(lines == counts.written);
  CHECK(static_cast<int64_t>(ids.size()) == counts.written);  // each once
}

}  // namespace
}  // namespace routeserve::capture
