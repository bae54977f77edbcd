// IntList: a flag of comma-separated integers, "8,10,12,20,50" (sizes, batch sizes, ...), for
// ABSL_FLAG(routeserve::program::IntList, ...). Absl has no vector<int> flag; its
// vector<string> one would leave each binary to convert and check the numbers itself.
// The binary checks the range of each value; the parser only that there is at least one and
// that each is an int.
#pragma once

#include <initializer_list>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace routeserve::program {

struct IntList {
  IntList() = default;
  IntList(std::initializer_list<int> list) : values(list) {}

  std::vector<int> values;
};

// Absl's marshalling hooks, found by argument-dependent lookup.
bool AbslParseFlag(absl::string_view text, IntList* list, std::string* error);
std::string AbslUnparseFlag(const IntList& list);

}  // namespace routeserve::program
