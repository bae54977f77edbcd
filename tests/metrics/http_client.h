// HttpGet: one plain HTTP/1.0 GET over loopback TCP, for the tests that scrape /metrics and ask
// a Prometheus server's API. No redirects, no chunked encoding (neither server uses them for
// these answers).
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace routeserve::testing {

struct HttpResponse {
  int status = 0;    // 200, 400, ...
  std::string body;
};

// GET http://host:port/target (target with its query, already URL-encoded). Unavailable when
// the connection fails; the wait for the answer is bounded (30 s).
absl::StatusOr<HttpResponse> HttpGet(const std::string& host, int port, const std::string& target);

// `text` percent-encoded for a URL's query.
std::string UrlEncode(const std::string& text);

}  // namespace routeserve::testing
