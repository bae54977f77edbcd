// StopsSpec: parsing and drawing request sizes.
#include "tools/common/stops_spec.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace routeserve::tools {
namespace {

// A size in [1, kMaxStops], digits only (no sign, no spaces).
bool ParseSize(absl::string_view text, int& size) {
  if (text.empty() ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return false;
  }
  return absl::SimpleAtoi(text, &size) && size >= 1 && size <= StopsSpec::kMaxStops;
}

}  // namespace

absl::StatusOr<StopsSpec> StopsSpec::Parse(const std::string& text) {
  const auto bad = [&text](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("\"", text, "\" ", why));
  };
  constexpr absl::string_view kForms =
      "is not a stop count (20), a range (8-50) or a list (10,20,50) of sizes in [1, 10000]";
  StopsSpec spec;
  if (text.find(',') != std::string::npos) {
    for (absl::string_view part : absl::StrSplit(text, ',')) {
      int size = 0;
      if (!ParseSize(part, size)) return bad(kForms);
      spec.list_.push_back(size);
    }
    spec.low_ = *std::min_element(spec.list_.begin(), spec.list_.end());
    spec.high_ = *std::max_element(spec.list_.begin(), spec.list_.end());
    return spec;
  }
  if (const size_t dash = text.find('-'); dash != std::string::npos) {
    const absl::string_view all(text);
    if (!ParseSize(all.substr(0, dash), spec.low_) ||
        !ParseSize(all.substr(dash + 1), spec.high_)) {
      return bad(kForms);
    }
    if (spec.low_ > spec.high_) return bad("is a range that runs backwards");
    return spec;
  }
  if (!ParseSize(text, spec.low_)) return bad(kForms);
  spec.high_ = spec.low_;
  return spec;
}

int StopsSpec::SizeOf(int64_t index, uint64_t random) const {
  if (!list_.empty()) return list_[static_cast<size_t>(index) % list_.size()];
  const auto span = static_cast<uint64_t>(high_ - low_) + 1;
  return low_ + static_cast<int>(random % span);
}

int StopsSpec::min_stops() const { return low_; }
int StopsSpec::max_stops() const { return high_; }

std::string StopsSpec::ToString() const {
  if (!list_.empty()) return absl::StrJoin(list_, ",");
  if (low_ == high_) return absl::StrCat(low_);
  return absl::StrCat(low_, "-", high_);
}

}  // namespace routeserve::tools
