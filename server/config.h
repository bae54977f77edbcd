// The server's configuration (DESIGN §7): one YAML file, every key documented in
// config/routeserve.yaml, any key overridable with `--set section.key=value`.
//
// Unknown keys, wrong types and out-of-range values are errors that name the key
// ("solver.max_moves: must be >= 0, got -3"); loading never half-succeeds.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "routing/objective.h"
#include "routing/solver.h"

namespace routeserve::server {

struct Config {
  struct Server {
    std::string address = "127.0.0.1:50051";  // host:port; port 0 picks a free one
    int worker_threads = 0;                   // solving threads; 0 = one per core
    int max_queue_size = 1024;                // requests waiting for a worker; more are refused
  } server;

  struct Limits {
    int max_stops = 128;  // stops per request
  } limits;

  routing::ObjectiveParams objective;  // objective.* and the travel-time model
  routing::SolverOptions solver;       // solver.*

  struct Shutdown {
    // Readiness reports NOT_SERVING while calls are still accepted, so load balancers notice.
    absl::Duration drain_delay = absl::Seconds(5);
    // In-flight calls get this long to finish once new calls are refused.
    absl::Duration grace_period = absl::Seconds(20);
  } shutdown;
};

// Loads `path` (the defaults above where a key is absent), then applies `overrides`, each
// "section.key=value" with the value in YAML syntax.
absl::StatusOr<Config> LoadConfig(const std::string& path,
                                  const std::vector<std::string>& overrides = {});

// The same from YAML text, for tests and tools.
absl::StatusOr<Config> ParseConfig(const std::string& yaml_text,
                                   const std::vector<std::string>& overrides = {});

}  // namespace routeserve::server
