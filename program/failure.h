// How every routeserve binary fails: the work returns an absl::Status, and main() turns a
// failed one into one line on stderr, "name: message", and the exit status the status carries.
//
// Exit statuses: 0 success; 2 a usage error (the command line is wrong, nothing was done);
// 1 any other failure, unless the binary documents another for it (routeserve exits 2 on a bad
// config) and attaches it with WithExitCode. The exit status travels as a payload of the status,
// so that it survives being passed up through code that knows nothing of exit statuses.
#pragma once

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace routeserve::program {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

// InvalidArgument with `message`, exiting 2.
absl::Status UsageError(absl::string_view message);

// `status` (not OK) exiting `exit_code`; an OK status stays OK.
absl::Status WithExitCode(absl::Status status, int exit_code);

// 0 for OK; the exit status attached to `status`; else 1.
int ExitCode(const absl::Status& status);

// For main(): nothing for OK; else prints "name: message" on stderr. Returns ExitCode(status).
int Exit(absl::string_view name, const absl::Status& status);

}  // namespace routeserve::program
