// StatusFromException: what an exception caught at a wall (a `catch (...)` that keeps a failure
// on one thread from ending the process, and answers for it instead) says, as an Internal
// status: "<what>: <the exception's text>".
#pragma once

#include <exception>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace routeserve::base {

// `text_of` turns a std::exception into its text; by default, its what(). Libraries whose
// exceptions carry more than a message (LibTorch's backtraces) pass their own.
absl::Status StatusFromException(
    absl::string_view what, std::exception_ptr exception,
    const std::function<std::string(const std::exception&)>& text_of = nullptr);

}  // namespace routeserve::base
