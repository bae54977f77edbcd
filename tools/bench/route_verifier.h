// RouteVerifier checks answered routes (CheckAnswer) on a few threads of its own, so that the
// threads completing calls only hand answers over.
//
// MEMORY: at most `max_queued` answers wait. When that many already wait, Submit() checks the
//   answer on the caller's thread instead: the client then slows down rather than memory growing,
//   and every answer is still checked (`checked_inline` counts those).
// THREADING: Submit() is thread-safe and never waits for other answers' checks; Finish() is
//   called once, after the last Submit(), and waits until every answer is checked.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "routeserve/v1/route_service.pb.h"
#include "tools/bench/request_pool.h"

namespace routeserve::bench {

struct RouteCheckSummary {
  int64_t checked = 0;
  int64_t checked_inline = 0;  // on a submitting thread, the queue being full
  int64_t bad = 0;
  std::vector<std::string> bad_examples;  // the first few problems, as CheckAnswer says them
};

class RouteVerifier {
 public:
  static constexpr int kMaxExamples = 5;

  // `pool` outlives the verifier. `threads` >= 1, `max_queued` >= 1.
  RouteVerifier(const std::vector<PooledRequest>& pool, int threads, int max_queued);
  ~RouteVerifier();  // finishes, if Finish() was not called
  RouteVerifier(const RouteVerifier&) = delete;
  RouteVerifier& operator=(const RouteVerifier&) = delete;

  // Checks `response` as the answer to pool[pool_index], now or later.
  void Submit(int pool_index, v1::SuggestResponse response);

  // Bad routes found so far (for progress lines).
  int64_t bad_so_far() const;

  // Waits for the queued answers, stops the threads, and returns what the checks found.
  RouteCheckSummary Finish();

  // Implementation details follow.
 private:
  void Work();
  bool HasWorkOrFinishing() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Record(const std::string& problem, bool inline_check);

  const std::vector<PooledRequest>& pool_;
  const size_t max_queued_;
  std::vector<std::thread> threads_;
  mutable absl::Mutex mu_;
  std::deque<std::pair<int, v1::SuggestResponse>> queue_ ABSL_GUARDED_BY(mu_);
  bool finishing_ ABSL_GUARDED_BY(mu_) = false;
  RouteCheckSummary summary_ ABSL_GUARDED_BY(mu_);
};

}  // namespace routeserve::bench
