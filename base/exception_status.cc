// StatusFromException (base/exception_status.h).
#include "base/exception_status.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace routeserve::base {

absl::Status StatusFromException(absl::string_view what, std::exception_ptr exception,
                                 const std::function<std::string(const std::exception&)>& text_of) {
  try {
    std::rethrow_exception(std::move(exception));
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat(what, ": ", text_of ? text_of(e) : e.what()));
  } catch (...) {
    return absl::InternalError(absl::StrCat(what, ": unknown exception"));
  }
}

}  // namespace routeserve::base
