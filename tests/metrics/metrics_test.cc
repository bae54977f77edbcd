// ServingMetrics served by a real MetricsServer and scraped over loopback HTTP; promtool checks
// the scrape. GpuSampler without NVML, and with a stand-in library (fake_nvml.cc).
#include <catch2/catch.hpp>

#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "http_client.h"
#include "metrics/gpu_sampler.h"
#include "metrics/metrics_server.h"
#include "metrics/serving_metrics.h"
#include "scrape.h"

namespace routeserve::testing {
namespace {

using metrics::GpuSampler;
using metrics::GpuSamplerOptions;
using metrics::MetricsServer;
using metrics::ModelLabels;
using metrics::ServingMetrics;

std::shared_ptr<ServingMetrics> MakeMetrics() {
  return std::make_shared<ServingMetrics>(metrics::ServingMetricsOptions{.bucket_sizes = {8, 16},
                                                                         .max_batch_size = 8,
                                                                         .version = "1.2.3",
                                                                         .revision = "0123abcd",
                                                                         .libtorch = "1.13.0",
                                                                         .cuda = false});
}

std::string Scrape(const MetricsServer& server) {
  absl::StatusOr<HttpResponse> response = HttpGet("127.0.0.1", server.port(), "/metrics");
  INFO(response.status().ToString());
  REQUIRE(response.ok());
  REQUIRE(response->status == 200);
  return response->body;
}

// Series `family` of model "nearest" at version "nearest-0123456789ab", between the labels
// `before` (ending with a comma) and `after` (starting with one).
std::string Nearest(absl::string_view family, absl::string_view before = "",
                    absl::string_view after = "") {
  return absl::StrCat(family, "{", before, R"(model="nearest",version="nearest-0123456789ab")",
                      after, "}");
}

// A scrape of `metrics` from a server of its own.
std::string Serialize(const std::shared_ptr<ServingMetrics>& metrics) {
  absl::StatusOr<std::unique_ptr<MetricsServer>> server =
      MetricsServer::Start("127.0.0.1:0", metrics);
  REQUIRE(server.ok());
  return Scrape(**server);
}

TEST_CASE("the recorded stages appear in a scrape that promtool accepts", "[metrics]") {
  std::shared_ptr<ServingMetrics> metrics = MakeMetrics();
  metrics->SetModelInfo("nearest", "nearest-0123456789ab", "cpu", "fp32");
  metrics->SetSampler([] {
    return metrics::ScrapeSample{.queue_depth = {3, 0},
                                 .fallbacks = {{"stops_above_model_max", 2},
                                               {"model_error", 0},
                                               {"invalid_order", 0}}};
  });
  for (int i = 0; i < 3; ++i) {
    metrics->RequestArrived();
    metrics->RequestAnswered("Suggest", "OK", absl::Milliseconds(3));
  }
  metrics->RequestArrived();
  metrics->RequestAnswered("SuggestStream", "INVALID_ARGUMENT", absl::Microseconds(50));
  metrics->RequestArrived();  // still in flight
  const ModelLabels nearest = {.model = "nearest", .version = "nearest-0123456789ab"};
  metrics->TaskQueued(nearest, /*bucket=*/0, absl::Microseconds(700));
  metrics->TaskQueued(nearest, /*bucket=*/1, absl::Microseconds(300));
  metrics->TaskQueued(nearest, /*bucket=*/1, absl::Milliseconds(30));
  metrics->BatchFormed(nearest, /*batch_size=*/3, /*padding_ratio=*/0.25);
  metrics->BatchInferred(nearest, /*bucket=*/1, absl::Milliseconds(12));
  metrics->TaskFinished(nearest, absl::Milliseconds(2));
  metrics->RouteAnswered(nearest, /*proposed_cost=*/200, /*route_cost=*/190, /*lateness_s=*/45);
  metrics->RouteAnswered(nearest, /*proposed_cost=*/100, /*route_cost=*/100,
                         /*lateness_s=*/5 * 3600);
  // Another model's series are its own; the classical solver's have empty labels.
  const ModelLabels vans = {.model = "vans", .version = "vans/2-0123456789ab"};
  metrics->TaskQueued(vans, /*bucket=*/0, absl::Milliseconds(1));
  metrics->BatchFormed(vans, /*batch_size=*/1, /*padding_ratio=*/0);
  metrics->TaskFinished({}, absl::Milliseconds(1));

  absl::StatusOr<std::unique_ptr<MetricsServer>> server =
      MetricsServer::Start("127.0.0.1:0", metrics);
  INFO(server.status().ToString());
  REQUIRE(server.ok());
  CHECK((*server)->port() > 0);
  CHECK((*server)->address() == "127.0.0.1:" + std::to_string((*server)->port()));
  const std::string text = Scrape(**server);
  INFO(text);
  const auto samples = ParseScrape(text);

  CHECK(SampleOf(samples, R"(routeserve_requests_total{code="OK",method="Suggest"})") == 3);
  CHECK(SampleOf(samples,
                 R"(routeserve_requests_total{code="INVALID_ARGUMENT",method="SuggestStream"})") ==
        1);
  CHECK(SampleOf(samples, R"(routeserve_request_duration_seconds_count{method="Suggest"})") == 3);
  CHECK(SampleOf(samples,
                 R"(routeserve_request_duration_seconds_bucket{method="Suggest",le="0.0025"})") ==
        0);
  CHECK(SampleOf(samples,
                 R"(routeserve_request_duration_seconds_bucket{method="Suggest",le="0.005"})") ==
        3);
  CHECK(SampleOf(samples, "routeserve_inflight_requests") == 1);
  CHECK(SampleOf(samples, Nearest("routeserve_queue_duration_seconds_count", R"(bucket="8",)")) ==
        1);
  CHECK(SampleOf(samples, Nearest("routeserve_queue_duration_seconds_count", R"(bucket="16",)")) ==
        2);
  CHECK(SampleOf(samples, Nearest("routeserve_queue_duration_seconds_bucket", R"(bucket="16",)",
                                  R"(,le="0.0005")")) == 1);
  CHECK(SampleOf(samples,
                 Nearest("routeserve_inference_duration_seconds_count", R"(bucket="16",)")) == 1);
  CHECK(SampleOf(samples,
                 Nearest("routeserve_inference_duration_seconds_count", R"(bucket="8",)")) == 0);
  CHECK(SampleOf(samples, Nearest("routeserve_batch_size_bucket", "", R"(,le="2")")) == 0);
  CHECK(SampleOf(samples, Nearest("routeserve_batch_size_bucket", "", R"(,le="4")")) == 1);
  CHECK(SampleOf(samples, Nearest("routeserve_batch_size_bucket", "", R"(,le="8")")) == 1);
  CHECK(SampleOf(samples, Nearest("routeserve_batch_padding_ratio_sum")) == 0.25);
  CHECK(SampleOf(samples, Nearest("routeserve_refine_duration_seconds_count")) == 1);
  CHECK(SampleOf(samples, R"(routeserve_queue_duration_seconds_count{bucket="8",model="vans",)"
                          R"(version="vans/2-0123456789ab"})") == 1);
  CHECK(SampleOf(samples,
                 R"(routeserve_batch_size_count{model="vans",version="vans/2-0123456789ab"})") ==
        1);
  CHECK(SampleOf(samples, R"(routeserve_refine_duration_seconds_count{model="",version=""})") == 1);
  CHECK(SampleOf(samples, Nearest("routeserve_route_cost_improvement_ratio_bucket", "",
                                  R"(,le="0.05")")) == 2);
  CHECK(SampleOf(samples, Nearest("routeserve_route_cost_improvement_ratio_bucket", "",
                                  R"(,le="0.02")")) == 1);
  CHECK(SampleOf(samples, Nearest("routeserve_route_lateness_seconds_bucket", "", R"(,le="60")")) ==
        1);
  // Five hours late: past the old top bucket of an hour, inside 8 h.
  CHECK(SampleOf(samples,
                 Nearest("routeserve_route_lateness_seconds_bucket", "", R"(,le="3600")")) == 1);
  CHECK(SampleOf(samples,
                 Nearest("routeserve_route_lateness_seconds_bucket", "", R"(,le="14400")")) == 1);
  CHECK(SampleOf(samples,
                 Nearest("routeserve_route_lateness_seconds_bucket", "", R"(,le="28800")")) == 2);
  CHECK(SampleOf(samples,
                 Nearest("routeserve_route_lateness_seconds_bucket", "", R"(,le="172800")")) == 2);
  CHECK(SampleOf(samples, R"(routeserve_queue_depth{bucket="8"})") == 3);
  CHECK(SampleOf(samples, R"(routeserve_queue_depth{bucket="16"})") == 0);
  CHECK(SampleOf(samples, R"(routeserve_fallback_total{reason="stops_above_model_max"})") == 2);
  CHECK(SampleOf(samples, R"(routeserve_fallback_total{reason="model_error"})") == 0);
  CHECK(SampleOf(samples,
                 R"(routeserve_model_info{device="cpu",name="nearest",precision="fp32",)"
                 R"(version="nearest-0123456789ab"})") == 1);
  CHECK(SampleOf(samples, R"(routeserve_build_info{cuda="false",libtorch="1.13.0",)"
                          R"(revision="0123abcd",version="1.2.3"})") == 1);
  for (const std::string family :
       {"process_cpu_seconds_total", "process_resident_memory_bytes",
        "process_virtual_memory_bytes", "process_open_fds", "process_max_fds",
        "process_start_time_seconds"}) {
    INFO(family);  // present (a short-lived process may not have a tick of CPU time yet)
    CHECK(SampleOf(samples, family) >= 0);
  }

  const CommandResult check = RunCommand("/usr/bin/promtool check metrics", text);
  INFO(check.output);
  CHECK(check.exit_code == 0);
}

TEST_CASE("without a sampler the sampled families are left out, without a model model_info",
          "[metrics]") {
  std::shared_ptr<ServingMetrics> metrics = MakeMetrics();
  const std::set<std::string> names = ScrapeNames(Serialize(metrics));
  CHECK(names.count("routeserve_inflight_requests") == 1);
  CHECK(names.count("routeserve_build_info") == 1);
  CHECK(names.count("routeserve_queue_depth") == 0);
  CHECK(names.count("routeserve_fallback_total") == 0);
  CHECK(names.count("routeserve_model_info") == 0);
}

TEST_CASE("without NVML the GPU sampler samples nothing and exports no GPU family",
          "[metrics]") {
  std::shared_ptr<ServingMetrics> metrics = MakeMetrics();
  std::unique_ptr<GpuSampler> sampler = GpuSampler::Start(
      metrics->registry(), GpuSamplerOptions{.library = "libnvidia-ml-absent.so.1"});
  REQUIRE(sampler != nullptr);
  CHECK_FALSE(sampler->sampling());
  CHECK(sampler->devices() == 0);
  CHECK(absl::StrContains(sampler->unavailable_reason(), "libnvidia-ml-absent.so.1"));
  const std::string text = Serialize(metrics);
  CHECK_FALSE(absl::StrContains(text, "routeserve_gpu_"));
}

TEST_CASE("the driver's NVML, where this machine has none, is no error either", "[metrics]") {
  std::shared_ptr<ServingMetrics> metrics = MakeMetrics();
  std::unique_ptr<GpuSampler> sampler = GpuSampler::Start(metrics->registry(), {});
  REQUIRE(sampler != nullptr);
  INFO(sampler->unavailable_reason());
  CHECK(sampler->sampling() == sampler->unavailable_reason().empty());
  const std::string text = Serialize(metrics);
  CHECK(absl::StrContains(text, "routeserve_gpu_memory_total_bytes") == sampler->sampling());
}

TEST_CASE("with NVML the GPU sampler exports utilisation and memory per device", "[metrics]") {
  std::shared_ptr<ServingMetrics> metrics = MakeMetrics();
  GpuSamplerOptions options{.period = absl::Milliseconds(10), .library = FAKE_NVML_LIBRARY};
  options.allocator_bytes_in_use = [](int gpu) -> std::optional<int64_t> {
    if (gpu == 0) return 4096;
    return std::nullopt;
  };
  std::unique_ptr<GpuSampler> sampler = GpuSampler::Start(metrics->registry(), options);
  INFO(sampler->unavailable_reason());
  REQUIRE(sampler->sampling());
  CHECK(sampler->devices() == 2);
  const std::string text = Serialize(metrics);
  INFO(text);
  const auto samples = ParseScrape(text);
  CHECK(SampleOf(samples, R"(routeserve_gpu_utilization_ratio{gpu="0"})") == 0.37);
  CHECK(SampleOf(samples, R"(routeserve_gpu_utilization_ratio{gpu="1"})") == 0);
  CHECK(SampleOf(samples, R"(routeserve_gpu_memory_used_bytes{gpu="0"})") == 1073741824.0);
  CHECK(SampleOf(samples, R"(routeserve_gpu_memory_total_bytes{gpu="1"})") == 8589934592.0);
  CHECK(SampleOf(samples, R"(routeserve_gpu_allocator_bytes_in_use{gpu="0"})") == 4096);
  CHECK(SampleOf(samples, R"(routeserve_gpu_allocator_bytes_in_use{gpu="1"})") == -1);
  const CommandResult check = RunCommand("/usr/bin/promtool check metrics", text);
  INFO(check.output);
  CHECK(check.exit_code == 0);
}

}  // namespace
}  // namespace routeserve::testing
