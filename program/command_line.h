// How every routeserve binary reads its command line: its flags are ABSL_FLAGs, parsed by
// absl::ParseCommandLine, and `--help` lists them with their help texts after the message given
// to absl::SetProgramUsageMessage. What this adds to Abseil, and why:
//
// - USAGE ERRORS EXIT 2. absl::ParseCommandLine exits 1 on an unknown flag or a bad value, which
//   the binaries' documented exit statuses give to failures of the work itself. So the command
//   line is checked first, argument by argument, against the flags absl knows
//   (absl::FindCommandLineFlag) and their own parsers (CommandLineFlag::ParseFrom): an unknown
//   flag, a flag without its value, a value its type refuses, or a positional argument (no
//   binary takes one) is a one-line UsageError naming it, before absl parses anything.
// - `--help` (and `-h`) prints HelpText() and exits 0, whatever else the line holds; absl's own
//   `--help` exits 1 and lists flags by source file.
// - REPEATABLE FLAGS keep their commas. absl parses a std::vector<std::string> flag as one
//   comma-separated list, and a later occurrence replaces an earlier one; routeserve's
//   `--set 'batching.buckets=[8,16]' --set server.address=...` needs every occurrence whole. The
//   flags a binary names in CommandLineSpec::repeated are taken out of the command line before
//   absl sees it, one element per occurrence, and set with absl::SetFlag.
// - `-` IN FLAG NAMES is read as `_` (`--print-request` is the flag print_request): C++
//   identifiers, which absl's flag names are, cannot hold a dash.
// - A BINARY TAKES ITS OWN FLAGS ONLY: Abseil's (--flagfile, --fromenv, ...) are unknown flags
//   here, and --help does not list them.
//
// Everything else is absl's: `--flag=value` and `--flag value` (not for bool flags), `--flag`,
// `--noflag` and `--flag=true|false` for bool flags, one or two leading dashes, `--` ending the
// flags, and a flag given twice taking its last value (a Kubernetes pod's `--config` overrides
// the image's this way).
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/statusor.h"

namespace routeserve::program {

// What a binary declares about its command line beyond its ABSL_FLAGs.
struct CommandLineSpec {
  // The binary's name, the prefix of its messages: "routeserve-cli: unknown flag --x".
  std::string name;
  // The text --help prints before the flags: a usage line and what the binary does. Given to
  // absl::SetProgramUsageMessage by ParseCommandLine.
  std::string usage;
  // Flags whose every occurrence is one element, commas and all (see above).
  std::vector<absl::Flag<std::vector<std::string>>*> repeated;
};

// What the command line said beyond the flags' values.
struct CommandLine {
  bool help = false;  // --help or -h: the caller prints HelpText() and stops
  // The flags the command line names, as absl names them ("print_request", "matrix" for
  // --nomatrix): for the rules between flags ("--seed goes with --generate").
  std::set<std::string, std::less<>> given;

  bool Given(std::string_view flag) const { return given.count(flag) > 0; }
};

// Parses `args`, the arguments after the program's name, into the flags. Every flag of the
// binary starts from its default, so that the result depends on `args` alone (tests parse many
// command lines in one process). A usage error is a UsageError (program/failure.h) whose message
// names the argument at fault.
absl::StatusOr<CommandLine> ParseArgs(const std::vector<std::string>& args,
                                      const CommandLineSpec& spec);

// For main(): sets the usage message, then ParseArgs. On --help prints HelpText() on stdout and
// exits 0; on a usage error prints "name: message" on stderr and exits 2.
CommandLine ParseCommandLine(int argc, char** argv, const CommandLineSpec& spec);

// absl::ProgramUsageMessage(), then every flag of the binary (not Abseil's own) in name order,
// with its help text and its default value.
std::string HelpText();

}  // namespace routeserve::program
