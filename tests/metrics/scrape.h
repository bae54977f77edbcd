// Reading a /metrics scrape in tests: its samples by series, and promtool's verdict on it.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

namespace routeserve::testing {

// Samples of a text-format scrape, keyed by the series as written: the name and its labels in
// braces, e.g. routeserve_requests_total{code="OK",method="Suggest"} (prometheus-cpp writes
// labels sorted by name). Comment lines are skipped.
std::map<std::string, double> ParseScrape(const std::string& text);

// The sample names of a scrape (routeserve_batch_size_bucket, ..._count, ...) and its family
// names (from its # TYPE lines).
std::set<std::string> ScrapeNames(const std::string& text);

// Every metric name starting with `prefix` that `text` mentions (a dashboard's or alert
// rules' expressions, say).
std::set<std::string> MetricNamesIn(const std::string& text,
                                    const std::string& prefix = "routeserve_");

// The sample of `series`, or -1 when the scrape has none.
double SampleOf(const std::map<std::string, double>& samples, const std::string& series);

// The sum of the samples of `name` over its series whose labels include each of `labels`
// (written `key="value"`), whatever their other labels; -1 when no series matches.
double SumOf(const std::map<std::string, double>& samples, const std::string& name,
             const std::vector<std::string>& labels = {});

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};
// Runs `command` through /bin/sh with `input` on its stdin; `output` has its stdout and
// stderr, but what the command redirects itself (`cmd 2>file` keeps its stderr in the file).
CommandResult RunCommand(const std::string& command, const std::string& input = "");

}  // namespace routeserve::testing
