// LoadGenerator: closed and open loops over gRPC's callback API.
#include "tools/bench/load_generator.h"

#include <sys/prctl.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "tools/bench/random.h"

namespace routeserve::bench {
namespace {

// An arbitrary channel argument; only its distinct values matter (see OpenChannels).
constexpr char kChannelArg[] = "routeserve.bench.channel";
// Mixed into --seed for the arrival processes, so that they do not echo the request pool.
constexpr uint64_t kArrivalSeedSalt = 0x6172726976616c73;  // "arrivals"
constexpr absl::Duration kStreamDeadlineMargin = absl::Seconds(30);

std::chrono::steady_clock::duration ToSteady(absl::Duration duration) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      absl::ToChronoNanoseconds(duration));
}

}  // namespace

std::vector<std::shared_ptr<grpc::Channel>> OpenChannels(const std::string& target, int count) {
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < count; ++i) {
    grpc::ChannelArguments arguments;
    arguments.SetInt(kChannelArg, i);
    channels.push_back(
        grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), arguments));
  }
  return channels;
}

absl::Status WaitForChannels(const std::vector<std::shared_ptr<grpc::Channel>>& channels,
                             const std::string& target, absl::Time deadline) {
  for (size_t i = 0; i < channels.size(); ++i) {
    if (!channels[i]->WaitForConnected(absl::ToChronoTime(deadline))) {
      return absl::UnavailableError(
          absl::StrCat("cannot connect to ", target, " (channel ", i, ")"));
    }
  }
  return absl::OkStatus();
}

thread_local int LoadGenerator::launch_depth_ = 0;
thread_local std::vector<std::pair<LoadGenerator*, LoadGenerator::Call*>>
    LoadGenerator::deferred_launches_;

struct LoadGenerator::Call {
  grpc::ClientContext context;
  v1::SuggestResponse response;
  int pool_index = 0;
  int channel = 0;
  Clock::time_point due;
  Clock::time_point started;
  bool counted = false;
};

LoadGenerator::LoadGenerator(const BenchOptions& options,
                             const std::vector<std::shared_ptr<grpc::Channel>>& channels,
                             const std::vector<PooledRequest>& pool, RouteVerifier& verifier)
    : options_(options), pool_(pool), verifier_(verifier) {
  for (const std::shared_ptr<grpc::Channel>& channel : channels) {
    stubs_.push_back(v1::RouteService::NewStub(channel));
  }
}

LoadGenerator::~LoadGenerator() {
  {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(this, &LoadGenerator::Done));
  }
  for (std::thread& thread : arrival_threads_) thread.join();
  for (std::unique_ptr<StreamClient>& stream : streams_) stream->Close();
}

bool LoadGenerator::Done() const {
  return !started_ || (active_sources_ == 0 && outstanding_ == 0);
}

void LoadGenerator::Start() {
  start_ = Clock::now();
  window_start_ = start_ + ToSteady(options_.warmup);
  window_end_ = window_start_ + ToSteady(options_.duration);
  const int channels = static_cast<int>(stubs_.size());
  if (options_.rpc == RpcKind::kStream) {
    // Long past the last message's timeout: the server answers each message by its own
    // timeout, and this only bounds the wait for a server that stops answering.
    const absl::Time stream_deadline = absl::Now() + options_.warmup + options_.duration +
                                       2 * options_.deadline + kStreamDeadlineMargin;
    for (const std::unique_ptr<v1::RouteService::Stub>& stub : stubs_) {
      streams_.push_back(std::make_unique<StreamClient>(stub.get(), stream_deadline));
    }
  }
  if (options_.mode == LoadMode::kClosedLoop) {
    {
      absl::MutexLock lock(&mu_);
      started_ = true;
      active_sources_ = options_.concurrency;
      outstanding_ = options_.concurrency;
    }
    for (int slot = 0; slot < options_.concurrency; ++slot) {
      Launch(NewCall(slot % channels, start_));
    }
    return;
  }
  {
    absl::MutexLock lock(&mu_);
    started_ = true;
    active_sources_ = channels;
  }
  SplitMix64 seeds(options_.seed ^ kArrivalSeedSalt);
  for (int channel = 0; channel < channels; ++channel) {
    arrival_threads_.emplace_back(
        [this, channel, seed = seeds.Next()] { ScheduleArrivals(channel, seed); });
  }
}

LoadGenerator::Call* LoadGenerator::NewCall(int channel, Clock::time_point due) {
  auto* call = new Call;
  call->pool_index =
      static_cast<int>(next_request_.fetch_add(1, std::memory_order_relaxed) % pool_.size());
  call->channel = channel;
  call->due = due;
  call->counted = due >= window_start_;
  if (call->counted) ++due_;
  return call;
}

void LoadGenerator::Launch(Call* call) {
  if (launch_depth_ > 0) {
    deferred_launches_.emplace_back(this, call);
    return;
  }
  ++launch_depth_;
  Issue(call);
  while (!deferred_launches_.empty()) {
    auto [generator, next] = deferred_launches_.back();
    deferred_launches_.pop_back();
    generator->Issue(next);
  }
  --launch_depth_;
}

void LoadGenerator::Issue(Call* call) {
  call->started = Clock::now();
  const v1::SuggestRequest& request = pool_[static_cast<size_t>(call->pool_index)].request;
  if (options_.rpc == RpcKind::kStream) {
    streams_[static_cast<size_t>(call->channel)]->Send(
        request, absl::ToDoubleSeconds(options_.deadline),
        [this, call](const grpc::Status& status, v1::SuggestResponse response) {
          call->response = std::move(response);
          OnAnswer(call, status);
        });
    return;
  }
  call->context.set_deadline(std::chrono::system_clock::now() +
                             absl::ToChronoNanoseconds(options_.deadline));
  stubs_[static_cast<size_t>(call->channel)]->async()->Suggest(
      &call->context, &request, &call->response,
      [this, call](grpc::Status status) { OnAnswer(call, status); });
}

void LoadGenerator::OnAnswer(Call* call, const grpc::Status& status) {
  const Clock::time_point now = Clock::now();
  const int64_t latency_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(now - call->due).count();
  const int64_t start_lag_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(call->started - call->due).count();
  const bool counted = call->counted;
  const int channel = call->channel;
  const v1::RouteSource source = call->response.source();
  const v1::ServerTimings timings = call->response.timings();
  if (status.ok()) verifier_.Submit(call->pool_index, std::move(call->response));
  delete call;

  const bool next = options_.mode == LoadMode::kClosedLoop && now < window_end_;
  {
    absl::MutexLock lock(&mu_);
    ++answered_all_;
    if (counted) {
      LoadResult& result = result_;
      ++result.answered;
      ++result.answers_by_code[status.error_code()];
      result.latency_by_code[status.error_code()].Record(latency_ns);
      result.start_lag.Record(start_lag_ns);
      last_counted_answer_ = std::max(last_counted_answer_, now);
      if (status.ok()) {
        ++result.ok;
        result.ok_latency.Record(latency_ns);
        ++result.ok_by_source[source];
        result.queue_s += timings.queue_s();
        result.executor_wait_s += timings.executor_wait_s();
        result.inference_s += timings.inference_s();
        result.refine_s += timings.refine_s();
        result.batch_size += timings.batch_size();
      }
    }
    if (!next) {
      --outstanding_;
      if (options_.mode == LoadMode::kClosedLoop) --active_sources_;
    }
  }
  if (next) {
    // The slot's next call takes this one's place among the outstanding.
    Launch(NewCall(channel, now));
  }
}

void LoadGenerator::ScheduleArrivals(int channel, uint64_t seed) {
  // Wake-ups as close to the arrival times as the kernel allows (the default slack is 50 us).
  prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
  PoissonArrivals arrivals(options_.rate_per_s / static_cast<double>(stubs_.size()), seed);
  double offset_s = 0;
  for (;;) {
    offset_s += arrivals.NextGapS();
    const Clock::time_point due = start_ + std::chrono::duration_cast<Clock::duration>(
                                               std::chrono::duration<double>(offset_s));
    if (due >= window_end_) break;
    std::this_thread::sleep_until(due);
    if (outstanding_.load(std::memory_order_relaxed) >= options_.max_outstanding) {
      if (due >= window_start_) {
        ++due_;
        ++skipped_;
      }
      continue;
    }
    ++outstanding_;
    Launch(NewCall(channel, due));
  }
  absl::MutexLock lock(&mu_);
  --active_sources_;
}

bool LoadGenerator::WaitUntilDone(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  return mu_.AwaitWithTimeout(absl::Condition(this, &LoadGenerator::Done), timeout);
}

LoadProgress LoadGenerator::Snapshot() const {
  const Clock::time_point now = Clock::now();
  LoadProgress progress;
  progress.elapsed = absl::FromChrono(now - start_);
  progress.warming_up = now < window_start_;
  progress.outstanding = outstanding_.load(std::memory_order_relaxed);
  absl::MutexLock lock(&mu_);
  progress.answered_all = answered_all_;
  progress.answered = result_.answered;
  progress.errors = result_.answered - result_.ok;
  progress.ok_p99_ns = result_.ok_latency.ValueAtQuantile(0.99);
  return progress;
}

LoadResult LoadGenerator::Result() const {
  absl::MutexLock lock(&mu_);
  LoadResult result = result_;
  result.due = due_.load();
  result.skipped = skipped_.load();
  result.counted_for =
      std::max(options_.duration, absl::FromChrono(last_counted_answer_ - window_start_));
  return result;
}

}  // namespace routeserve::bench
