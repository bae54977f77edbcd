// Log: one timestamped line per event on stderr, for the server's phases and its rare errors.
//
// Lines look like "2026-11-23T10:15:02.123Z routeserve: listening on 127.0.0.1:50051"; tests and
// scripts parse some of them, so the prefix stays stable. Thread-safe: a line is written whole.
#pragma once

#include "absl/strings/string_view.h"

#include "absl/strings/str_format.h"

namespace routeserve::base {

void LogLine(absl::string_view message);

template <typename... Args>
void Log(const absl::FormatSpec<Args...>& format, const Args&... args) {
  LogLine(absl::StrFormat(format, args...));
}

}  // namespace routeserve::base
