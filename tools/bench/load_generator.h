// LoadGenerator: drives RouteService.Suggest calls at one server through gRPC's callback API,
// in a closed or an open loop, and collects what the answers say (docs/BENCHMARKS.md).
//
// RPC: unary, a Suggest call per request; or stream, one SuggestStream call per channel for the
//   whole run (StreamClient), a message per request. Below, a "call" is either; a streamed
//   message's deadline is its `timeout_s`, and its own error counts like a failed call's status.
// CLOSED LOOP: `concurrency` calls are outstanding at all times; the answer to one starts the
//   next at once, on the thread that completed it. Latency counts from the call's start.
// OPEN LOOP: calls start at the arrivals of a Poisson process of rate `rate_per_s` (one process
//   per channel with its share of the rate, each on its own thread), whether or not earlier
//   calls were answered. Latency counts from the scheduled arrival, so that a server -- or a
//   client -- that falls behind shows as latency, not as fewer calls (no coordinated omission).
//   An arrival that finds `max_outstanding` calls outstanding is skipped and counted.
// WINDOWS: calls due during the warmup are answered and their routes checked, but not counted;
//   calls due in the following `duration` are counted; then no call starts, and the run is done
//   once every call is answered (each call's deadline bounds the wait).
// REQUESTS: the pool's requests in turn; calls spread over the channels in turn.
// CHECKS: every OK answer, warmup included, goes to the RouteVerifier.
// THREADING: calls complete on gRPC's callback threads. Start() once; Snapshot() from any
//   thread; Result() once WaitUntilDone() returned true. The destructor waits for every call.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "routeserve/v1/route_service.grpc.pb.h"
#include "tools/bench/bench_options.h"
#include "tools/bench/latency_histogram.h"
#include "tools/bench/request_pool.h"
#include "tools/bench/route_verifier.h"
#include "tools/bench/stream_client.h"

namespace routeserve::bench {

// `count` channels to `target`, each with a distinct channel argument so that each is its own
// HTTP/2 connection (gRPC shares a connection between channels of equal arguments).
std::vector<std::shared_ptr<grpc::Channel>> OpenChannels(const std::string& target, int count);

// Waits until every channel is connected; Unavailable naming the target if one is not by
// `deadline`.
absl::Status WaitForChannels(const std::vector<std::shared_ptr<grpc::Channel>>& channels,
                             const std::string& target, absl::Time deadline);

// The counted calls of a run.
struct LoadResult {
  LatencyHistogram ok_latency;                          // of OK answers, from the due time
  // How long after its due time each call started (every status): near zero unless the client
  // itself falls behind, in which case latency counts that wait too.
  LatencyHistogram start_lag;
  std::map<grpc::StatusCode, int64_t> answers_by_code;  // OK included
  // Latency of every answer by its status code (OK included), from the due time, so that how
  // fast refusals come back is measured too.
  std::map<grpc::StatusCode, LatencyHistogram> latency_by_code;
  std::map<v1::RouteSource, int64_t> ok_by_source;
  int64_t due = 0;       // calls due in the window; open loop: arrivals, skipped included
  int64_t skipped = 0;   // open loop: arrivals skipped at max_outstanding
  int64_t answered = 0;  // every status
  int64_t ok = 0;
  // Sums over OK answers of the server's timings (ServerTimings).
  double queue_s = 0;
  double executor_wait_s = 0;
  double inference_s = 0;
  double refine_s = 0;
  double batch_size = 0;
  // From the window's start to the last counted answer, and at least the window: answered /
  // counted_for is the throughput.
  absl::Duration counted_for;
};

// Where a run is, for a progress line.
struct LoadProgress {
  absl::Duration elapsed;  // since Start()
  bool warming_up = false;
  int64_t answered_all = 0;  // warmup included
  int64_t answered = 0;      // counted
  int64_t errors = 0;        // counted, not OK
  int64_t ok_p99_ns = 0;     // of the counted OK answers so far
  int64_t outstanding = 0;
};

class LoadGenerator {
 public:
  // `channels`, `pool` and `verifier` outlive the generator; `pool` is not empty. The options'
  // load fields are used: mode, concurrency, rate_per_s, warmup, duration, deadline,
  // max_outstanding, seed.
  LoadGenerator(const BenchOptions& options,
                const std::vector<std::shared_ptr<grpc::Channel>>& channels,
                const std::vector<PooledRequest>& pool, RouteVerifier& verifier);
  // Waits for every call, then closes the streams.
  ~LoadGenerator();
  LoadGenerator(const LoadGenerator&) = delete;
  LoadGenerator& operator=(const LoadGenerator&) = delete;

  // Opens the streams (--rpc stream) and starts the warmup's calls (closed loop) or the arrival
  // threads (open loop); returns at once.
  void Start();

  // True once the run is done; waits at most `timeout` for it.
  bool WaitUntilDone(absl::Duration timeout);

  LoadProgress Snapshot() const;

  // The counted calls; only once WaitUntilDone() returned true.
  LoadResult Result() const;

  // Implementation details follow.
 private:
  using Clock = std::chrono::steady_clock;
  struct Call;

  // A call of the pool's next request, due at `due`; counted (and counted as due) when `due` is
  // in the window.
  Call* NewCall(int channel, Clock::time_point due);
  // Issues `call`, or, when this thread is already issuing one further up its stack (an answer
  // that came back at once, inside the issuing call), queues it for that outer loop.
  void Launch(Call* call);
  void Issue(Call* call);
  void OnAnswer(Call* call, const grpc::Status& status);
  void ScheduleArrivals(int channel, uint64_t seed);
  bool Done() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Launch() calls this thread is already in, and the calls they are to issue next.
  static thread_local int launch_depth_;
  static thread_local std::vector<std::pair<LoadGenerator*, Call*>> deferred_launches_;

  const BenchOptions options_;
  std::vector<std::unique_ptr<v1::RouteService::Stub>> stubs_;
  std::vector<std::unique_ptr<StreamClient>> streams_;  // one per stub, with --rpc stream
  const std::vector<PooledRequest>& pool_;
  RouteVerifier& verifier_;
  std::vector<std::thread> arrival_threads_;

  Clock::time_point start_;
  Clock::time_point window_start_;
  Clock::time_point window_end_;
  std::atomic<uint64_t> next_request_{0};
  // Changed where mu_ is held when it may fall to 0 (Done() reads it); read anywhere.
  std::atomic<int64_t> outstanding_{0};
  std::atomic<int64_t> due_{0};
  std::atomic<int64_t> skipped_{0};

  mutable absl::Mutex mu_;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  // Closed loop: call slots still running; open loop: arrival threads still running.
  int active_sources_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t answered_all_ ABSL_GUARDED_BY(mu_) = 0;
  LoadResult result_ ABSL_GUARDED_BY(mu_);
  Clock::time_point last_counted_answer_ ABSL_GUARDED_BY(mu_);
};

}  // namespace routeserve::bench
