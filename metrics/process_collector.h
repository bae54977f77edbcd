// ProcessCollector: the process_* families every Prometheus client library exports for its
// process, the same names, types and units as the Go and Python clients' (so that dashboards and
// alerts written for any server work here), read from procfs at each scrape:
//
//   process_cpu_seconds_total      counter  user + system CPU time   <proc>/self/stat
//   process_resident_memory_bytes  gauge    resident set size         <proc>/self/stat
//   process_virtual_memory_bytes   gauge    virtual memory size       <proc>/self/stat
//   process_start_time_seconds     gauge    start, unix seconds       <proc>/self/stat, <proc>/stat
//   process_open_fds               gauge    open file descriptors     <proc>/self/fd
//   process_max_fds                gauge    their soft limit          <proc>/self/limits
//
// WHY HERE: prometheus-cpp 1.0.1 has no process collector (the Go and Python clients have one
//   built in).
// MISSING DATA: a family whose file cannot be read or parsed (no procfs, another kernel's
//   format) is left out of that scrape, not exported as 0; an unlimited descriptor limit leaves
//   process_max_fds out.
// COST: three small files read and one directory listed per scrape.
// THREADING: Collect() is thread-safe (it keeps no state).
#pragma once

#include <string>
#include <vector>

#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"

namespace routeserve::metrics {

class ProcessCollector final : public prometheus::Collectable {
 public:
  // `proc`: where procfs is mounted; tests point it at a directory of their own.
  explicit ProcessCollector(std::string proc = "/proc");

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const std::string proc_;
};

}  // namespace routeserve::metrics
