// Models in production, end to end: a RouteServer serving from a model repository
// (model.repository, model/repository.h) or a model directory, reloaded while clients call it
// over loopback (RouteServer::ReloadModels, what SIGHUP does), with the test models of
// tests/model (fixture routeserve_test_models) copied in as versions.
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "api/request.h"
#include "e2e_support.h"
#include "http_client.h"
#include "route_checks.h"
#include "scrape.h"
#include "tests/eventually.h"
#include "tests/temp_dir.h"

namespace routeserve::testing {
namespace {

namespace fs = std::filesystem;

using planning::ReloadOutcome;

std::string ModelDir(const std::string& name) {
  return std::string(ROUTESERVE_TEST_MODELS_DIR) + "/" + name;
}

// Copies test model `model` to `dir` (made, with its parents), as a new version is put in a
// repository: under another name first, then renamed into place.
void PutModel(const std::string& model, const fs::path& dir) {
  fs::create_directories(dir.parent_path());
  const fs::path partial = dir.string() + ".partial";
  fs::copy(ModelDir(model), partial, fs::copy_options::recursive);
  fs::rename(partial, dir);
}

config::Config RepositoryConfig(const fs::path& repository,
                                std::vector<std::string> overrides = {}) {
  overrides.insert(overrides.begin(),
                   {"model.path=", "model.repository=" + repository.string(),
                    "model.name=couriers", "model.threads=1", "model.decodings=2",
                    "batching.max_batch_size=4", "batching.executors=1"});
  return TestConfig(std::move(overrides));
}

v1::SuggestRequest Request(uint64_t seed) {
  return MakeRequest(routing::GeneratorOptions{}, 12, seed, absl::StrCat("courier-", seed));
}

// One Suggest: its status and the version of the model that answered.
std::pair<grpc::Status, std::string> Call(v1::RouteService::Stub& stub, uint64_t seed) {
  v1::SuggestResponse response;
  auto context = GuardedContext();
  const grpc::Status status = stub.Suggest(context.get(), Request(seed), &response);
  return {status, response.model_version()};
}

std::map<std::string, double> ScrapeOf(const TestServer& t) {
  absl::StatusOr<HttpResponse> response =
      HttpGet("127.0.0.1", t.server->metrics_port(), "/metrics");
  INFO(response.status().ToString());
  REQUIRE(response.ok());
  REQUIRE(response->status == 200);
  return ParseScrape(response->body);
}

// The model_info series of a scrape.
std::vector<std::string> ModelInfoSeries(const std::map<std::string, double>& samples) {
  std::vector<std::string> series;
  for (const auto& [name, value] : samples) {
    if (absl::StartsWith(name, "routeserve_model_info{")) series.push_back(name);
  }
  return series;
}

double Reloads(const std::map<std::string, double>& samples, const std::string& result) {
  return SampleOf(samples, "routeserve_model_reloads_total{result=\"" + result + "\"}");
}

// Clients calling Suggest in a loop, each call's outcome kept, until stopped.
class SteadyLoad {
 public:
  SteadyLoad(v1::RouteService::Stub& stub, int clients) {
    for (int c = 0; c < clients; ++c) {
      threads_.emplace_back([this, &stub, c] {
        for (uint64_t seed = 1000 * (c + 1); !stop_.load(); ++seed) {
          auto [status, version] = Call(stub, seed);
          absl::MutexLock lock(&mu_);
          if (!status.ok()) failures_.push_back(status.error_message());
          ++answers_[version];
        }
      });
    }
  }
  ~SteadyLoad() { Stop(); }
  // Waits until `count` more answers have come.
  void WaitAnswers(int count) {
    const int target = Total() + count;
    CHECK(Eventually([&] { return Total() >= target; }, kGuard));
  }
  void Stop() {
    stop_ = true;
    for (std::thread& thread : threads_) {
      if (thread.joinable()) thread.join();
    }
  }
  std::vector<std::string> failures() {
    absl::MutexLock lock(&mu_);
    return failures_;
  }
  std::map<std::string, int> answers() {
    absl::MutexLock lock(&mu_);
    return answers_;
  }

 private:
  int Total() {
    absl::MutexLock lock(&mu_);
    int total = 0;
    for (const auto& [version, count] : answers_) total += count;
    return total;
  }

  std::atomic<bool> stop_{false};
  absl::Mutex mu_;
  std::vector<std::string> failures_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int> answers_ ABSL_GUARDED_BY(mu_);  // by model version
  std::vector<std::thread> threads_;
};

TEST_CASE("a new version in the repository is swapped in under steady load without failing a "
          "call, and the metrics follow",
          "[e2e][reload]") {
  TempDir repository;
  PutModel("nearest", repository.path() / "couriers" / "1");
  TestServer t = StartServer(RepositoryConfig(repository.path()));
  const std::string first = t.server->model()->model_version();
  CHECK(absl::StartsWith(first, "couriers/1-"));
  const std::weak_ptr<const model::ModelRunner> replaced = t.server->model();

  SteadyLoad load(*t.stub, 3);
  load.WaitAnswers(10);
  // route-v2's family replaces route-v1's: a new version may be a new design.
  PutModel("nearest_edges", repository.path() / "couriers" / "2");
  const ReloadOutcome outcome = t.server->ReloadModels().front();
  INFO(outcome.status.ToString());
  REQUIRE(outcome.result == ReloadOutcome::Result::kSwapped);
  CHECK(absl::StartsWith(outcome.version, "couriers/2-"));
  CHECK(t.server->model()->model_version() == outcome.version);
  // Its batches answered, the model replaced is freed before Reload returns.
  CHECK(replaced.expired());
  CHECK(HealthOf(*t.health, "routeserve.v1.RouteService") ==
        grpc::health::v1::HealthCheckResponse::SERVING);
  // Calls made from now on meet the new version only.
  const auto [status, version] = Call(*t.stub, 7);
  CHECK(status.ok());
  CHECK(version == outcome.version);
  load.WaitAnswers(10);
  load.Stop();

  CHECK(load.failures().empty());
  const std::map<std::string, int> answers = load.answers();
  CHECK(answers.size() == 2);
  CHECK(answers.count(first) == 1);
  CHECK(answers.count(outcome.version) == 1);

  const std::map<std::string, double> samples = ScrapeOf(t);
  CHECK(Reloads(samples, "swapped") == 1);
  CHECK(Reloads(samples, "failed") == 0);
  const std::vector<std::string> info = ModelInfoSeries(samples);
  REQUIRE(info.size() == 1);
  CHECK(absl::StrContains(info[0], "name=\"couriers\""));
  CHECK(absl::StrContains(info[0], "version=\"" + outcome.version + "\""));

  // The same files again: nothing is loaded.
  CHECK(t.server->ReloadModels().front().result == ReloadOutcome::Result::kUnchanged);
  CHECK(Reloads(ScrapeOf(t), "unchanged") == 1);
}

TEST_CASE("a corrupt version is refused and the serving one goes on; removing it is a reload "
          "that changes nothing",
          "[e2e][reload]") {
  TempDir repository;
  PutModel("nearest", repository.path() / "couriers" / "1");
  TestServer t = StartServer(RepositoryConfig(repository.path()));
  const std::string serving = t.server->model()->model_version();

  const fs::path corrupt = repository.path() / "couriers" / "2";
  PutModel("nearest", corrupt);
  std::ofstream(corrupt / "model.pt", std::ios::app) << "tampered";
  const ReloadOutcome outcome = t.server->ReloadModels().front();
  REQUIRE(outcome.result == ReloadOutcome::Result::kFailed);
  CHECK(outcome.status.code() == absl::StatusCode::kDataLoss);
  CHECK(absl::StrContains(outcome.status.message(), "model.pt"));
  CHECK(outcome.version == serving);

  const auto [status, version] = Call(*t.stub, 3);
  CHECK(status.ok());
  CHECK(version == serving);
  CHECK(Reloads(ScrapeOf(t), "failed") == 1);

  fs::remove_all(corrupt);
  CHECK(t.server->ReloadModels().front().result == ReloadOutcome::Result::kUnchanged);
  CHECK(t.server->model()->model_version() == serving);
}

TEST_CASE("a pinned version serves whatever is newer, until the pin moves; a pin that is not "
          "there is refused naming the key",
          "[e2e][reload]") {
  TempDir repository;
  PutModel("nearest", repository.path() / "couriers" / "1");
  PutModel("nearest_edges", repository.path() / "couriers" / "2");
  TestServer t = StartServer(RepositoryConfig(repository.path(), {"model.version=1"}));
  CHECK(absl::StartsWith(t.server->model()->model_version(), "couriers/1-"));
  CHECK(t.server->ReloadModels().front().result == ReloadOutcome::Result::kUnchanged);
  const auto [status, version] = Call(*t.stub, 5);
  CHECK(status.ok());
  CHECK(absl::StartsWith(version, "couriers/1-"));

  const absl::StatusOr<std::unique_ptr<server::RouteServer>> missing = server::RouteServer::Start(
      RepositoryConfig(repository.path(), {"model.version=3"}));
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().message() == "model.version: couriers has no version 3 (it has 1, 2)");
}

// The routeserve_shadow_* names the dashboard uses.
std::set<std::string> DashboardShadowNames() {
  std::ifstream file(std::string(ROUTESERVE_SOURCE_DIR) + "/deploy/grafana/routeserve.json");
  const std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  return MetricNamesIn(text, "routeserve_shadow_");
}

double ShadowRoutes(const std::map<std::string, double>& samples, const std::string& version,
                    const std::string& result) {
  return SampleOf(samples, "routeserve_shadow_routes_total{model=\"couriers\",result=\"" +
                               result + "\",version=\"" + version + "\"}");
}

TEST_CASE("a shadow version runs beside the serving one on live traffic, and its cost "
          "differences are exported",
          "[e2e][reload]") {
  TempDir repository;
  // Version 2 is version 1's files: its routes must cost what the answered ones did.
  PutModel("nearest", repository.path() / "couriers" / "1");
  PutModel("nearest", repository.path() / "couriers" / "2");
  TestServer t = StartServer(RepositoryConfig(
      repository.path(), {"model.version=1", "model.shadow_version=-1", "model.shadow_ratio=1"}));
  CHECK(absl::StartsWith(t.server->model()->model_version(), "couriers/1-"));
  constexpr int kCalls = 12;
  for (int i = 0; i < kCalls; ++i) {
    const auto [status, version] = Call(*t.stub, 300 + i);
    REQUIRE(status.ok());
    CHECK(absl::StartsWith(version, "couriers/1-"));  // a shadow's route is never answered
  }
  const std::string twin = "couriers/2-" + t.server->model()->model_version().substr(11);
  std::map<std::string, double> samples;
  CHECK(Eventually(
      [&] {
        samples = ScrapeOf(t);
        return ShadowRoutes(samples, twin, "equal") == kCalls;
      },
      kGuard));
  CHECK(ShadowRoutes(samples, twin, "better") == -1);  // no such series: none better
  CHECK(SampleOf(samples, "routeserve_shadow_cost_delta_ratio_count{model=\"couriers\","
                          "version=\"" + twin + "\"}") == kCalls);
  CHECK(SampleOf(samples, "routeserve_shadow_cost_delta_ratio_sum{model=\"couriers\","
                          "version=\"" + twin + "\"}") == 0);
  CHECK(SampleOf(samples, "routeserve_shadow_dropped_total") == 0);

  // A new latest version becomes the shadow at the next reload; the serving one stays pinned.
  PutModel("nearest_edges", repository.path() / "couriers" / "3");
  REQUIRE(t.server->ReloadModels().front().result == ReloadOutcome::Result::kUnchanged);
  for (int i = 0; i < kCalls; ++i) REQUIRE(Call(*t.stub, 400 + i).first.ok());
  CHECK(Eventually(
      [&] {
        samples = ScrapeOf(t);
        double runs = 0;
        for (const auto& [series, value] : samples) {
          if (absl::StartsWith(series, "routeserve_shadow_routes_total{") &&
              absl::StrContains(series, "version=\"couriers/3-")) {
            runs += value;
          }
        }
        return runs == kCalls;
      },
      kGuard));
  const std::string scraped = [&] {
    absl::StatusOr<HttpResponse> response =
        HttpGet("127.0.0.1", t.server->metrics_port(), "/metrics");
    REQUIRE(response.ok());
    return response->body;
  }();
  const std::set<std::string> names = ScrapeNames(scraped);
  const std::set<std::string> used = DashboardShadowNames();
  CHECK(used.size() >= 2);
  for (const std::string& name : used) {
    INFO("the dashboard uses " << name);
    CHECK(names.count(name) == 1);
  }
}

TEST_CASE("model.path reloads its directory's files as they are now", "[e2e][reload]") {
  TempDir dir;
  const fs::path model = dir.path() / "couriers";
  PutModel("nearest", model);
  TestServer t = StartServer(TestConfig({"model.path=" + model.string(), "model.threads=1",
                                         "model.decodings=2", "batching.executors=1"}));
  const std::string first = t.server->model()->model_version();
  CHECK(t.server->ReloadModels().front().result == ReloadOutcome::Result::kUnchanged);

  fs::remove_all(model);
  PutModel("nearest_edges", model);
  const ReloadOutcome outcome = t.server->ReloadModels().front();
  INFO(outcome.status.ToString());
  REQUIRE(outcome.result == ReloadOutcome::Result::kSwapped);
  CHECK(outcome.version != first);
  CHECK(absl::StartsWith(outcome.version, "couriers-"));
  const auto [status, version] = Call(*t.stub, 9);
  CHECK(status.ok());
  CHECK(version == outcome.version);
}

TEST_CASE("vehicle types go to their own models, each reloaded on its own, and the metrics say "
          "which model and version answered",
          "[e2e][reload]") {
  TempDir repository;
  PutModel("nearest", repository.path() / "couriers" / "1");
  PutModel("nearest_edges", repository.path() / "vans" / "1");
  TestServer t = StartServer(RepositoryConfig(
      repository.path(), {"model.by_vehicle_type.car.name=vans",
                          "model.by_vehicle_type.van.name=vans",
                          "model.by_vehicle_type.van.decodings=1",
                          "model.by_vehicle_type.car.decodings=1"}));
  const auto answer = [&](v1::VehicleType vehicle, uint64_t seed) {
    v1::SuggestRequest request = Request(seed);
    request.mutable_courier()->set_vehicle_type(vehicle);
    v1::SuggestResponse response;
    auto context = GuardedContext();
    const grpc::Status status = t.stub->Suggest(context.get(), request, &response);
    INFO(status.error_message());
    REQUIRE(status.ok());
    CHECK(CheckRouteResponse(request, response, v1::ROUTE_SOURCE_MODEL_REFINED) == "");
    return response.model_version();
  };
  const std::string couriers = answer(v1::VEHICLE_TYPE_BIKE, 1);
  CHECK(absl::StartsWith(couriers, "couriers/1-"));
  CHECK(answer(v1::VEHICLE_TYPE_SCOOTER, 2) == couriers);
  const std::string vans = answer(v1::VEHICLE_TYPE_VAN, 3);
  CHECK(absl::StartsWith(vans, "vans/1-"));
  CHECK(answer(v1::VEHICLE_TYPE_CAR, 4) == vans);
  CHECK(t.server->model(routing::VehicleType::kVan)->model_version() == vans);
  CHECK(t.server->model(routing::VehicleType::kBike)->model_version() == couriers);
  CHECK(t.server->model(routing::VehicleType::kCar)->family() == model::ModelFamily::kEdges);

  std::map<std::string, double> samples = ScrapeOf(t);
  CHECK(ModelInfoSeries(samples).size() == 2);
  for (const auto& [name, version] : {std::pair{"couriers", couriers}, std::pair{"vans", vans}}) {
    const std::string labels = absl::StrCat("model=\"", name, "\",version=\"", version, "\"");
    INFO(labels);
    CHECK(SampleOf(samples, absl::StrCat("routeserve_refine_duration_seconds_count{", labels,
                                         "}")) == 2);
    CHECK(SampleOf(samples, absl::StrCat("routeserve_batch_size_count{", labels, "}")) == 2);
    const std::vector<std::string> of_model = {absl::StrCat("model=\"", name, "\""),
                                               absl::StrCat("version=\"", version, "\"")};
    CHECK(SumOf(samples, "routeserve_inference_duration_seconds_count", of_model) == 2);
  }

  // A new version of one model: that one swaps, the other is unchanged.
  PutModel("nearest", repository.path() / "vans" / "2");
  const std::vector<ReloadOutcome> outcomes = t.server->ReloadModels();
  REQUIRE(outcomes.size() == 2);
  CHECK(outcomes[0].result == ReloadOutcome::Result::kUnchanged);
  CHECK(outcomes[0].version == couriers);
  CHECK(outcomes[1].result == ReloadOutcome::Result::kSwapped);
  CHECK(absl::StartsWith(outcomes[1].version, "vans/2-"));
  CHECK(answer(v1::VEHICLE_TYPE_VAN, 5) == outcomes[1].version);
  CHECK(answer(v1::VEHICLE_TYPE_BIKE, 6) == couriers);
  samples = ScrapeOf(t);
  CHECK(Reloads(samples, "swapped") == 1);
  CHECK(Reloads(samples, "unchanged") == 1);
  const std::vector<std::string> info = ModelInfoSeries(samples);
  REQUIRE(info.size() == 2);
  CHECK(std::count_if(info.begin(), info.end(), [&](const std::string& series) {
          return absl::StrContains(series, "version=\"" + outcomes[1].version + "\"");
        }) == 1);
}

}  // namespace
}  // namespace routeserve::testing
