#include "program/int_list.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace routeserve::program {

bool AbslParseFlag(absl::string_view text, IntList* list, std::string* error) {
  std::vector<int> values;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    int value = 0;
    if (!absl::SimpleAtoi(part, &value)) {
      *error = "expected integers separated by commas, e.g. 8,10,12";
      return false;
    }
    values.push_back(value);
  }
  list->values = std::move(values);
  return true;
}

std::string AbslUnparseFlag(const IntList& list) { return absl::StrJoin(list.values, ","); }

}  // namespace routeserve::program
