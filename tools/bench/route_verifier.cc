// RouteVerifier: a bounded queue of answers and the threads that check them.
#include "tools/bench/route_verifier.h"

namespace routeserve::bench {

RouteVerifier::RouteVerifier(const std::vector<PooledRequest>& pool, int threads, int max_queued)
    : pool_(pool), max_queued_(static_cast<size_t>(max_queued)) {
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Work(); });
}

RouteVerifier::~RouteVerifier() { Finish(); }

void RouteVerifier::Submit(int pool_index, v1::SuggestResponse response) {
  {
    absl::MutexLock lock(&mu_);
    if (queue_.size() < max_queued_) {
      queue_.emplace_back(pool_index, std::move(response));
      return;
    }
  }
  Record(CheckAnswer(pool_[static_cast<size_t>(pool_index)], response), /*inline_check=*/true);
}

int64_t RouteVerifier::bad_so_far() const {
  absl::MutexLock lock(&mu_);
  return summary_.bad;
}

void RouteVerifier::Record(const std::string& problem, bool inline_check) {
  absl::MutexLock lock(&mu_);
  ++summary_.checked;
  if (inline_check) ++summary_.checked_inline;
  if (problem.empty()) return;
  ++summary_.bad;
  if (summary_.bad_examples.size() < kMaxExamples) summary_.bad_examples.push_back(problem);
}

bool RouteVerifier::HasWorkOrFinishing() const { return !queue_.empty() || finishing_; }

void RouteVerifier::Work() {
  for (;;) {
    std::pair<int, v1::SuggestResponse> answer;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(this, &RouteVerifier::HasWorkOrFinishing));
      if (queue_.empty()) return;  // finishing, and nothing left
      answer = std::move(queue_.front());
      queue_.pop_front();
    }
    Record(CheckAnswer(pool_[static_cast<size_t>(answer.first)], answer.second),
           /*inline_check=*/false);
  }
}

RouteCheckSummary RouteVerifier::Finish() {
  {
    absl::MutexLock lock(&mu_);
    finishing_ = true;
  }
  for (std::thread& thread : threads_) thread.join();
  threads_.clear();
  absl::MutexLock lock(&mu_);
  return summary_;
}

}  // namespace routeserve::bench
