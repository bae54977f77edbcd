// SHA-256 (FIPS 180-4), for the model's content hash in model_version (docs/MODEL.md). Small
// and dependency-free: the project links no crypto library for one digest.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace routeserve::model {

class Sha256 {
 public:
  Sha256();
  // Adds bytes to the message; may be called any number of times before Finish().
  void Update(const void* data, size_t size);
  void Update(std::string_view bytes) { Update(bytes.data(), bytes.size()); }
  // The digest of everything added. The object is spent afterwards.
  std::array<uint8_t, 32> Finish();

 private:
  void Block(const uint8_t* block);

  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> buffer_{};
  size_t buffered_ = 0;
  uint64_t length_ = 0;  // bytes
};

// Lower-case hex of a digest.
std::string HexDigest(const std::array<uint8_t, 32>& digest);

// The hex SHA-256 of a file's content; NotFound / InvalidArgument naming the path.
absl::StatusOr<std::string> Sha256OfFile(const std::string& path);

}  // namespace routeserve::model
