// program::ParseArgs and HelpText on flags of this test's own: absl's spellings, the last value
// winning, every flag back at its default for each parse, --set-style repeated flags keeping
// their commas, dashes in names, and each usage error naming the argument at fault.
#include <catch2/catch.hpp>

#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "program/command_line.h"
#include "program/failure.h"
#include "program/int_list.h"

ABSL_FLAG(int, count, 3, "how many");
ABSL_FLAG(bool, verbose, false, "say more");
ABSL_FLAG(std::string, name, "", "a name");
ABSL_FLAG(std::optional<double>, rate, std::nullopt, "a rate, when given");
ABSL_FLAG(bool, print_request, false, "print it");
ABSL_FLAG(routeserve::program::IntList, sizes, routeserve::program::IntList({8, 10}),
          "stop counts");
ABSL_FLAG(std::vector<std::string>, set, {}, "an override; repeatable");
ABSL_FLAG(std::string, long_help, "x",
          "a help text long enough to be wrapped: it goes on and on about what the flag does, "
          "for more words than one line of the help can hold, so that the reader sees it "
          "folded under the flag's name rather than running off the edge");

namespace routeserve::program {
namespace {

const CommandLineSpec& Spec() {
  static const CommandLineSpec spec = {.name = "program_test", .repeated = {&FLAGS_set}};
  return spec;
}

CommandLine Parse(const std::vector<std::string>& args) {
  absl::StatusOr<CommandLine> parsed = ParseArgs(args, Spec());
  INFO(absl::StrJoin(args, " ") << ": " << parsed.status());
  REQUIRE(parsed.ok());
  return *parsed;
}

TEST_CASE("ParseArgs: --flag=value and --flag value, bool flags in absl's spellings") {
  const CommandLine line = Parse({"--count=5", "--name", "x y", "--verbose", "--rate", "2.5"});
  CHECK(absl::GetFlag(FLAGS_count) == 5);
  CHECK(absl::GetFlag(FLAGS_name) == "x y");
  CHECK(absl::GetFlag(FLAGS_verbose));
  CHECK(absl::GetFlag(FLAGS_rate) == 2.5);
  CHECK(line.Given("count"));
  CHECK(line.Given("rate"));
  CHECK_FALSE(line.Given("sizes"));
  CHECK_FALSE(line.help);

  Parse({"--verbose", "--noverbose"});
  CHECK_FALSE(absl::GetFlag(FLAGS_verbose));
  Parse({"-verbose=true"});
  CHECK(absl::GetFlag(FLAGS_verbose));
  CHECK(Parse({"--noverbose"}).Given("verbose"));

  Parse({"--sizes", "20,50,100"});
  CHECK(absl::GetFlag(FLAGS_sizes).values == std::vector<int>{20, 50, 100});
}

TEST_CASE("ParseArgs: a flag given twice takes its last value") {
  Parse({"--count", "1", "--count=2"});
  CHECK(absl::GetFlag(FLAGS_count) == 2);
  Parse({"--name=first", "--name=second"});
  CHECK(absl::GetFlag(FLAGS_name) == "second");
}

TEST_CASE("ParseArgs: every flag starts from its default") {
  Parse({"--count=9", "--verbose", "--rate=1", "--sizes=1", "--set", "a=1"});
  const CommandLine line = Parse({});
  CHECK(absl::GetFlag(FLAGS_count) == 3);
  CHECK_FALSE(absl::GetFlag(FLAGS_verbose));
  CHECK_FALSE(absl::GetFlag(FLAGS_rate).has_value());
  CHECK(absl::GetFlag(FLAGS_sizes).values == std::vector<int>{8, 10});
  CHECK(absl::GetFlag(FLAGS_set).empty());
  CHECK(line.given.empty());
}

TEST_CASE("ParseArgs: a repeated flag keeps every occurrence whole, commas included") {
  const CommandLine line = Parse({"--set", "batching.buckets=[8,16,32]", "--count=4",
                                  "--set=limits.max_stops=32", "--set", "a.b=x,y"});
  CHECK(absl::GetFlag(FLAGS_set) ==
        std::vector<std::string>{"batching.buckets=[8,16,32]", "limits.max_stops=32", "a.b=x,y"});
  CHECK(absl::GetFlag(FLAGS_count) == 4);
  CHECK(line.Given("set"));
}

TEST_CASE("ParseArgs: a dash in a flag's name is read as an underscore") {
  const CommandLine line = Parse({"--print-request"});
  CHECK(absl::GetFlag(FLAGS_print_request));
  CHECK(line.Given("print_request"));
}

TEST_CASE("ParseArgs: --help and -h, whatever else the line holds") {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--help"}, {"-h"}, {"--count=x", "stray", "--help"}}) {
    const absl::StatusOr<CommandLine> line = ParseArgs(args, Spec());
    REQUIRE(line.ok());
    CHECK(line->help);
  }
}

TEST_CASE("ParseArgs: usage errors exit 2 and name the argument") {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"--no-such-flag"}, "unknown flag --no-such-flag"},
      {{"--count=1", "-x=3"}, "unknown flag -x"},
      {{"--nocount"}, "unknown flag --nocount"},        // "no" negates bool flags only
      {{"--flagfile=f"}, "unknown flag --flagfile"},    // Abseil's own flags are not offered
      {{"stray"}, "unexpected argument \"stray\""},
      {{"--count=1", "--", "after"}, "unexpected argument \"after\""},
      {{"-"}, "unexpected argument \"-\""},
      {{"--count"}, "--count: needs a value"},
      {{"--set"}, "--set: needs a value"},
      {{"--count=abc"}, "--count: bad value 'abc'"},
      {{"--count", "1.5"}, "--count: bad value '1.5'"},
      {{"--verbose=maybe"}, "--verbose: bad value 'maybe'"},
      {{"--sizes=8,x"}, "--sizes: bad value '8,x': expected integers separated by commas"},
      {{"--sizes="}, "--sizes: bad value ''"},
  };
  for (const Case& c : cases) {
    INFO(absl::StrJoin(c.args, " "));
    const absl::StatusOr<CommandLine> line = ParseArgs(c.args, Spec());
    REQUIRE_FALSE(line.ok());
    INFO(line.status());
    CHECK(ExitCode(line.status()) == kExitUsage);
    CHECK(absl::StrContains(line.status().message(), c.message));
    CHECK_FALSE(absl::StrContains(line.status().message(), "\n"));
  }
}

TEST_CASE("HelpText: the usage message, then every flag with its help and default") {
  absl::SetProgramUsageMessage("usage: program_test [flags]\n\nParses flags.\n");
  const std::string help = HelpText();
  INFO(help);
  CHECK(absl::StartsWith(help, "usage: program_test [flags]\n\nParses flags.\n"));
  CHECK(absl::StrContains(help, "\n  --count                 how many (default: 3)\n"));
  CHECK(absl::StrContains(help, "\n  --verbose               say more\n"));
  CHECK(absl::StrContains(help, "\n  --sizes                 stop counts (default: 8,10)\n"));
  CHECK(absl::StrContains(help, "\n  --rate                  a rate, when given\n"));
  CHECK(absl::StrContains(help, "\n  --help "));
  CHECK_FALSE(absl::StrContains(help, "flagfile"));
  // In name order; the long help folded under its flag, every line within 100 columns.
  CHECK(help.find("--count") < help.find("--long_help"));
  CHECK(help.find("--long_help") < help.find("--name"));
  std::istringstream lines(help);
  int folded = 0;
  for (std::string line; std::getline(lines, line);) {
    CHECK(line.size() <= 100);
    if (absl::StartsWith(line, std::string(26, ' '))) ++folded;
  }
  CHECK(folded >= 1);
}

}  // namespace
}  // namespace routeserve::program
