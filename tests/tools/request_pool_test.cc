// The request pool (distinct, sized by the spec, the same for the same seed) and CheckAnswer:
// a solver's route passes; missing, repeated and unknown stops, a dropoff before its pickup, a
// wrong request_id and a missing route are bad.
#include <catch2/catch.hpp>

#include <algorithm>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "routing/instance.h"
#include "routing/objective.h"
#include "routing/solver.h"
#include "tools/bench/request_pool.h"

namespace routeserve::bench {
namespace {

std::vector<PooledRequest> Pool(int size, const std::string& stops, uint64_t seed) {
  RequestPoolOptions options;
  options.size = size;
  options.stops = *StopsSpec::Parse(stops);
  options.seed = seed;
  absl::StatusOr<std::vector<PooledRequest>> pool = BuildRequestPool(options);
  INFO(pool.status().ToString());
  REQUIRE(pool.ok());
  return *std::move(pool);
}

// An answer to `pooled` visiting its stops in `order` (indices).
v1::SuggestResponse AnswerWith(const PooledRequest& pooled, const std::vector<int>& order) {
  v1::SuggestResponse response;
  response.set_request_id(pooled.request.request_id());
  for (const int stop : order) {
    response.mutable_route()->add_steps()->set_stop_id(pooled.problem.stops[stop].id);
  }
  return response;
}

std::vector<int> SolvedOrder(const PooledRequest& pooled) {
  absl::StatusOr<routing::Instance> instance =
      routing::Instance::Build(pooled.problem, routing::ObjectiveParams{});
  REQUIRE(instance.ok());
  return routing::Solve(*instance).order;
}

TEST_CASE("BuildRequestPool: distinct requests with ids, sized by the spec, seeded") {
  const std::vector<PooledRequest> pool = Pool(30, "10,20,50", 9);
  REQUIRE(pool.size() == 30);
  std::set<std::string> ids;
  std::set<std::string> bodies;
  for (size_t i = 0; i < pool.size(); ++i) {
    const PooledRequest& pooled = pool[i];
    CHECK(pooled.request.request_id() == "bench-" + std::to_string(i));
    CHECK(pooled.request.stops_size() == std::vector<int>{10, 20, 50}[i % 3]);
    CHECK(pooled.problem.stops.size() == static_cast<size_t>(pooled.request.stops_size()));
    CHECK(pooled.stop_index.size() == pooled.problem.stops.size());
    ids.insert(pooled.request.request_id());
    v1::SuggestRequest body = pooled.request;
    body.clear_request_id();
    bodies.insert(body.SerializeAsString());
  }
  CHECK(ids.size() == pool.size());
  CHECK(bodies.size() == pool.size());

  const std::vector<PooledRequest> again = Pool(30, "10,20,50", 9);
  const std::vector<PooledRequest> other = Pool(30, "10,20,50", 10);
  CHECK(again[17].request.SerializeAsString() == pool[17].request.SerializeAsString());
  CHECK(other[17].request.SerializeAsString() != pool[17].request.SerializeAsString());
}

TEST_CASE("CheckAnswer: the solver's route is good, broken routes are bad and say why") {
  const std::vector<PooledRequest> pool = Pool(8, "12", 4);
  for (const PooledRequest& pooled : pool) {
    INFO(pooled.request.request_id());
    const std::vector<int> order = SolvedOrder(pooled);
    REQUIRE(pooled.instance.has_value());  // a small pool keeps its instances
    CHECK(CheckAnswer(pooled, AnswerWith(pooled, order)) == "");

    std::vector<int> missing = order;
    missing.pop_back();
    CHECK(absl::StrContains(CheckAnswer(pooled, AnswerWith(pooled, missing)),
                            "11 steps for 12 stops"));

    std::vector<int> repeated = order;
    repeated.back() = repeated.front();
    CHECK(absl::StrContains(CheckAnswer(pooled, AnswerWith(pooled, repeated)), "infeasible"));

    // Without a kept instance, the check builds one and says the same.
    PooledRequest uncached = pooled;
    uncached.instance.reset();
    CHECK(CheckAnswer(uncached, AnswerWith(pooled, order)) == "");
    CHECK(CheckAnswer(uncached, AnswerWith(pooled, repeated)) ==
          CheckAnswer(pooled, AnswerWith(pooled, repeated)));

    v1::SuggestResponse unknown = AnswerWith(pooled, order);
    unknown.mutable_route()->mutable_steps(3)->set_stop_id("no-such-stop");
    CHECK(absl::StrContains(CheckAnswer(pooled, unknown), "steps[3]: unknown stop"));

    v1::SuggestResponse misnamed = AnswerWith(pooled, order);
    misnamed.set_request_id("someone-else");
    CHECK(absl::StrContains(CheckAnswer(pooled, misnamed), "request_id"));

    v1::SuggestResponse no_route;
    no_route.set_request_id(pooled.request.request_id());
    CHECK(absl::StrContains(CheckAnswer(pooled, no_route), "no route"));
  }
}

TEST_CASE("CheckAnswer: a dropoff before its pickup is bad") {
  const std::vector<PooledRequest> pool = Pool(8, "12", 5);
  int checked = 0;
  for (const PooledRequest& pooled : pool) {
    const std::vector<int> order = SolvedOrder(pooled);
    // The first pickup whose dropoff is in the request: swap the two.
    for (size_t i = 0; i < order.size(); ++i) {
      const routing::Stop& stop = pooled.problem.stops[order[i]];
      if (stop.kind != routing::StopKind::kPickup) continue;
      const auto dropoff = std::find_if(order.begin(), order.end(), [&](int other) {
        const routing::Stop& candidate = pooled.problem.stops[other];
        return candidate.kind == routing::StopKind::kDropoff && candidate.order_id == stop.order_id;
      });
      REQUIRE(dropoff != order.end());
      std::vector<int> swapped = order;
      std::swap(swapped[i], swapped[static_cast<size_t>(dropoff - order.begin())]);
      INFO(pooled.request.request_id());
      CHECK(absl::StrContains(CheckAnswer(pooled, AnswerWith(pooled, swapped)),
                              "infeasible: dropoff_before_pickup"));
      ++checked;
      break;
    }
  }
  CHECK(checked > 0);  // the generator makes pickups
}

}  // namespace
}  // namespace routeserve::bench
