// End to end with the model: RouteServer::Start with model.path set to a test model (fixture
// routeserve_test_models), real gRPC clients over loopback.
#include "api/request.h"
#include "e2e_support.h"
#include "route_checks.h"
#include "routing/instance.h"
#include "routing/solver.h"

namespace routeserve::testing {
namespace {

std::string ModelDir(const std::string& name) {
  return std::string(ROUTESERVE_TEST_MODELS_DIR) + "/" + name;
}

config::Config ModelConfig(const std::string& model, std::vector<std::string> overrides = {}) {
  overrides.insert(overrides.begin(), {"model.path=" + ModelDir(model), "model.threads=1",
                                       "model.decodings=4", "batching.max_batch_size=8",
                                       "batching.executors=1"});
  return TestConfig(std::move(overrides));
}

// The route's stop indices in the request, in visiting order.
std::vector<int> OrderOf(const v1::SuggestRequest& request, const v1::Route& route) {
  std::vector<int> order;
  for (const v1::RouteStep& step : route.steps()) {
    for (int stop = 0; stop < request.stops_size(); ++stop) {
      if (request.stops(stop).id() == step.stop_id()) order.push_back(stop);
    }
  }
  return order;
}

grpc::Status Suggest(v1::RouteService::Stub& stub, const v1::SuggestRequest& request,
                     v1::SuggestResponse* response) {
  auto context = GuardedContext();
  return stub.Suggest(context.get(), request, response);
}

TEST_CASE("Suggest through a server with the model answers MODEL_REFINED with a feasible route",
          "[e2e][model]") {
  // route-v1's family and route-v2's (scores, starts and candidate lists).
  const std::string model = GENERATE("nearest", "nearest_edges");
  INFO(model);
  TestServer t = StartServer(ModelConfig(model));
  REQUIRE(t.server->model() != nullptr);
  const std::string version = t.server->model()->model_version();
  CHECK(absl::StartsWith(version, model + "-"));
  CHECK(HealthOf(*t.health, "routeserve.v1.RouteService") ==
        grpc::health::v1::HealthCheckResponse::SERVING);
  uint64_t seed = 500;
  for (const Regime& regime : Regimes()) {
    for (int stops : {1, 5, 20, 60}) {
      const v1::SuggestRequest request =
          MakeRequest(regime.options, stops, seed++, absl::StrCat(regime.name, "/", stops));
      v1::SuggestResponse first, second;
      const grpc::Status status = Suggest(*t.stub, request, &first);
      INFO(regime.name << ", " << stops << " stops: " << status.error_message());
      REQUIRE(status.ok());
      CHECK(CheckRouteResponse(request, first, v1::ROUTE_SOURCE_MODEL_REFINED) == "");
      CHECK(first.model_version() == version);
      // Same request, same model, same config: same route.
      REQUIRE(Suggest(*t.stub, request, &second).ok());
      CHECK(first.route().SerializeAsString() == second.route().SerializeAsString());
    }
  }
  CHECK(t.server->fallback_counts().total() == 0);
}

TEST_CASE("options.num_alternatives: the model's other decodings, refined, as feasible routes, "
          "cheapest first, distinct from the route and from each other; none unless asked",
          "[e2e][model]") {
  // route-v2's without candidate lists, so that its alternatives' descents are exhaustive as
  // the check below.
  const std::string model = GENERATE("nearest", "nearest_edges");
  INFO(model);
  TestServer t = StartServer(ModelConfig(model, {"model.candidates=0"}));
  int answered_with_alternatives = 0;
  uint64_t seed = 700;
  for (const Regime& regime : Regimes()) {
    v1::SuggestRequest request = MakeRequest(regime.options, 12, seed++, regime.name);
    v1::SuggestResponse plain;
    REQUIRE(Suggest(*t.stub, request, &plain).ok());
    CHECK(plain.alternatives_size() == 0);

    request.mutable_options()->set_num_alternatives(3);
    v1::SuggestResponse response;
    REQUIRE(Suggest(*t.stub, request, &response).ok());
    INFO(regime.name);
    CHECK(CheckRouteResponse(request, response, v1::ROUTE_SOURCE_MODEL_REFINED) == "");
    CHECK(response.route().SerializeAsString() == plain.route().SerializeAsString());
    CHECK(response.alternatives_size() <= 3);
    if (response.alternatives_size() > 0) ++answered_with_alternatives;
    const absl::StatusOr<routing::RouteProblem> problem = api::ToRouteProblem(request, {});
    REQUIRE(problem.ok());
    const absl::StatusOr<routing::Instance> instance = routing::Instance::Build(*problem, {});
    REQUIRE(instance.ok());
    double previous_cost = 0;
    std::vector<std::vector<int>> seen = {OrderOf(request, response.route())};
    for (const v1::Route& alternative : response.alternatives()) {
      v1::SuggestResponse as_route = response;
      *as_route.mutable_route() = alternative;
      CHECK(CheckRouteResponse(request, as_route, v1::ROUTE_SOURCE_MODEL_REFINED) == "");
      CHECK(alternative.summary().cost() >= previous_cost);
      previous_cost = alternative.summary().cost();
      std::vector<int> order = OrderOf(request, alternative);
      CHECK(std::find(seen.begin(), seen.end(), order) == seen.end());
      seen.push_back(order);
      // Refined: no local-search move improves it.
      const std::vector<int> as_answered = order;
      routing::ImproveRoute(*instance, order, /*max_moves=*/1);
      CHECK(order == as_answered);
    }
  }
  CHECK(answered_with_alternatives > 0);
}

TEST_CASE("the classical solver offers no alternatives, even when asked", "[e2e]") {
  TestServer t = StartServer(TestConfig());
  v1::SuggestRequest request = MakeRequest(Regimes()[0].options, 12, 7, "classical");
  request.mutable_options()->set_num_alternatives(2);
  v1::SuggestResponse response;
  REQUIRE(Suggest(*t.stub, request, &response).ok());
  CHECK(CheckRouteResponse(request, response, v1::ROUTE_SOURCE_HEURISTIC) == "");
  CHECK(response.alternatives_size() == 0);
}

TEST_CASE("with refine.max_moves 0 the server answers MODEL", "[e2e][model]") {
  TestServer t = StartServer(ModelConfig("nearest", {"refine.max_moves=0"}));
  const v1::SuggestRequest request = MakeRequest(Regimes()[1].options, 12, 7, "unrefined");
  v1::SuggestResponse response;
  REQUIRE(Suggest(*t.stub, request, &response).ok());
  CHECK(CheckRouteResponse(request, response, v1::ROUTE_SOURCE_MODEL) == "");
}

TEST_CASE("a request above the model's max_stops is answered FALLBACK_HEURISTIC and counted",
          "[e2e][model]") {
  TestServer t = StartServer(ModelConfig("nearest_max16"));
  const v1::SuggestRequest small = MakeRequest(Regimes()[0].options, 16, 1, "small");
  const v1::SuggestRequest large = MakeRequest(Regimes()[0].options, 20, 2, "large");
  v1::SuggestResponse response;
  REQUIRE(Suggest(*t.stub, small, &response).ok());
  CHECK(CheckRouteResponse(small, response, v1::ROUTE_SOURCE_MODEL_REFINED) == "");
  REQUIRE(Suggest(*t.stub, large, &response).ok());
  CHECK(CheckRouteResponse(large, response, v1::ROUTE_SOURCE_FALLBACK_HEURISTIC) == "");
  // No model made it: no model version, no inference time (the API's comments).
  CHECK(response.model_version().empty());
  CHECK(response.timings().inference_s() == 0);
  CHECK(t.server->fallback_counts().stops_above_model_max == 1);
  CHECK(t.server->fallback_counts().total() == 1);
}

TEST_CASE("a configured model that cannot be loaded stops the server from starting",
          "[e2e][model]") {
  const absl::StatusOr<std::unique_ptr<server::RouteServer>> server =
      server::RouteServer::Start(ModelConfig("wrong_version"));
  REQUIRE_FALSE(server.ok());
  CHECK(server.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(absl::StrContains(server.status().message(), "feature_version 2"));
}

TEST_CASE("without a model the classical solver answers HEURISTIC", "[e2e][model]") {
  TestServer t = StartServer(TestConfig());
  CHECK(t.server->model() == nullptr);
  const v1::SuggestRequest request = MakeRequest(Regimes()[2].options, 9, 3, "classical");
  v1::SuggestResponse response;
  REQUIRE(Suggest(*t.stub, request, &response).ok());
  CHECK(CheckRouteResponse(request, response, v1::ROUTE_SOURCE_HEURISTIC) == "");
  CHECK(response.model_version().empty());
}

}  // namespace
}  // namespace routeserve::testing
