// MemoryTrimmer: memory a thread allocated and freed stays resident until it is trimmed, and
// Trim() gives it back (read from /proc/self/statm).
#include "server/memory_trimmer.h"

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

namespace routeserve::server {
namespace {

int64_t ResidentBytes() {
  long pages_total = 0, pages_resident = 0;
  FILE* statm = std::fopen("/proc/self/statm", "r");
  REQUIRE(statm != nullptr);
  REQUIRE(std::fscanf(statm, "%ld %ld", &pages_total, &pages_resident) == 2);
  std::fclose(statm);
  return static_cast<int64_t>(pages_resident) * sysconf(_SC_PAGESIZE);
}

TEST_CASE("memory a burst freed stays resident until trimmed, and the trim gives it back",
          "[server][memory]") {
  constexpr int kBlocks = 4096;
  constexpr size_t kBlockBytes = 16 << 10;  // below glibc's mmap threshold: kept in the arena
  std::vector<char*> kept;
  // On a thread of its own, as a gRPC thread would: its own arena.
  std::thread burst([&kept] {
    std::vector<char*> blocks;
    for (int i = 0; i < kBlocks; ++i) {
      blocks.push_back(static_cast<char*>(std::malloc(kBlockBytes)));
      std::memset(blocks.back(), 1, kBlockBytes);  // resident
    }
    // Free all but one block in a hundred: the arena cannot shrink from its top.
    for (int i = 0; i < kBlocks; ++i) {
      if (i % 100 == 99) {
        kept.push_back(blocks[i]);
      } else {
        std::free(blocks[i]);
      }
    }
  });
  burst.join();

  CHECK(MemoryTrimmer::FreeBytes() > 32 << 20);  // what the trimmer looks at
  const int64_t before = ResidentBytes();
  CHECK(MemoryTrimmer::Trim());
  const int64_t after = ResidentBytes();
  INFO("resident before " << before << ", after " << after);
  CHECK(before - after > 32 << 20);  // most of the 63 MiB freed goes back
  for (char* block : kept) std::free(block);
}

}  // namespace
}  // namespace routeserve::server
