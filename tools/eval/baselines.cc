// The baselines file: keys, reading and writing.
#include "tools/eval/baselines.h"

#include <bit>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/random.h"
#include "model/features.h"

namespace routeserve::tools {
namespace {

uint64_t Mixed(uint64_t state, uint64_t word) {
  return base::SplitMix64::Mix(state ^ base::SplitMix64::Mix(word));
}

uint64_t Mixed(uint64_t state, double value) {
  return Mixed(state, std::bit_cast<uint64_t>(value));
}

}  // namespace

uint64_t BaselineKey(const routing::Instance& instance) {
  uint64_t key = model::ProblemHash(instance);
  const int nodes = instance.num_stops() + 1 + (instance.has_end() ? 1 : 0);
  for (int from = 0; from < nodes; ++from) {
    for (int to = 0; to < nodes; ++to) key = Mixed(key, instance.travel_s(from, to));
  }
  key = Mixed(key, instance.params().lateness_weight);
  return Mixed(key, instance.params().waiting_weight);
}

absl::StatusOr<Baselines> ReadBaselines(const std::string& path) {
  Baselines baselines;
  std::ifstream file(path);
  if (!file.is_open()) {
    if (errno == ENOENT) return baselines;
    return absl::NotFoundError(absl::StrCat(path, ": cannot be opened: ", std::strerror(errno)));
  }
  std::string line;
  for (int number = 1; std::getline(file, line); ++number) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    uint64_t key = 0;
    double cost = 0;
    std::string rest;
    if (!(fields >> std::hex >> key >> std::dec >> cost) || (fields >> rest) ||
        !std::isfinite(cost)) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ":", number, ": expected a key (hex) and a baseline cost, got \"", line, "\""));
    }
    baselines[key] = cost;
  }
  return baselines;
}

absl::Status WriteBaselines(const std::string& path, const Baselines& baselines) {
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary);
    out << "# routeserve-eval baselines: problem key, baseline cost (tools/eval/baselines.h)\n";
    for (const auto& [key, cost] : baselines) {
      out << absl::StrFormat("%016x %.17g\n", key, cost);
    }
    if (!out.flush()) return absl::DataLossError(absl::StrCat("cannot write ", temporary));
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    return absl::DataLossError(
        absl::StrCat("cannot rename ", temporary, " to ", path, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace routeserve::tools
