// routeserve-datagen, run for real: every line is a valid request with a feasible route of the
// stated cost, exact where it says so, and the file does not depend on the number of threads.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "absl/strings/str_cat.h"
#include "api/request.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "routing/evaluator.h"
#include "routing/exact_solver.h"
#include "routing/instance.h"

namespace routeserve::tools {
namespace {

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TMPDIR");
  return absl::StrCat(dir != nullptr ? dir : "/tmp", "/routeserve-datagen-", getpid(), "-", name);
}

// Runs the tool; its exit code.
int Datagen(const std::string& arguments) {
  const int status = std::system(absl::StrCat(ROUTESERVE_DATAGEN_BINARY, " ", arguments,
                                              " 2>/dev/null").c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST_CASE("every line holds a valid request and a feasible route of the stated cost") {
  const std::string path = TempPath("lines.jsonl");
  REQUIRE(Datagen("--count 60 --stops 3-14 --seed 5 --exact_up_to 9 --rounds 20 --out " + path) ==
          0);
  std::ifstream in(path);
  std::string line;
  int lines = 0, exact = 0;
  while (std::getline(in, line)) {
    ++lines;
    INFO("line " << lines);
    google::protobuf::Struct object;
    REQUIRE(google::protobuf::util::JsonStringToMessage(line, &object).ok());
    const auto& fields = object.fields();
    std::string request_json;
    REQUIRE(google::protobuf::util::MessageToJsonString(fields.at("request"), &request_json).ok());
    v1::SuggestRequest request;
    REQUIRE(google::protobuf::util::JsonStringToMessage(request_json, &request).ok());
    absl::StatusOr<routing::RouteProblem> problem = api::ToRouteProblem(request, {.max_stops = 128});
    REQUIRE(problem.ok());
    const routing::Instance instance = *routing::Instance::Build(*problem, {});

    std::vector<int> order;
    for (const auto& value : fields.at("order").list_value().values()) {
      order.push_back(static_cast<int>(value.number_value()));
    }
    const routing::RouteEvaluation evaluation = routing::Evaluate(instance, order);
    REQUIRE(evaluation.feasible());
    CHECK(fields.at("cost").number_value() == Approx(evaluation.cost).epsilon(1e-12));
    const bool optimal = fields.at("optimal").bool_value();
    CHECK(optimal == (instance.num_stops() <= 9));
    if (optimal) {
      ++exact;
      CHECK(evaluation.cost == Approx(routing::SolveExact(instance)->cost).epsilon(1e-12));
    }
    CHECK(!fields.at("regime").string_value().empty());
  }
  CHECK(lines == 60);
  CHECK(exact > 10);
  std::remove(path.c_str());
}

TEST_CASE("the file is the same whatever the number of threads: seeds keep files apart") {
  const std::string one = TempPath("one.jsonl"), two = TempPath("two.jsonl"),
                    other = TempPath("other.jsonl");
  REQUIRE(Datagen("--count 40 --stops 5-20 --seed 2 --rounds 10 --threads 1 --out " + one) == 0);
  REQUIRE(Datagen("--count 40 --stops 5-20 --seed 2 --rounds 10 --threads 2 --out " + two) == 0);
  REQUIRE(Datagen("--count 40 --stops 5-20 --seed 3 --rounds 10 --out " + other) == 0);
  CHECK(ReadFile(one) == ReadFile(two));
  CHECK(ReadFile(one) != ReadFile(other));
  for (const std::string& path : {one, two, other}) std::remove(path.c_str());
}

TEST_CASE("a bad command line is a usage error") {
  CHECK(Datagen("--count 0 --stops 5 --out x") == 2);
  CHECK(Datagen("--count 5 --stops 5") == 2);
  CHECK(Datagen("--count 5 --stops 5-x --out x") == 2);
  CHECK(Datagen("--count 5 --stops 5 --exact_up_to 13 --out x") == 2);
}

}  // namespace
}  // namespace routeserve::tools
