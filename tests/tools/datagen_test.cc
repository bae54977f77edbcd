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
#include "capture/request_capture.h"
#include "google/protobuf/util/message_differencer.h"
#include "route_checks.h"
#include "routing/regimes.h"
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

// One line of the tool's output: the object, its request and its route.
struct Line {
  google::protobuf::Struct object;
  v1::SuggestRequest request;
  std::vector<int> order;
};

Line ParseLine(const std::string& text) {
  Line line;
  REQUIRE(google::protobuf::util::JsonStringToMessage(text, &line.object).ok());
  const auto& fields = line.object.fields();
  std::string request_json;
  REQUIRE(google::protobuf::util::MessageToJsonString(fields.at("request"), &request_json).ok());
  REQUIRE(google::protobuf::util::JsonStringToMessage(request_json, &line.request).ok());
  for (const auto& value : fields.at("order").list_value().values()) {
    line.order.push_back(static_cast<int>(value.number_value()));
  }
  return line;
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
    const Line parsed = ParseLine(line);
    const auto& fields = parsed.object.fields();
    absl::StatusOr<routing::RouteProblem> problem =
        api::ToRouteProblem(parsed.request, {.max_stops = 128});
    REQUIRE(problem.ok());
    const routing::Instance instance = *routing::Instance::Build(*problem, {});
    const std::vector<int>& order = parsed.order;
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

// Runs `command` through the shell; its stdout.
std::string Output(const std::string& command) {
  std::string output;
  if (FILE* pipe = popen(command.c_str(), "r")) {
    char buffer[256];
    while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
    pclose(pipe);
  }
  return output;
}

// "problems labelled" of a JSON-lines file as the training recipe reads it
// (model/training/features.py).
std::string AsTheRecipeReadsIt(const std::string& path) {
  return Output(absl::StrCat(
      "/usr/bin/python3 -c 'import sys; sys.path.insert(0, \"", ROUTESERVE_SOURCE_DIR,
      "/model/training\"); import features; p = features.load_jsonl(sys.argv[1]); "
      "print(len(p), sum(x.order is not None for x in p))' ",
      path));
}

TEST_CASE("routeserve-datagen --label solves the requests a server captured, which the recipe "
          "then reads") {
  const std::string captured = TempPath("captured.jsonl"), labelled = TempPath("labelled.jsonl");
  std::vector<v1::SuggestRequest> requests;
  {
    const std::unique_ptr<capture::RequestCapture> capture =
        *capture::RequestCapture::Start(
            {.path = captured, .sample_ratio = 1, .max_file_bytes = 1 << 20});
    for (int i = 0; i < 4; ++i) {
      const routing::GeneratorOptions options = routing::Regimes()[i].options;
      requests.push_back(testing::MakeRequest(options, 6 + 3 * i, 70 + i, absl::StrCat("c", i)));
      planning::PlanResult served;
      for (int stop = 0; stop < requests.back().stops_size(); ++stop) {
        served.order.push_back(stop);
      }
      capture->Record(capture->Draw(requests.back()), served);
    }
  }
  // The recipe reads a captured file as it is: problems without labels.
  CHECK(AsTheRecipeReadsIt(captured) == "4 0\n");

  REQUIRE(Datagen(absl::StrCat("--label ", captured, " --exact_up_to 9 --rounds 20 --out ",
                               labelled)) == 0);
  std::ifstream in(labelled);
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    INFO("line " << lines + 1);
    const Line parsed = ParseLine(line);
    const auto& fields = parsed.object.fields();
    CHECK(google::protobuf::util::MessageDifferencer::Equals(parsed.request, requests[lines]));
    const routing::Instance instance =
        *routing::Instance::Build(*api::ToRouteProblem(parsed.request, {}), {});
    const routing::RouteEvaluation evaluation = routing::Evaluate(instance, parsed.order);
    CHECK(evaluation.feasible());
    CHECK(fields.at("cost").number_value() == Approx(evaluation.cost).epsilon(1e-12));
    CHECK(fields.at("optimal").bool_value() == (instance.num_stops() <= 9));
    CHECK(fields.at("regime").string_value() == "captured");
    CHECK(fields.count("seed") == 0);
    ++lines;
  }
  CHECK(lines == 4);
  CHECK(AsTheRecipeReadsIt(labelled) == "4 4\n");

  // A line that is not a capture stops the run, naming the file and the line.
  { std::ofstream(captured, std::ios::app) << "{\"served\": {}}\n"; }
  CHECK(Datagen(absl::StrCat("--label ", captured, " --out ", labelled)) == 1);
  const std::string message = Output(absl::StrCat(ROUTESERVE_DATAGEN_BINARY, " --label ",
                                                  captured, " --out ", labelled, " 2>&1"));
  CHECK(message.find(captured + ":5: no \"request\"") != std::string::npos);
  for (const std::string& path : {captured, labelled}) std::remove(path.c_str());
}

TEST_CASE("a bad command line is a usage error") {
  CHECK(Datagen("--label x --count 5 --out y") == 2);
  CHECK(Datagen("--count 0 --stops 5 --out x") == 2);
  CHECK(Datagen("--count 5 --stops 5") == 2);
  CHECK(Datagen("--count 5 --stops 5-x --out x") == 2);
  CHECK(Datagen("--count 5 --stops 5 --exact_up_to 13 --out x") == 2);
}

}  // namespace
}  // namespace routeserve::tools
