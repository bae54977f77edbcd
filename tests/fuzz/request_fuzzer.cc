// The libFuzzer target over request decoding, validation, conversion, the evaluator and the
// solvers (tests/fuzz/request_checks.h): a property that fails is printed and aborts, which
// libFuzzer reports as a crash and saves the input. `make fuzz` builds and runs it.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tests/fuzz/request_checks.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string failure = routeserve::fuzz::CheckRequestBytes(
      std::string_view(reinterpret_cast<const char*>(data), size));
  if (!failure.empty()) {
    std::fprintf(stderr, "property failed: %s\n", failure.c_str());
    std::abort();
  }
  return 0;
}
