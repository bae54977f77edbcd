// Tests of the server's configuration (config/config.h): the shipped file, --set overrides of
// every key, the errors that name the key, and the ConfigToYaml round trip.
#include "config/config.h"
#include "config/served_models.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "api/request.h"
#include "routing/generator.h"

namespace routeserve::config {
namespace {

// Every field, one CHECK each, so a failure names the field.
void CheckSameConfig(const Config& actual, const Config& expected) {
  CHECK(actual.server.address == expected.server.address);
  CHECK(actual.server.worker_threads == expected.server.worker_threads);
  CHECK(actual.limits.max_stops == expected.limits.max_stops);
  CHECK(actual.limits.max_message_bytes == expected.limits.max_message_bytes);
  CHECK(actual.limits.max_stream_messages == expected.limits.max_stream_messages);
  CHECK(actual.limits.max_stream_outstanding == expected.limits.max_stream_outstanding);
  CHECK(actual.limits.max_concurrent_streams == expected.limits.max_concurrent_streams);
  CHECK(actual.batching.buckets == expected.batching.buckets);
  CHECK(actual.batching.max_batch_size == expected.batching.max_batch_size);
  CHECK(actual.batching.max_queue_delay == expected.batching.max_queue_delay);
  CHECK(actual.batching.admit_by_deadline == expected.batching.admit_by_deadline);
  CHECK(actual.batching.max_queue_size == expected.batching.max_queue_size);
  CHECK(actual.batching.executors == expected.batching.executors);
  CHECK(actual.batching.executor_stuck_after == expected.batching.executor_stuck_after);
  CHECK(actual.objective.lateness_weight == expected.objective.lateness_weight);
  CHECK(actual.objective.waiting_weight == expected.objective.waiting_weight);
  CHECK(actual.objective.detour_factor == expected.objective.detour_factor);
  for (int type = 0; type < routing::kNumVehicleTypes; ++type) {
    INFO("vehicle type " << type);
    CHECK(actual.objective.speed_mps[type] == expected.objective.speed_mps[type]);
  }
  CHECK(actual.solver.max_moves == expected.solver.max_moves);
  CHECK(actual.solver.perturbation_rounds == expected.solver.perturbation_rounds);
  CHECK(actual.solver.max_evaluations == expected.solver.max_evaluations);
  CHECK(actual.solver.candidates_k == expected.solver.candidates_k);
  CHECK(actual.solver.seed == expected.solver.seed);
  CHECK(actual.model.path == expected.model.path);
  CHECK(actual.model.device == expected.model.device);
  CHECK(actual.model.precision == expected.model.precision);
  CHECK(actual.model.cuda_graphs == expected.model.cuda_graphs);
  CHECK(actual.model.decodings == expected.model.decodings);
  CHECK(actual.model.candidates == expected.model.candidates);
  CHECK(actual.model.threads == expected.model.threads);
  CHECK(actual.model.repository == expected.model.repository);
  CHECK(actual.model.name == expected.model.name);
  CHECK(actual.model.version == expected.model.version);
  CHECK(actual.model.shadow_version == expected.model.shadow_version);
  CHECK(actual.model.shadow_ratio == expected.model.shadow_ratio);
  for (int type = 0; type < routing::kNumVehicleTypes; ++type) {
    INFO("model.by_vehicle_type of vehicle type " << type);
    const Config::Model::VehicleModel& a = actual.model.by_vehicle_type[type];
    const Config::Model::VehicleModel& e = expected.model.by_vehicle_type[type];
    CHECK(a.name == e.name);
    CHECK(a.version == e.version);
    CHECK(a.device == e.device);
    CHECK(a.precision == e.precision);
    CHECK(a.decodings == e.decodings);
    CHECK(a.executors == e.executors);
  }
  CHECK(actual.capture.path == expected.capture.path);
  CHECK(actual.capture.sample_ratio == expected.capture.sample_ratio);
  CHECK(actual.capture.max_file_bytes == expected.capture.max_file_bytes);
  CHECK(actual.server.max_connection_age == expected.server.max_connection_age);
  CHECK(actual.server.tls.cert_file == expected.server.tls.cert_file);
  CHECK(actual.server.tls.key_file == expected.server.tls.key_file);
  CHECK(actual.server.tls.client_ca_file == expected.server.tls.client_ca_file);
  CHECK(actual.refine.max_moves == expected.refine.max_moves);
  CHECK(actual.refine.perturbation_rounds == expected.refine.perturbation_rounds);
  CHECK(actual.metrics.address == expected.metrics.address);
  CHECK(actual.metrics.gpu_sample_period == expected.metrics.gpu_sample_period);
  CHECK(actual.shutdown.drain_delay == expected.shutdown.drain_delay);
  CHECK(actual.shutdown.grace_period == expected.shutdown.grace_period);
}

// The dotted names of the keys (not sections) in YAML as ConfigToYaml writes it: two spaces of
// indentation a level, a section's line ends with ':'.
std::set<std::string> KeysOf(const std::string& yaml) {
  std::set<std::string> keys;
  std::vector<std::string> sections;
  std::istringstream lines(yaml);
  for (std::string line; std::getline(lines, line);) {
    const std::size_t indent = line.find_first_not_of(' ');
    sections.resize(indent / 2);
    const std::string name = line.substr(indent, line.find(':') - indent);
    std::string dotted;
    for (const std::string& section : sections) dotted += section + ".";
    dotted += name;
    if (line.back() == ':') {
      sections.push_back(name);
    } else {
      keys.insert(dotted);
    }
  }
  return keys;
}

// A file under the system's temporary directory, removed with the object.
class TempFile {
 public:
  explicit TempFile(const std::string& contents) {
    path_ = std::filesystem::temp_directory_path() /
            ("routeserve_config_test_" + std::to_string(std::random_device{}()) + ".yaml");
    std::ofstream(path_) << contents;
  }
  ~TempFile() { std::filesystem::remove(path_); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

TEST_CASE("the shipped config file holds the defaults, and names the shipped model", "[config]") {
  absl::StatusOr<Config> loaded = LoadConfig(ROUTESERVE_DEFAULT_CONFIG_PATH);
  REQUIRE(loaded.ok());
  CHECK(loaded->model.path == "models/route-v1");
  loaded->model.path = Config{}.model.path;  // "": a config without the key has no model
  CheckSameConfig(*loaded, Config{});
  CHECK(ConfigToYaml(*loaded) == ConfigToYaml(Config{}));
}

TEST_CASE("the shipped config file lists every key", "[config]") {
  std::ifstream file(ROUTESERVE_DEFAULT_CONFIG_PATH);
  const std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  REQUIRE(!text.empty());
  for (const std::string& key : KeysOf(ConfigToYaml(Config{}))) {
    const std::string name = key.substr(key.rfind('.') + 1);
    INFO(key);
    CHECK((absl::StrContains(text, "\n  " + name + ":") ||
           absl::StrContains(text, "\n    " + name + ":")));
  }
}

TEST_CASE("an empty file, comments alone or empty sections mean all defaults", "[config]") {
  for (const std::string text :
       {"", "\n", "# nothing here\n", "server:\nsolver:\n# max_moves: 3\n"}) {
    INFO(text);
    const absl::StatusOr<Config> config = ParseConfig(text);
    REQUIRE(config.ok());
    CheckSameConfig(*config, Config{});
  }
}

TEST_CASE("a file sets what it names and keeps the other defaults", "[config]") {
  const absl::StatusOr<Config> config = ParseConfig(
      "server:\n  address: \"[::1]:0\"\n"
      "objective:\n  speed_mps:\n    van: 9.5\n"
      "shutdown:\n  drain_delay_s: 0.25\n");
  REQUIRE(config.ok());
  Config expected;
  expected.server.address = "[::1]:0";
  expected.objective.speed_mps[static_cast<int>(routing::VehicleType::kVan)] = 9.5;
  expected.shutdown.drain_delay = absl::Milliseconds(250);
  CheckSameConfig(*config, expected);
}

// An override and the one change it must make to the defaults.
struct OverrideCase {
  std::string override_text;
  std::function<void(Config&)> change;
  // Overrides the key cannot go without (set before it), whose change `change` includes.
  std::vector<std::string> needs = {};
};

std::vector<OverrideCase> EveryKeyOverridden() {
  using routing::VehicleType;
  const auto speed = [](VehicleType type) { return static_cast<int>(type); };
  std::vector<OverrideCase> cases = {
      {"server.address=0.0.0.0:8080", [](Config& c) { c.server.address = "0.0.0.0:8080"; }},
      {"server.worker_threads=3", [](Config& c) { c.server.worker_threads = 3; }},
      {"server.max_connection_age_s=300",
       [](Config& c) { c.server.max_connection_age = absl::Seconds(300); }},
      {"server.tls.cert_file=certs/server.crt",
       [](Config& c) { c.server.tls.cert_file = "certs/server.crt"; }},
      {"server.tls.key_file=/etc/routeserve/tls/tls.key",
       [](Config& c) { c.server.tls.key_file = "/etc/routeserve/tls/tls.key"; }},
      {"server.tls.client_ca_file=\"clients ca.pem\"",
       [](Config& c) { c.server.tls.client_ca_file = "clients ca.pem"; }},
      {"limits.max_stops=100", [](Config& c) { c.limits.max_stops = 100; }},
      {"limits.max_message_bytes=1024", [](Config& c) { c.limits.max_message_bytes = 1024; }},
      {"limits.max_stream_messages=10000000000",
       [](Config& c) { c.limits.max_stream_messages = 10'000'000'000; }},
      {"limits.max_stream_outstanding=1", [](Config& c) { c.limits.max_stream_outstanding = 1; }},
      {"limits.max_concurrent_streams=100",
       [](Config& c) { c.limits.max_concurrent_streams = 100; }},
      {"batching.buckets=[16, 128, 1024]",
       [](Config& c) { c.batching.buckets = {16, 128, 1024}; }},
      {"batching.max_batch_size=4096", [](Config& c) { c.batching.max_batch_size = 4096; }},
      {"batching.max_queue_delay_us=0",
       [](Config& c) { c.batching.max_queue_delay = absl::ZeroDuration(); }},
      {"batching.max_queue_size=1", [](Config& c) { c.batching.max_queue_size = 1; }},
      {"batching.admit_by_deadline=false",
       [](Config& c) { c.batching.admit_by_deadline = false; }},
      {"batching.executors=3", [](Config& c) { c.batching.executors = 3; }},
      {"batching.executor_stuck_after_s=0",
       [](Config& c) { c.batching.executor_stuck_after = absl::ZeroDuration(); }},
      {"batching.executor_stuck_after_s=2.5",
       [](Config& c) { c.batching.executor_stuck_after = absl::Milliseconds(2500); }},
      {"objective.lateness_weight=2.5", [](Config& c) { c.objective.lateness_weight = 2.5; }},
      {"objective.waiting_weight=0.5", [](Config& c) { c.objective.waiting_weight = 0.5; }},
      {"objective.detour_factor=1", [](Config& c) { c.objective.detour_factor = 1; }},
      {"objective.speed_mps.bike=5",
       [=](Config& c) { c.objective.speed_mps[speed(VehicleType::kBike)] = 5; }},
      {"objective.speed_mps.scooter=6",
       [=](Config& c) { c.objective.speed_mps[speed(VehicleType::kScooter)] = 6; }},
      {"objective.speed_mps.car=60",
       [=](Config& c) { c.objective.speed_mps[speed(VehicleType::kCar)] = 60; }},
      {"objective.speed_mps.van=0.1",
       [=](Config& c) { c.objective.speed_mps[speed(VehicleType::kVan)] = 0.1; }},
      {"solver.max_moves=0", [](Config& c) { c.solver.max_moves = 0; }},
      {"solver.perturbation_rounds=7", [](Config& c) { c.solver.perturbation_rounds = 7; }},
      {"solver.max_evaluations=5000000000",
       [](Config& c) { c.solver.max_evaluations = 5'000'000'000; }},
      {"solver.seed=18446744073709551615", [](Config& c) { c.solver.seed = UINT64_MAX; }},
      {"solver.candidates=6", [](Config& c) { c.solver.candidates_k = 6; }},
      {"model.path=models/route-v1", [](Config& c) { c.model.path = "models/route-v1"; }},
      {"model.repository=/srv/models",
       [](Config& c) {
         c.model.path = "";
         c.model.repository = "/srv/models";
         c.model.name = "couriers";
       },
       {"model.path=", "model.name=couriers"}},
      {"model.name=vans",
       [](Config& c) {
         c.model.path = "";
         c.model.repository = "/srv/models";
         c.model.name = "vans";
       },
       {"model.path=", "model.repository=/srv/models"}},
      {"model.shadow_version=-1",
       [](Config& c) {
         c.model.path = "";
         c.model.repository = "/srv/models";
         c.model.name = "couriers";
         c.model.shadow_version = -1;
       },
       {"model.path=", "model.repository=/srv/models", "model.name=couriers"}},
      {"model.shadow_ratio=0.5", [](Config& c) { c.model.shadow_ratio = 0.5; }},
      {"model.version=12",
       [](Config& c) {
         c.model.path = "";
         c.model.repository = "/srv/models";
         c.model.name = "couriers";
         c.model.version = 12;
       },
       {"model.path=", "model.repository=/srv/models", "model.name=couriers"}},
      {"model.device=cuda:1",
       [](Config& c) {
         c.model.device = {.kind = model::DeviceSpec::Kind::kCuda, .index = 1};
       }},
      {"model.precision=bf16", [](Config& c) { c.model.precision = model::Precision::kBf16; }},
      {"model.cuda_graphs=off", [](Config& c) { c.model.cuda_graphs = model::CudaGraphs::kOff; }},
      {"model.decodings=64", [](Config& c) { c.model.decodings = 64; }},
      {"model.candidates=0", [](Config& c) { c.model.candidates = 0; }},
      {"model.threads=2", [](Config& c) { c.model.threads = 2; }},
      {"refine.max_moves=0", [](Config& c) { c.refine.max_moves = 0; }},
      {"refine.perturbation_rounds=10", [](Config& c) { c.refine.perturbation_rounds = 10; }},
      {"metrics.address=0.0.0.0:9464",
       [](Config& c) { c.metrics.address = "0.0.0.0:9464"; }},
      {"metrics.gpu_sample_period_s=0",
       [](Config& c) { c.metrics.gpu_sample_period = absl::ZeroDuration(); }},
      {"capture.path=/var/lib/routeserve/captured.jsonl",
       [](Config& c) { c.capture.path = "/var/lib/routeserve/captured.jsonl"; }},
      {"capture.sample_ratio=0.05", [](Config& c) { c.capture.sample_ratio = 0.05; }},
      {"capture.max_file_bytes=1048576", [](Config& c) { c.capture.max_file_bytes = 1 << 20; }},
      {"shutdown.drain_delay_s=1.5",
       [](Config& c) { c.shutdown.drain_delay = absl::Milliseconds(1500); }},
      {"shutdown.grace_period_s=0",
       [](Config& c) { c.shutdown.grace_period = absl::ZeroDuration(); }},
  };
  // Each vehicle type's model settings, over a repository.
  const std::vector<std::string> repository = {"model.path=", "model.repository=/srv/models",
                                               "model.name=couriers"};
  const auto in_repository = [](Config& c) {
    c.model.path = "";
    c.model.repository = "/srv/models";
    c.model.name = "couriers";
  };
  for (int type = 0; type < routing::kNumVehicleTypes; ++type) {
    const std::string key = absl::StrCat(
        "model.by_vehicle_type.", std::string(routing::VehicleTypeName(VehicleType(type))), ".");
    // A setting of the type's own model (one the default model has differently would be
    // refused: a model runs one way).
    std::vector<std::string> own_model = repository;
    own_model.push_back(key + "name=vans");
    const auto with = [in_repository, type](auto change) {
      return [in_repository, type, change](Config& c) {
        in_repository(c);
        c.model.by_vehicle_type[type].name = "vans";
        change(c.model.by_vehicle_type[type]);
      };
    };
    using VehicleModel = Config::Model::VehicleModel;
    cases.push_back({key + "name=vans", with([](VehicleModel&) {}), repository});
    cases.push_back({key + "version=3", with([](VehicleModel& m) { m.version = 3; }),
                     own_model});
    cases.push_back({key + "device=cpu", with([](VehicleModel& m) {
                       m.device = model::DeviceSpec{.kind = model::DeviceSpec::Kind::kCpu};
                     }),
                     own_model});
    cases.push_back({key + "precision=bf16",
                     with([](VehicleModel& m) { m.precision = model::Precision::kBf16; }),
                     own_model});
    cases.push_back({key + "decodings=4", with([](VehicleModel& m) { m.decodings = 4; }),
                     own_model});
    cases.push_back({key + "executors=2", with([](VehicleModel& m) { m.executors = 2; }),
                     own_model});
  }
  return cases;
}

TEST_CASE("every key can be overridden with --set, over the file or no file", "[config]") {
  const std::string shipped_file = ROUTESERVE_DEFAULT_CONFIG_PATH;
  std::set<std::string> covered;
  for (const OverrideCase& c : EveryKeyOverridden()) {
    INFO(c.override_text);
    covered.insert(c.override_text.substr(0, c.override_text.find('=')));
    Config expected;
    c.change(expected);

    std::vector<std::string> overrides = c.needs;
    overrides.push_back(c.override_text);
    const absl::StatusOr<Config> from_text = ParseConfig("", overrides);
    INFO(from_text.status().message());
    REQUIRE(from_text.ok());
    CheckSameConfig(*from_text, expected);

    const absl::StatusOr<Config> from_file = LoadConfig(shipped_file, overrides);
    INFO(from_file.status().message());
    REQUIRE(from_file.ok());
    Config expected_from_file = expected;  // the file names the shipped model
    if (!absl::StartsWith(c.override_text, "model.path=") && c.needs.empty()) {
      expected_from_file.model.path = "models/route-v1";
    }
    CheckSameConfig(*from_file, expected_from_file);
  }
  CHECK(covered == KeysOf(ConfigToYaml(Config{})));
}

TEST_CASE("overrides win over the file, the last one wins, values are YAML", "[config]") {
  const std::string file = "solver:\n  max_moves: 5\nserver:\n";
  const absl::StatusOr<Config> config =
      ParseConfig(file, {"solver.max_moves=6", " solver.max_moves = 7", "solver.seed=0x10",
                         "server.address=\"[::1]:50051\"", "server.worker_threads=+2"});
  INFO(config.status().message());
  REQUIRE(config.ok());
  CHECK(config->solver.max_moves == 7);
  CHECK(config->solver.seed == 16);
  CHECK(config->server.address == "[::1]:50051");
  CHECK(config->server.worker_threads == 2);
  CHECK(config->limits.max_stops == Config{}.limits.max_stops);
}

// A config that must be refused, and how its message must start.
struct BadCase {
  std::string yaml;
  std::vector<std::string> overrides;
  std::string message_start;
};

void CheckRefused(const BadCase& bad) {
  INFO("yaml: " << bad.yaml);
  INFO("--set " << absl::StrJoin(bad.overrides, " --set "));
  const absl::StatusOr<Config> config = ParseConfig(bad.yaml, bad.overrides);
  REQUIRE_FALSE(config.ok());
  INFO("message: " << config.status().message());
  CHECK(config.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StartsWith(config.status().message(), bad.message_start));
}

TEST_CASE("unknown sections and keys are refused by name", "[config]") {
  for (const BadCase& bad : std::vector<BadCase>{
           {"server:\n  adress: 127.0.0.1:1\n",
            {},
            "server.adress: unknown key (server has address, "},
           {"tracing:\n  address: 127.0.0.1:4317\n",
            {},
            "tracing: unknown section (sections: server, "},
           {"metrics:\n  adress: 127.0.0.1:9464\n",
            {},
            "metrics.adress: unknown key (metrics has address, gpu_sample_period_s)"},
           {"objective:\n  speed_mps:\n    plane: 200\n",
            {},
            "objective.speed_mps.plane: unknown key"},
           {"solver:\n  max_moves: 1\n  max_moves: 2\n",
            {},
            "solver.max_moves: duplicate key (line 3)"},
           {"", {"server.adress=x"}, "server.adress: unknown key"},
           // Gone: batching.max_queue_size, per bucket, replaces it.
           {"server:\n  max_queue_size: 1024\n",
            {},
            "server.max_queue_size: unknown key (server has address, worker_threads, "
            "max_connection_age_s, tls) (line 2)"},
           {"",
            {"server.max_queue_size=1"},
            "server.max_queue_size: unknown key (server has address, worker_threads, "
            "max_connection_age_s, tls) (from --set)"},
           {"server:\n  tls:\n    ca_file: ca.pem\n",
            {},
            "server.tls.ca_file: unknown key (server.tls has cert_file, key_file, "
            "client_ca_file) (line 3)"},
           {"", {"server.tls=on"}, "server.tls: is a section"},
           {"", {"tracing.address=127.0.0.1:4317"}, "tracing.address: unknown section"},
           {"", {"objective.speed_mps.plane=3"}, "objective.speed_mps.plane: unknown key"},
           {"", {"solver.max_moves.x=3"}, "solver.max_moves.x: unknown key"},
           {"", {"objective.speed_mps=5"}, "objective.speed_mps: is a section"},
       }) {
    CheckRefused(bad);
  }
}

TEST_CASE("values of the wrong type are refused by key", "[config]") {
  for (const BadCase& bad : std::vector<BadCase>{
           {"objective:\n  speed_mps:\n    bike: fast\n",
            {},
            "objective.speed_mps.bike: expected a number, got \"fast\" (line 3)"},
           {"solver:\n  max_moves: 2.5\n", {}, "solver.max_moves: expected an integer, got 2.5"},
           {"solver:\n  max_moves: 1e3\n", {}, "solver.max_moves: expected an integer, got 1e3"},
           {"solver:\n  max_moves: \"5\"\n",
            {},
            "solver.max_moves: expected an integer, got \"5\" (quoted, so a string)"},
           {"solver:\n  seed: [1, 2]\n", {}, "solver.seed: expected an integer, got a list"},
           {"batching:\n  admit_by_deadline: yes\n",
            {},
            "batching.admit_by_deadline: expected true or false, got \"yes\" (line 2)"},
           {"batching:\n  admit_by_deadline: \"true\"\n",
            {},
            "batching.admit_by_deadline: expected true or false, got \"true\" (line 2)"},
           {"limits:\n  max_stops:\n",
            {},
            "limits.max_stops: expected an integer, got an empty value"},
           {"objective:\n  detour_factor: {x: 1}\n",
            {},
            "objective.detour_factor: expected a number, got a map"},
           {"objective:\n  lateness_weight: .inf\n",
            {},
            "objective.lateness_weight: expected a number"},
           {"objective:\n  waiting_weight: .nan\n",
            {},
            "objective.waiting_weight: expected a number"},
           {"shutdown:\n  drain_delay_s: 5s\n",
            {},
            "shutdown.drain_delay_s: expected a number, got \"5s\""},
           {"shutdown:\n  grace_period_s: true\n",
            {},
            "shutdown.grace_period_s: expected a number"},
           {"server:\n  address:\n    host: x\n", {}, "server.address: expected host:port"},
           {"server: 5\n", {}, "server: expected a map of keys (address, worker_threads, "
            "max_connection_age_s, tls), got 5"},
           {"objective:\n  speed_mps: 5\n", {}, "objective.speed_mps: expected a map of keys"},
           {"- server\n", {}, "config: expected a map of sections"},
           {"",
            {"solver.max_moves=2.5"},
            "solver.max_moves: expected an integer, got 2.5 (from --set)"},
           {"", {"objective.speed_mps.car=fast"}, "objective.speed_mps.car: expected a number"},
           {"", {"objective.detour_factor=+-2"}, "objective.detour_factor: expected a number"},
           {"", {"solver.seed=0x"}, "solver.seed: expected an integer, got \"0x\""},
           {"", {"solver.seed=12ab"}, "solver.seed: expected an integer, got \"12ab\""},
           {"", {"limits.max_stops="}, "limits.max_stops: expected an integer, got an empty value"},
           {"batching:\n  buckets: 64\n",
            {},
            "batching.buckets: expected a list of integers, e.g. [8, 16, 32], got 64 (line 2)"},
           {"batching:\n  buckets: {a: 1}\n",
            {},
            "batching.buckets: expected a list of integers, e.g. [8, 16, 32], got a map"},
           {"batching:\n  buckets:\n",
            {},
            "batching.buckets: expected a list of integers, e.g. [8, 16, 32], got an empty value"},
           {"batching:\n  buckets: [8, x, 128]\n",
            {},
            "batching.buckets[1]: expected an integer, got \"x\" (line 2)"},
           {"batching:\n  buckets:\n    - 8\n    - [16]\n",
            {},
            "batching.buckets[1]: expected an integer, got a list"},
           {"", {"batching.buckets=128"}, "batching.buckets: expected a list of integers"},
           {"",
            {"batching.buckets=[8, 12.5, 128]"},
            "batching.buckets[1]: expected an integer, got 12.5 (from --set)"},
           {"",
            {"batching.max_queue_delay_us=0.5"},
            "batching.max_queue_delay_us: expected an integer, got 0.5"},
           {"model:\n  path: [a, b]\n", {}, "model.path: expected a string, got a list (line 2)"},
           {"model:\n  device: gpu\n",
            {},
            "model.device: expected auto, cpu, cuda or cuda:N, got \"gpu\" (line 2)"},
           {"", {"model.device=cuda:x"}, "model.device: expected auto, cpu, cuda or cuda:N"},
           {"", {"model.device=cuda:-1"}, "model.device: expected auto, cpu, cuda or cuda:N"},
           {"", {"model.device="}, "model.device: expected auto, cpu, cuda or cuda:N, got \"\""},
           {"",
            {"model.precision=fp8"},
            "model.precision: expected fp32, bf16 or fp16, got \"fp8\" (from --set)"},
           {"", {"model.decodings=two"}, "model.decodings: expected an integer"},
           {"server: 5\n", {"server.worker_threads=1"}, "server: expected a map of keys"},
           {"5\n", {"server.worker_threads=1"}, "config: expected a map of sections"},
       }) {
    CheckRefused(bad);
  }
}

TEST_CASE("every bounded key refuses values out of its range", "[config]") {
  for (const BadCase& bad : std::vector<BadCase>{
           {"", {"server.worker_threads=-1"}, "server.worker_threads: must be >= 0, got -1"},
           {"", {"solver.candidates=-1"}, "solver.candidates: must be >= 0, got -1"},
           {"",
            {"server.worker_threads=2147483648"},
            "server.worker_threads: must be <= 2147483647, got 2147483648"},
           {"", {"limits.max_stops=0"}, "limits.max_stops: must be >= 1, got 0"},
           {"", {"limits.max_stops=1025"}, "limits.max_stops: must be <= 1024, got 1025"},
           {"",
            {"limits.max_message_bytes=1023"},
            "limits.max_message_bytes: must be 0 (derived from limits.max_stops) or >= 1024, got "
            "1023"},
           {"",
            {"limits.max_message_bytes=2147483648"},
            "limits.max_message_bytes: must be <= 2147483647, got 2147483648"},
           {"",
            {"limits.max_stream_messages=-1"},
            "limits.max_stream_messages: must be >= 0, got -1"},
           {"",
            {"limits.max_stream_outstanding=0"},
            "limits.max_stream_outstanding: must be >= 1, got 0"},
           {"",
            {"limits.max_stream_outstanding=65537"},
            "limits.max_stream_outstanding: must be <= 65536, got 65537"},
           {"",
            {"limits.max_concurrent_streams=-1"},
            "limits.max_concurrent_streams: must be >= 0, got -1"},
           {"", {"batching.buckets=[]"}, "batching.buckets: expected at least one value, got []"},
           {"", {"batching.buckets=[0, 128]"}, "batching.buckets[0]: must be >= 1, got 0"},
           {"",
            {"batching.buckets=[8, 1025]"},
            "batching.buckets[1]: must be <= 1024, got 1025 (from --set)"},
           {"",
            {"batching.buckets=[8, 16, 16, 128]"},
            "batching.buckets[2]: must be above the value before it (16), got 16"},
           {"batching:\n  buckets: [8, 128, 64]\n",
            {},
            "batching.buckets[2]: must be above the value before it (128), got 64 (line 2)"},
           {"", {"batching.max_batch_size=0"}, "batching.max_batch_size: must be >= 1, got 0"},
           {"",
            {"batching.max_batch_size=4097"},
            "batching.max_batch_size: must be <= 4096, got 4097"},
           {"",
            {"batching.max_queue_delay_us=-1"},
            "batching.max_queue_delay_us: must be >= 0, got -1"},
           {"",
            {"batching.max_queue_delay_us=10000001"},
            "batching.max_queue_delay_us: must be <= 10000000, got 10000001"},
           {"", {"batching.max_queue_size=0"}, "batching.max_queue_size: must be >= 1, got 0"},
           {"", {"batching.executors=-1"}, "batching.executors: must be >= 0, got -1"},
           {"",
            {"batching.executor_stuck_after_s=-1"},
            "batching.executor_stuck_after_s: must be >= 0, got -1"},
           {"",
            {"batching.executor_stuck_after_s=3601"},
            "batching.executor_stuck_after_s: must be <= 3600, got 3601"},
           {"",
            {"objective.lateness_weight=-1"},
            "objective.lateness_weight: must be >= 0, got -1"},
           {"",
            {"objective.waiting_weight=-0.5"},
            "objective.waiting_weight: must be >= 0, got -0.5"},
           {"",
            {"objective.detour_factor=0.99"},
            "objective.detour_factor: must be >= 1, got 0.99"},
           {"",
            {"objective.detour_factor=5.01"},
            "objective.detour_factor: must be <= 5, got 5.01"},
           {"",
            {"objective.lateness_weight=1e300"},
            "objective.lateness_weight: must be <= 1e+06, got 1e300"},
           {"",
            {"objective.waiting_weight=2e6"},
            "objective.waiting_weight: must be <= 1e+06, got 2e6"},
           {"", {"objective.speed_mps.bike=0"}, "objective.speed_mps.bike: must be >= 0.01, got 0"},
           {"",
            {"objective.speed_mps.scooter=-3"},
            "objective.speed_mps.scooter: must be >= 0.01, got -3"},
           {"",
            {"objective.speed_mps.bike=1e-300"},
            "objective.speed_mps.bike: must be >= 0.01, got 1e-300"},
           {"",
            {"objective.speed_mps.car=60.5"},
            "objective.speed_mps.car: must be <= 60, got 60.5"},
           {"", {"objective.speed_mps.van=1e9"}, "objective.speed_mps.van: must be <= 60, got 1e9"},
           {"solver:\n  max_moves: -3\n", {}, "solver.max_moves: must be >= 0, got -3 (line 2)"},
           {"",
            {"solver.perturbation_rounds=-1"},
            "solver.perturbation_rounds: must be >= 0, got -1"},
           {"", {"solver.max_evaluations=-1"}, "solver.max_evaluations: must be >= 0, got -1"},
           {"",
            {"solver.max_evaluations=9223372036854775808"},
            "solver.max_evaluations: must be <= 9223372036854775807"},
           {"", {"solver.seed=-1"}, "solver.seed: must be >= 0, got -1"},
           {"",
            {"solver.seed=18446744073709551616"},
            "solver.seed: must be <= 18446744073709551615, got 18446744073709551616"},
           {"", {"model.decodings=0"}, "model.decodings: must be >= 1, got 0"},
           {"", {"model.decodings=65"}, "model.decodings: must be <= 64, got 65"},
           {"", {"model.candidates=-1"}, "model.candidates: must be >= 0, got -1"},
           {"", {"model.threads=-1"}, "model.threads: must be >= 0, got -1"},
           {"", {"refine.max_moves=-1"}, "refine.max_moves: must be >= 0, got -1"},
           {"", {"shutdown.drain_delay_s=-0.5"}, "shutdown.drain_delay_s: must be >= 0, got -0.5"},
           {"", {"shutdown.grace_period_s=-1"}, "shutdown.grace_period_s: must be >= 0, got -1"},
           {"", {"metrics.address=9464"}, "metrics.address: expected host:port"},
           {"",
            {"metrics.gpu_sample_period_s=-1"},
            "metrics.gpu_sample_period_s: must be >= 0, got -1"},
       }) {
    CheckRefused(bad);
  }
}

TEST_CASE("the address must be host:port with a port in 0..65535", "[config]") {
  for (const std::string good : {"127.0.0.1:50051", "0.0.0.0:0", "localhost:65535", "[::1]:50051",
                                 "[::]:0", "routeserve.default.svc:80"}) {
    const absl::StatusOr<Config> config = ParseConfig("", {"server.address=\"" + good + "\""});
    INFO(good << ": " << config.status().message());
    REQUIRE(config.ok());
    CHECK(config->server.address == good);
  }
  for (const std::string bad :
       {"localhost", "127.0.0.1:65536", "127.0.0.1:", ":50051", "::1:50051", "[::1]50051", "[]:1",
        "[host]:1", "localhost:http", "local host:1", "127.0.0.1:-1", "127.0.0.1:000050051",
        "unix:/run/routeserve.sock"}) {
    CheckRefused({"", {"server.address=\"" + bad + "\""}, "server.address: expected host:port"});
  }
}

TEST_CASE("malformed overrides are refused and quoted", "[config]") {
  for (const BadCase& bad : std::vector<BadCase>{
           {"",
            {"solver.max_moves"},
            "--set \"solver.max_moves\": expected section.key=value, found no '='"},
           {"", {"=5"}, "--set \"=5\": empty key"},
           {"", {"solver..max_moves=5"}, "--set \"solver..max_moves=5\": empty name in the key"},
           {"", {".max_moves=5"}, "--set \".max_moves=5\": empty name in the key"},
           {"",
            {"server.address=[::1]:50051"},
            "server.address: --set value \"[::1]:50051\" is not a single YAML value; quote it"},
           {"", {"solver.max_moves={a: 1}"}, "solver.max_moves: --set value"},
           {"", {"solver.max_moves=[1"}, "solver.max_moves: --set value"},
           {"",
            {"solver.max_moves=[1, 2]"},
            "solver.max_moves: --set value \"[1, 2]\" is not a single YAML value; quote it"},
           {"",
            {"batching.buckets=[8, 16"},
            "batching.buckets: --set value \"[8, 16\" is not a single YAML value; write a list as "
            "--set 'batching.buckets=[8,16,32]'"},
           {"", {"batching.buckets={a: 1}"}, "batching.buckets: --set value"},
       }) {
    CheckRefused(bad);
  }
}

TEST_CASE("a YAML syntax error names its line", "[config]") {
  const std::string text = "server:\n  worker_threads: 1\n   max_queue_size: 2\n";
  const absl::StatusOr<Config> parsed = ParseConfig(text);
  REQUIRE_FALSE(parsed.ok());
  CHECK(parsed.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StartsWith(parsed.status().message(), "YAML syntax error at line 3, column"));

  const TempFile file(text);
  const absl::StatusOr<Config> loaded = LoadConfig(file.path());
  REQUIRE_FALSE(loaded.ok());
  CHECK(absl::StartsWith(loaded.status().message(),
                         file.path() + ": YAML syntax error at line 3, column"));

  const absl::StatusOr<Config> two_documents = ParseConfig("server:\n---\nlimits:\n");
  REQUIRE_FALSE(two_documents.ok());
  CHECK(absl::StrContains(two_documents.status().message(), "expected one YAML document"));
}

TEST_CASE("a file that cannot be read is named", "[config]") {
  const std::string missing =
      (std::filesystem::temp_directory_path() / "routeserve_config_test_no_such_file.yaml")
          .string();
  const absl::StatusOr<Config> not_found = LoadConfig(missing);
  REQUIRE_FALSE(not_found.ok());
  CHECK(not_found.status().code() == absl::StatusCode::kNotFound);
  CHECK(absl::StrContains(not_found.status().message(), missing));

  const std::string directory = std::filesystem::temp_directory_path().string();
  const absl::StatusOr<Config> is_directory = LoadConfig(directory);
  REQUIRE_FALSE(is_directory.ok());
  CHECK(is_directory.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(is_directory.status().message(), directory));

  const TempFile file("limits:\n  max_stops: 12\n");
  const absl::StatusOr<Config> loaded = LoadConfig(file.path(), {"limits.max_stops=13"});
  REQUIRE(loaded.ok());
  CHECK(loaded->limits.max_stops == 13);
}

TEST_CASE("the model's keys: an empty path means no model: devices and precisions by name",
          "[config]") {
  const absl::StatusOr<Config> config = ParseConfig(
      "model:\n  path:\n  device: cpu\n  precision: fp16\n", {"model.device=cuda"});
  INFO(config.status().message());
  REQUIRE(config.ok());
  CHECK(config->model.path.empty());
  CHECK(config->model.device == model::DeviceSpec{.kind = model::DeviceSpec::Kind::kCuda});
  CHECK(config->model.precision == model::Precision::kFp16);
  for (const std::string device : {"auto", "cpu", "cuda:0", "cuda:7"}) {
    const absl::StatusOr<Config> with =
        ParseConfig("", {"model.device=" + device, "model.path=\"my models/v 2\""});
    INFO(device << ": " << with.status().message());
    REQUIRE(with.ok());
    CHECK(model::DeviceSpecName(with->model.device) == device);
    CHECK(with->model.path == "my models/v 2");
    const absl::StatusOr<Config> again = ParseConfig(ConfigToYaml(*with));
    REQUIRE(again.ok());
    CheckSameConfig(*again, *with);
  }
}

TEST_CASE("batching.buckets is a list, in a file or with --set", "[config]") {
  const std::vector<int> expected = {8, 16, 32, 64, 128};
  using Case = std::pair<std::string, std::vector<std::string>>;  // the file, the overrides
  for (const auto& [yaml, overrides] : std::vector<Case>{
           {"", {"batching.buckets=[8,16,32,64,128]"}},
           {"", {"batching.buckets=[ 8, 16, 32, 64, 0x80 ]"}},
           {"batching:\n  buckets: [8, 16, 32, 64, 128]\n", {}},
           {"batching:\n  buckets:\n    - 8\n    - 16\n    - 32\n    - 64\n    - 128\n", {}},
           {"batching:\n  buckets: [1024]\n", {"batching.buckets=[8,16,32,64,128]"}},
       }) {
    INFO(yaml << " --set " << absl::StrJoin(overrides, " --set "));
    const absl::StatusOr<Config> config = ParseConfig(yaml, overrides);
    INFO(config.status().message());
    REQUIRE(config.ok());
    CHECK(config->batching.buckets == expected);
  }
  CHECK(absl::StrContains(ConfigToYaml(Config{}), "\n  buckets: [8, 16, 32, 64, 128]\n"));
}

TEST_CASE("the largest bucket must hold limits.max_stops", "[config]") {
  for (const BadCase& bad : std::vector<BadCase>{
           {"",
            {"limits.max_stops=129"},
            "batching.buckets: the largest bucket, 128 stops, must hold limits.max_stops, 129"},
           {"",
            {"batching.buckets=[8, 64]"},
            "batching.buckets: the largest bucket, 64 stops, must hold limits.max_stops, 128"},
           {"limits:\n  max_stops: 20\nbatching:\n  buckets: [8, 16]\n",
            {},
            "batching.buckets: the largest bucket, 16 stops, must hold limits.max_stops, 20"},
       }) {
    CheckRefused(bad);
  }
  for (const std::vector<std::string>& good : std::vector<std::vector<std::string>>{
           {"batching.buckets=[8, 64]", "limits.max_stops=64"},
           {"batching.buckets=[1024]", "limits.max_stops=1024"},
           {"batching.buckets=[8, 16, 32]", "limits.max_stops=1"},
       }) {
    const absl::StatusOr<Config> config = ParseConfig("", good);
    INFO(absl::StrJoin(good, " ") << ": " << config.status().message());
    CHECK(config.ok());
  }
}

TEST_CASE("a model comes from model.path or from model.repository with a name", "[config]") {
  for (const BadCase& bad : std::vector<BadCase>{
           {"",
            {"model.path=models/route-v1", "model.repository=models"},
            "model.repository: a model comes from model.path or from model.repository, not both"},
           {"", {"model.repository=models"}, "model.name: model.repository needs the name"},
           {"", {"model.name=couriers"}, "model.name: only with model.repository"},
           {"", {"model.version=2"}, "model.version: only with model.repository"},
           {"", {"model.shadow_version=2"}, "model.shadow_version: only with model.repository"},
       }) {
    CheckRefused(bad);
  }
  const absl::StatusOr<Config> config = ParseConfig(
      "", {"model.repository=/srv/models", "model.name=couriers", "model.version=3"});
  REQUIRE(config.ok());
  CHECK(config->model.repository == "/srv/models");
  CHECK(config->model.name == "couriers");
  CHECK(config->model.version == 3);
}

TEST_CASE("vehicle types go to their models, each with its own settings", "[config]") {
  using routing::VehicleType;
  const std::string repository =
      "model:\n  repository: /srv/models\n  name: couriers\n  shadow_version: -1\n";
  {
    const absl::StatusOr<Config> config = ParseConfig(repository);
    REQUIRE(config.ok());
    const absl::StatusOr<std::vector<ServedModel>> served = ServedModels(*config);
    REQUIRE(served.ok());
    REQUIRE(served->size() == 1);
    CHECK(served->front().is_default);
    CHECK(served->front().vehicle_types.size() == routing::kNumVehicleTypes);
  }
  {
    const absl::StatusOr<Config> config = ParseConfig(
        repository, {"model.by_vehicle_type.van.name=vans", "model.by_vehicle_type.van.decodings=4",
                     "model.by_vehicle_type.van.device=cpu", "model.by_vehicle_type.car.name=vans",
                     "model.by_vehicle_type.car.decodings=4", "model.by_vehicle_type.car.device=cpu",
                     "model.by_vehicle_type.scooter.name=couriers",
                     "model.by_vehicle_type.van.executors=3"});
    INFO(config.status().message());
    // car and van disagree on executors (van 3, car the default's)
    CHECK(absl::StrContains(config.status().message(),
                            "model.by_vehicle_type.van.executors: model \"vans\" also serves "
                            "vehicle type car, with another executors"));
  }
  {
    const absl::StatusOr<Config> config = ParseConfig(
        repository, {"model.by_vehicle_type.van.name=vans", "model.by_vehicle_type.van.decodings=4",
                     "model.by_vehicle_type.van.version=7", "model.by_vehicle_type.car.name=vans",
                     "model.by_vehicle_type.car.decodings=4", "model.by_vehicle_type.car.version=7",
                     "model.by_vehicle_type.scooter.name=couriers"});
    INFO(config.status().message());
    REQUIRE(config.ok());
    const absl::StatusOr<std::vector<ServedModel>> served = ServedModels(*config);
    REQUIRE(served.ok());
    REQUIRE(served->size() == 2);
    const ServedModel& couriers = (*served)[0];
    CHECK(couriers.is_default);
    CHECK(couriers.name == "couriers");
    CHECK(couriers.vehicle_types ==
          std::vector<VehicleType>{VehicleType::kBike, VehicleType::kScooter});
    CHECK(couriers.config.model.shadow_version == -1);
    const ServedModel& vans = (*served)[1];
    CHECK_FALSE(vans.is_default);
    CHECK(vans.name == "vans");
    CHECK(vans.vehicle_types == std::vector<VehicleType>{VehicleType::kCar, VehicleType::kVan});
    CHECK(vans.config.model.name == "vans");
    CHECK(vans.config.model.version == 7);
    CHECK(vans.config.model.decodings == 4);
    CHECK(vans.config.model.shadow_version == 0);  // the default model's shadow only
  }
  {
    std::vector<std::string> every_type;
    for (const char* type : {"bike", "scooter", "car", "van"}) {
      every_type.push_back(absl::StrCat("model.by_vehicle_type.", type, ".name=small"));
    }
    const absl::StatusOr<Config> config = ParseConfig(repository, every_type);
    REQUIRE(config.ok());
    const absl::StatusOr<std::vector<ServedModel>> served = ServedModels(*config);
    REQUIRE(served.ok());
    REQUIRE(served->size() == 1);  // the default model answers no type: not loaded
    CHECK(served->front().name == "small");
  }
  for (const BadCase& bad : std::vector<BadCase>{
           {"",
            {"model.by_vehicle_type.van.name=vans"},
            "model.by_vehicle_type.van.name: models by vehicle type come from model.repository, "
            "which is empty"},
           {repository,
            {"model.by_vehicle_type.van.decodings=4"},
            "model.by_vehicle_type.van.decodings: model \"couriers\" is the default model, whose "
            "decodings (model.*) differs"},
           {repository,
            {"model.by_vehicle_type.bike.name=vans", "model.by_vehicle_type.bike.device=cpu",
             "model.by_vehicle_type.van.name=vans"},
            "model.by_vehicle_type.van.device: model \"vans\" also serves vehicle type bike, "
            "with another device"},
           {repository,
            {"model.by_vehicle_type.van.precision=fp64"},
            "model.by_vehicle_type.van.precision:"},
       }) {
    CheckRefused(bad);
  }
}

TEST_CASE("ConfigToYaml gives back the same config through ParseConfig", "[config]") {
  std::vector<std::string> every_override;
  // In order: the repository's keys, after model.path, empty it (their `needs`).
  for (const OverrideCase& c : EveryKeyOverridden()) {
    every_override.insert(every_override.end(), c.needs.begin(), c.needs.end());
    every_override.push_back(c.override_text);
  }
  every_override.push_back("objective.lateness_weight=0.1");  // no short binary form
  every_override.push_back("shutdown.drain_delay_s=0.333");
  every_override.push_back("batching.max_queue_delay_us=1234567");

  const absl::StatusOr<Config> changed = ParseConfig("", every_override);
  REQUIRE(changed.ok());
  for (const Config& original : {Config{}, *changed}) {
    const std::string yaml = ConfigToYaml(original);
    INFO(yaml);
    const absl::StatusOr<Config> reparsed = ParseConfig(yaml);
    INFO(reparsed.status().message());
    REQUIRE(reparsed.ok());
    CheckSameConfig(*reparsed, original);
    CHECK(ConfigToYaml(*reparsed) == yaml);
  }
}

TEST_CASE("ConfigToYaml quotes an address whatever it holds", "[config]") {
  Config config;
  config.server.address = "a\"b\\c\n:1";
  const std::string yaml = ConfigToYaml(config);
  CHECK(absl::StrContains(yaml, "  address: \"a\\\"b\\\\c\\x0a:1\"\n"));
  // The address is invalid, so ParseConfig refuses it, naming the key: it read back the string.
  CheckRefused({yaml, {}, "server.address: expected host:port"});
}

TEST_CASE("the derived message limit holds the largest request the stop limit allows",
          "[config]") {
  // 128 stops with long ids and a full matrix, end position included: the limit must hold it.
  routing::GeneratorOptions options;
  options.num_stops = 128;
  options.caller_matrix = true;
  v1::SuggestRequest request = api::ToSuggestRequest(routing::GenerateProblem(options, 11));
  request.set_request_id("courier-17");
  request.mutable_end_position()->set_lat_deg(1);
  for (v1::Stop& stop : *request.mutable_stops()) {
    stop.set_id(std::string(64, 's') + stop.id());
    stop.set_order_id(std::string(64, 'o') + stop.order_id());
  }
  request.clear_travel_time_matrix_s();
  for (int i = 0; i < 130 * 130; ++i) request.add_travel_time_matrix_s(1e9 + i);
  const int64_t size = static_cast<int64_t>(request.ByteSizeLong());
  Config config;
  INFO(size);
  CHECK(size <= config.limits.MessageBytesLimit());
  CHECK(config.limits.MessageBytesLimit() == 221'732);
  config.limits.max_message_bytes = 4096;  // set: as set
  CHECK(config.limits.MessageBytesLimit() == 4096);
}

}  // namespace
}  // namespace routeserve::config
