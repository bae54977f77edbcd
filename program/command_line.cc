#include "program/command_line.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "program/failure.h"

namespace routeserve::program {
namespace {

// --help: the flag column's width and the line's.
constexpr size_t kFlagColumn = 26;
constexpr size_t kLineWidth = 100;

// Abseil's own flags (--flagfile, --fromenv, ...) are defined in its sources; a binary does not
// offer them.
bool IsAbseilFlag(const absl::CommandLineFlag& flag) {
  return absl::StrContains(flag.Filename(), "absl/flags/");
}

// The binary's flags, by name.
std::vector<absl::CommandLineFlag*> OwnFlags() {
  std::vector<absl::CommandLineFlag*> flags;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (!flag->IsRetired() && !IsAbseilFlag(*flag)) flags.push_back(flag);
  }
  std::sort(flags.begin(), flags.end(),
            [](const auto* a, const auto* b) { return a->Name() < b->Name(); });
  return flags;
}

// Every default unparses to text its flag's parser reads back (absl's marshalling contract).
void ResetToDefaults() {
  for (absl::CommandLineFlag* flag : OwnFlags()) {
    std::string error;
    flag->ParseFrom(flag->DefaultValue(), &error);
  }
}

// One argument that starts with a dash: "--name=value", "-name", ...
struct FlagArgument {
  std::string spelled;  // as given, without "=value": "--print-request"
  std::string name;     // as absl names it: "print_request"
  std::optional<std::string> value;
};

FlagArgument SplitFlag(const std::string& arg) {
  FlagArgument out;
  const size_t equals = arg.find('=');
  out.spelled = arg.substr(0, equals);
  if (equals != std::string::npos) out.value = arg.substr(equals + 1);
  const size_t dashes = absl::StartsWith(out.spelled, "--") ? 2 : 1;
  out.name = absl::StrReplaceAll(out.spelled.substr(dashes), {{"-", "_"}});
  return out;
}

// The binary's flag `argument` names, or nullptr; `value` is the value given after "=", or the
// one a bool flag's bare --NAME (true) or --noNAME (false) gives it.
absl::CommandLineFlag* FindFlag(const FlagArgument& argument, std::optional<std::string>& value) {
  value = argument.value;
  absl::CommandLineFlag* flag = absl::FindCommandLineFlag(argument.name);
  if (flag == nullptr && absl::StartsWith(argument.name, "no") && !value.has_value()) {
    flag = absl::FindCommandLineFlag(argument.name.substr(2));
    if (flag == nullptr || !flag->IsOfType<bool>()) return nullptr;
    value = "false";
  } else if (flag != nullptr && flag->IsOfType<bool>() && !value.has_value()) {
    value = "true";
  }
  if (flag == nullptr || flag->IsRetired() || IsAbseilFlag(*flag)) return nullptr;
  return flag;
}

// Absl's message says "Illegal value 'x' specified for flag 'n'" and, after "; ", what the type's
// parser said, if anything: only that part is worth repeating.
std::string BadValue(const FlagArgument& argument, const std::string& value,
                     const std::string& absl_error) {
  std::string message = absl::StrCat(argument.spelled, ": bad value '", value, "'");
  if (const size_t detail = absl_error.find("; "); detail != std::string::npos) {
    absl::StrAppend(&message, ": ", absl_error.substr(detail + 2));
  }
  return message;
}

// `text` from `column` on, wrapped to kLineWidth, every further line indented to kFlagColumn.
std::string Wrap(const std::string& text, size_t column) {
  std::string out;
  for (absl::string_view word : absl::StrSplit(text, ' ', absl::SkipEmpty())) {
    if (!out.empty() && column + 1 + word.size() > kLineWidth) {
      absl::StrAppend(&out, "\n", std::string(kFlagColumn, ' '));
      column = kFlagColumn;
    } else if (!out.empty()) {
      out += ' ';
      ++column;
    }
    absl::StrAppend(&out, word);
    column += word.size();
  }
  return out;
}

}  // namespace

absl::StatusOr<CommandLine> ParseArgs(const std::vector<std::string>& args,
                                      const CommandLineSpec& spec) {
  ResetToDefaults();
  std::map<std::string, absl::Flag<std::vector<std::string>>*, std::less<>> repeated;
  for (absl::Flag<std::vector<std::string>>* flag : spec.repeated) {
    repeated.emplace(absl::GetFlagReflectionHandle(*flag).Name(), flag);
  }
  std::map<std::string, std::vector<std::string>, std::less<>> occurrences;

  CommandLine command_line;
  std::optional<absl::Status> error;  // the first; --help wins over it
  const auto fail = [&error](std::string message) {
    if (!error.has_value()) error = UsageError(message);
  };
  // The checked flags, spelled as absl reads them: "--name=value".
  std::vector<std::string> for_absl = {spec.name};
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--" || arg.size() < 2 || arg[0] != '-') {
      const size_t stray = arg == "--" ? i + 1 : i;  // "--" ends the flags
      if (stray < args.size()) {
        fail(absl::StrCat("unexpected argument \"", args[stray], "\" (", spec.name,
                          " takes flags only)"));
      }
      if (arg == "--") break;
      continue;
    }
    const FlagArgument argument = SplitFlag(arg);
    if (argument.name == "help" || argument.name == "h") {
      command_line.help = true;
      continue;
    }
    std::optional<std::string> value;
    // The value after "=", else the next argument.
    const auto take_value = [&]() -> bool {
      if (!value.has_value() && i + 1 < args.size()) value = args[++i];
      if (!value.has_value()) fail(absl::StrCat(argument.spelled, ": needs a value"));
      return value.has_value();
    };
    if (const auto it = repeated.find(argument.name); it != repeated.end()) {
      value = argument.value;
      if (take_value()) occurrences[it->first].push_back(*value);
      command_line.given.insert(it->first);
      continue;
    }
    absl::CommandLineFlag* flag = FindFlag(argument, value);
    if (flag == nullptr) {
      fail(absl::StrCat("unknown flag ", argument.spelled, " (--help lists the flags)"));
      continue;
    }
    if (!take_value()) continue;
    std::string absl_error;
    if (!flag->ParseFrom(*value, &absl_error)) {
      fail(BadValue(argument, *value, absl_error));
      continue;
    }
    command_line.given.insert(std::string(flag->Name()));
    for_absl.push_back(absl::StrCat("--", flag->Name(), "=", *value));
  }
  if (command_line.help) return command_line;
  if (error.has_value()) return *error;

  // Checked: absl parses what it will accept, and sets each flag as the line says.
  std::vector<char*> argv;
  for (std::string& arg : for_absl) argv.push_back(arg.data());
  absl::ParseCommandLine(static_cast<int>(argv.size()), argv.data());
  for (const auto& [name, values] : occurrences) absl::SetFlag(repeated.at(name), values);
  return command_line;
}

CommandLine ParseCommandLine(int argc, char** argv, const CommandLineSpec& spec) {
  absl::SetProgramUsageMessage(spec.usage);
  absl::StatusOr<CommandLine> parsed =
      ParseArgs(std::vector<std::string>(argv + 1, argv + argc), spec);
  if (!parsed.ok()) std::exit(Exit(spec.name, parsed.status()));
  if (parsed->help) {
    std::fputs(HelpText().c_str(), stdout);
    std::fflush(stdout);
    std::exit(kExitOk);
  }
  return *std::move(parsed);
}

std::string HelpText() {
  std::string out(absl::ProgramUsageMessage());
  if (!absl::EndsWith(out, "\n")) out += '\n';
  out += "\nFlags:\n";
  for (const absl::CommandLineFlag* flag : OwnFlags()) {
    std::string line = absl::StrCat("  --", flag->Name());
    std::string help = flag->Help();
    const std::string default_value = flag->DefaultValue();
    if (!default_value.empty() && !(flag->IsOfType<bool>() && default_value == "false")) {
      absl::StrAppend(&help, " (default: ", default_value, ")");
    }
    if (line.size() + 1 >= kFlagColumn) {
      absl::StrAppend(&line, "\n", std::string(kFlagColumn, ' '));
    } else {
      line.resize(kFlagColumn, ' ');
    }
    absl::StrAppend(&out, line, Wrap(help, kFlagColumn), "\n");
  }
  absl::StrAppend(&out, "  --help                  print this text and exit\n");
  return out;
}

}  // namespace routeserve::program
