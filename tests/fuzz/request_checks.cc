// CheckRequestBytes (tests/fuzz/request_checks.h): decoding, then the properties one by one;
// each check returns "" or what failed, and the first failure is the answer.
#include "tests/fuzz/request_checks.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <google/protobuf/arena.h>
#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/text_format.h>
#include <google/protobuf/util/json_util.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "api/request.h"
#include "api/request_decoder.h"
#include "api/response.h"
#include "routeserve/v1/route_service.pb.h"
#include "routing/evaluator.h"
#include "routing/exact_solver.h"
#include "routing/instance.h"
#include "routing/solver.h"
#include "routing/validation.h"

namespace routeserve::fuzz {
namespace {

// The solvers run on the small problems only, so that an input costs milliseconds: the
// classical solver's construction alone is O(n^3) evaluations.
constexpr int kMaxSolverStops = 16;
constexpr int kMaxExactSolverStops = 7;
const routing::SolverOptions kSolverOptions = {
    .max_moves = 100, .perturbation_rounds = 2, .max_evaluations = 20'000};

// Text-format parse errors go nowhere (the parser would log them).
class SilentErrors : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int, google::protobuf::io::ColumnNumber, const std::string&) override {}
};

}  // namespace

std::optional<v1::SuggestRequest> DecodeRequest(std::string_view bytes) {
  v1::SuggestRequest request;
  if (request.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return request;
  request.Clear();
  google::protobuf::TextFormat::Parser parser;
  SilentErrors errors;
  parser.RecordErrorsTo(&errors);
  if (parser.ParseFromString(std::string(bytes), &request)) return request;
  const auto first = std::find_if_not(bytes.begin(), bytes.end(),
                                      [](unsigned char c) { return std::isspace(c) != 0; });
  if (first != bytes.end() && *first == '{') {
    request.Clear();
    if (google::protobuf::util::JsonStringToMessage(std::string(bytes), &request).ok()) {
      return request;
    }
  }
  return std::nullopt;
}

namespace {

bool IsNameChar(char c) { return std::islower(static_cast<unsigned char>(c)) || c == '_'; }

// "field: what", the field a path of the API's names: `stops[3].time_window.earliest`.
std::string CheckRefusal(const absl::Status& status) {
  if (status.code() != absl::StatusCode::kInvalidArgument) {
    return absl::StrCat("a refused request is not InvalidArgument: ", status.ToString());
  }
  const absl::string_view message = status.message();
  const size_t colon = message.find(": ");
  const absl::string_view field = message.substr(0, colon);
  bool well_formed = colon != absl::string_view::npos && colon + 2 < message.size() &&
                     !field.empty() && IsNameChar(field.front());
  for (size_t i = 0; well_formed && i < field.size(); ++i) {
    const char c = field[i];
    if (IsNameChar(c)) continue;
    if (c == '.' && i + 1 < field.size() && IsNameChar(field[i + 1])) continue;
    if (c == '[') {
      const size_t close = field.find(']', i);
      well_formed = close != absl::string_view::npos && close > i + 1 &&
                    std::all_of(field.begin() + i + 1, field.begin() + close,
                                [](char d) { return std::isdigit(static_cast<unsigned char>(d)); });
      i = close;
      continue;
    }
    well_formed = false;
  }
  if (!well_formed) {
    return absl::StrCat("a refusal does not start with \"field: \": \"", message, "\"");
  }
  return "";
}

bool Close(double a, double b) {
  return std::abs(a - b) <= 1e-6 * std::max({1.0, std::abs(a), std::abs(b)});
}

bool FiniteNonNegative(double x) { return std::isfinite(x) && x >= 0; }

// Totals finite and non-negative, times finite and in order along the route.
std::string CheckEvaluation(const routing::RouteEvaluation& evaluation,
                            std::span<const int> order, absl::string_view what) {
  if (evaluation.steps.size() != order.size()) {
    return absl::StrCat(what, ": ", evaluation.steps.size(), " steps for ", order.size(),
                        " stops");
  }
  if (evaluation.infeasibility == routing::Infeasibility::kStopMissing ||
      evaluation.infeasibility == routing::Infeasibility::kStopRepeated) {
    return absl::StrCat(what, ": a permutation evaluated as ",
                        std::string(routing::InfeasibilityName(evaluation.infeasibility)));
  }
  for (const auto& [name, value] :
       {std::pair{"travel_time_s", evaluation.travel_time_s},
        std::pair{"distance_m", evaluation.distance_m}, std::pair{"lateness_s", evaluation.lateness_s},
        std::pair{"waiting_s", evaluation.waiting_s}, std::pair{"cost", evaluation.cost},
        std::pair{"end_time", evaluation.end_time}}) {
    if (!FiniteNonNegative(value)) return absl::StrCat(what, ": ", name, " is ", value);
  }
  double previous_departure = 0;
  for (size_t i = 0; i < evaluation.steps.size(); ++i) {
    const routing::StepTiming& step = evaluation.steps[i];
    const bool ordered = std::isfinite(step.arrival) && std::isfinite(step.departure) &&
                         previous_departure <= step.arrival &&
                         step.arrival <= step.service_start &&
                         step.service_start <= step.departure &&
                         FiniteNonNegative(step.lateness_s) && FiniteNonNegative(step.waiting_s);
    if (!ordered) {
      return absl::StrCat(what, ": step ", i, " times out of order or not finite: arrival ",
                          step.arrival, ", service start ", step.service_start, ", departure ",
                          step.departure, " after ", previous_departure);
    }
    previous_departure = step.departure;
  }
  if (evaluation.end_time < previous_departure) {
    return absl::StrCat(what, ": end_time ", evaluation.end_time, " before the last departure ",
                        previous_departure);
  }
  return "";
}

// The response's unix times: from now on, in order, as the evaluation's.
std::string CheckResponse(const routing::RouteProblem& problem,
                          const routing::RouteEvaluation& evaluation, absl::string_view what) {
  // ToRouteProto adds the seconds to `now` in int64: they must fit, with room to spare for the
  // rounding of doubles this large.
  const double room = static_cast<double>(std::numeric_limits<int64_t>::max() - problem.courier.now);
  if (!(evaluation.end_time < room / 2)) {
    return absl::StrCat(what, ": end_time ", evaluation.end_time,
                        " s after now does not fit in unix seconds (now ", problem.courier.now,
                        ")");
  }
  v1::Route route;
  api::ToRouteProto(problem, evaluation, &route);
  int64_t previous = problem.courier.now;
  for (int i = 0; i < route.steps_size(); ++i) {
    const v1::RouteStep& step = route.steps(i);
    if (!(previous <= step.arrival_time() && step.arrival_time() <= step.service_start_time() &&
          step.service_start_time() <= step.departure_time())) {
      return absl::StrCat(what, ": response step ", i, " times out of order: ",
                          step.ShortDebugString());
    }
    previous = step.departure_time();
  }
  if (route.summary().end_time() < previous) {
    return absl::StrCat(what, ": response end_time before the last departure");
  }
  return "";
}

bool IsPermutation(std::vector<int> order, int n) {
  if (static_cast<int>(order.size()) != n) return false;
  std::sort(order.begin(), order.end());
  for (int i = 0; i < n; ++i) {
    if (order[i] != i) return false;
  }
  return true;
}

// A solver's answer: every stop once, feasible, at the evaluator's cost.
std::string CheckSolution(const routing::Instance& instance, const routing::Solution& solution,
                          absl::string_view what) {
  if (!IsPermutation(solution.order, instance.num_stops())) {
    return absl::StrCat(what, ": the route does not visit each stop once");
  }
  const routing::RouteEvaluation evaluation = routing::Evaluate(instance, solution.order);
  if (!evaluation.feasible()) {
    return absl::StrCat(what, ": infeasible route (",
                        std::string(routing::InfeasibilityName(evaluation.infeasibility)), " at stop ",
                        evaluation.infeasible_stop, ")");
  }
  if (!Close(solution.cost, evaluation.cost)) {
    return absl::StrCat(what, ": cost ", solution.cost, ", the evaluator says ", evaluation.cost);
  }
  return CheckEvaluation(evaluation, solution.order, what);
}

// On-board orders' dropoffs first, then each pickup followed by its dropoff, visits in place.
std::vector<int> PairByPairOrder(const routing::Instance& instance) {
  const int n = instance.num_stops();
  std::vector<int> order;
  order.reserve(n);
  for (int stop = 0; stop < n; ++stop) {
    if (instance.kind(stop) == routing::StopKind::kDropoff && instance.partner(stop) < 0) {
      order.push_back(stop);
    }
  }
  for (int stop = 0; stop < n; ++stop) {
    switch (instance.kind(stop)) {
      case routing::StopKind::kPickup:
        order.push_back(stop);
        order.push_back(instance.partner(stop));
        break;
      case routing::StopKind::kVisit: order.push_back(stop); break;
      case routing::StopKind::kDropoff: break;
    }
  }
  return order;
}

std::string CheckValid(const v1::SuggestRequest& request, const routing::RouteProblem& problem) {
  const int n = static_cast<int>(problem.stops.size());
  if (n != request.stops_size() || n < 1 || n > kFuzzMaxStops) {
    return absl::StrCat("a valid request of ", request.stops_size(), " stops converts to ", n);
  }
  if (absl::Status status = routing::ValidateProblem(problem); !status.ok()) {
    return absl::StrCat("a converted problem fails routing's validation: ", status.ToString());
  }

  // Back to a request, and again: the same request.
  const v1::SuggestRequest back = api::ToSuggestRequest(problem);
  absl::StatusOr<routing::RouteProblem> again = api::ToRouteProblem(back, {kFuzzMaxStops});
  if (!again.ok()) {
    return absl::StrCat("the request converted back is refused: ", again.status().ToString());
  }
  if (api::ToSuggestRequest(*again).SerializeAsString() != back.SerializeAsString()) {
    return "the request converted back converts to another problem";
  }

  absl::StatusOr<routing::Instance> built = routing::Instance::Build(problem, {});
  if (!built.ok()) {
    return absl::StrCat("a valid problem builds no instance: ", built.status().ToString());
  }
  const routing::Instance& instance = *built;
  if (instance.num_stops() != n) return "the instance has another number of stops";

  // Orders that need not be feasible: as given and reversed.
  std::vector<int> as_given(n);
  std::iota(as_given.begin(), as_given.end(), 0);
  std::vector<int> reversed(as_given.rbegin(), as_given.rend());
  for (const auto& [what, order] : {std::pair{"stops as given", &as_given},
                                    std::pair{"stops reversed", &reversed}}) {
    const routing::RouteEvaluation evaluation = routing::Evaluate(instance, *order);
    if (std::string failure = CheckEvaluation(evaluation, *order, what); !failure.empty()) {
      return failure;
    }
    if (std::string failure = CheckResponse(problem, evaluation, what); !failure.empty()) {
      return failure;
    }
  }

  const std::vector<int> pair_by_pair = PairByPairOrder(instance);
  if (!IsPermutation(pair_by_pair, n)) return "pair by pair: not a permutation of the stops";
  const routing::RouteEvaluation simple = routing::Evaluate(instance, pair_by_pair);
  if (!simple.feasible()) {
    return absl::StrCat("pair by pair: a valid problem's simplest route is infeasible (",
                        std::string(routing::InfeasibilityName(simple.infeasibility)), " at stop ",
                        simple.infeasible_stop, ")");
  }

  if (n > kMaxSolverStops) return "";
  std::vector<int> improved = pair_by_pair;
  const double improved_cost = routing::ImproveRoute(instance, improved, /*max_moves=*/50,
                                                     /*max_evaluations=*/5'000);
  if (std::string failure =
          CheckSolution(instance, {improved, improved_cost}, "ImproveRoute(pair by pair)");
      !failure.empty()) {
    return failure;
  }
  if (improved_cost > simple.cost && !Close(improved_cost, simple.cost)) {
    return absl::StrCat("ImproveRoute made the route dearer: ", simple.cost, " -> ",
                        improved_cost);
  }
  const routing::Solution solved = routing::Solve(instance, kSolverOptions);
  if (std::string failure = CheckSolution(instance, solved, "Solve"); !failure.empty()) {
    return failure;
  }

  if (n > kMaxExactSolverStops) return "";
  absl::StatusOr<routing::Solution> exact = routing::SolveExact(instance);
  if (!exact.ok()) return absl::StrCat("SolveExact: ", exact.status().ToString());
  if (std::string failure = CheckSolution(instance, *exact, "SolveExact"); !failure.empty()) {
    return failure;
  }
  for (const auto& [what, cost] : {std::pair{"Solve", solved.cost},
                                   std::pair{"ImproveRoute", improved_cost},
                                   std::pair{"pair by pair", simple.cost}}) {
    if (exact->cost > cost && !Close(exact->cost, cost)) {
      return absl::StrCat("SolveExact's route costs ", exact->cost, ", ", what, "'s ", cost);
    }
  }
  return "";
}

}  // namespace

std::string CheckServerDecoding(std::string_view bytes) {
  const api::RequestLimits limits{.max_stops = kFuzzMaxStops};
  // In two chunks, as the transport may hold them.
  const std::vector<std::string_view> chunks = {bytes.substr(0, bytes.size() / 2),
                                                bytes.substr(bytes.size() / 2)};
  google::protobuf::Arena arena;
  const absl::StatusOr<v1::SuggestRequest*> decoded =
      api::DecodeSuggestRequest(chunks, limits, &arena, "request");
  v1::SuggestRequest parsed;
  const bool parses = parsed.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
  if (decoded.ok()) {
    if (!parses) return "the server's decoder accepted bytes protobuf does not parse";
    // Compared as bytes: a NaN field is never Equal to itself.
    if ((*decoded)->SerializeAsString() != parsed.SerializeAsString()) {
      return "the server's decoder decoded other than protobuf parses";
    }
    return "";
  }
  const absl::Status& status = decoded.status();
  if (status.code() != absl::StatusCode::kInvalidArgument) {
    return absl::StrCat("the server's decoder refused with ", status.ToString());
  }
  if (absl::StartsWith(status.message(), "request is not a valid SuggestRequest: ")) {
    // Bytes protobuf parses are refused only for what would cost memory or never comes from a
    // proto3 writer: a flood of fields, a group.
    if (parses && !absl::StrContains(status.message(), "fields, more than") &&
        !absl::StrContains(status.message(), "group encoding")) {
      return absl::StrCat("the server's decoder refused a parseable request: ", status.message());
    }
    return "";
  }
  // Refused for its size, by field: the request itself must be refused as well. Bytes protobuf
  // does not parse may be refused for their size first: the walk counts, it does not check
  // everything the parser does (UTF-8, a packed field's length, a tag's spelling).
  if (std::string failure = CheckRefusal(status); !failure.empty()) return failure;
  if (parses && api::ToRouteProblem(parsed, limits).ok()) {
    return absl::StrCat("the server's decoder refused by size what validation accepts: ",
                        status.message());
  }
  return "";
}

std::string CheckRequestBytes(std::string_view bytes) {
  // Invalid UTF-8 in a string field is logged by the parser: thousands of lines per second.
  static const bool quiet = [] {
    google::protobuf::SetLogHandler(nullptr);
    return true;
  }();
  (void)quiet;

  if (std::string failure = CheckServerDecoding(bytes); !failure.empty()) return failure;
  std::optional<v1::SuggestRequest> request = DecodeRequest(bytes);
  if (!request.has_value()) return "";
  absl::StatusOr<routing::RouteProblem> problem =
      api::ToRouteProblem(*request, {.max_stops = kFuzzMaxStops});
  if (!problem.ok()) return CheckRefusal(problem.status());
  return CheckValid(*request, *problem);
}

}  // namespace routeserve::fuzz
