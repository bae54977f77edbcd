// The unary handler, the registry of open streams and the refusing phase.
#include "server/route_service.h"

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "grpc/support/time.h"
#include "server/grpc_status.h"
#include "server/log.h"
#include "server/suggest_stream.h"

namespace routeserve::server {

absl::string_view RouteMethodName(RouteMethod method) {
  switch (method) {
    case RouteMethod::kSuggest:
      return "Suggest";
    case RouteMethod::kSuggestStream:
      return "SuggestStream";
  }
  return "unknown";
}

namespace {

// Suggest's reactor: the default one's behaviour, plus OnCancel, which tells the planner that the
// caller has gone (cancelled, disconnected) so that its queued work is dropped and its slot
// freed at once. Deletes itself when the call is done.
class SuggestReactor final : public grpc::ServerUnaryReactor {
 public:
  explicit SuggestReactor(absl::Time deadline) : deadline_(deadline) {}
  const std::shared_ptr<CallCancellation>& cancellation() const { return cancellation_; }
  // gRPC cancels a call whose deadline passes too: that work is the planner's to drop at its
  // deadline, as DEADLINE_EXCEEDED.
  void OnCancel() override {
    if (absl::Now() < deadline_) cancellation_->Cancel();
  }
  void OnDone() override { delete this; }

 private:
  const absl::Time deadline_;  // real time
  const std::shared_ptr<CallCancellation> cancellation_ = std::make_shared<CallCancellation>();
};

}  // namespace

absl::Time CallDeadline(const grpc::CallbackServerContext& context) {
  const gpr_timespec raw = context.raw_deadline();
  if (gpr_time_cmp(raw, gpr_inf_future(raw.clock_type)) == 0) return absl::InfiniteFuture();
  const std::chrono::system_clock::time_point deadline = context.deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) return absl::InfiniteFuture();
  return absl::FromChrono(deadline);
}

RouteServiceImpl::RouteServiceImpl(RoutePlanner* planner, RouteServiceOptions options)
    : planner_(planner), options_(std::move(options)) {}

RouteServiceImpl::~RouteServiceImpl() = default;

grpc::ServerUnaryReactor* RouteServiceImpl::Suggest(grpc::CallbackServerContext* context,
                                                    const v1::SuggestRequest* request,
                                                    v1::SuggestResponse* response) {
  auto* const reactor = new SuggestReactor(CallDeadline(*context));
  const absl::Time arrival = options_.clock->Now();
  if (options_.observer != nullptr) options_.observer->OnArrived(RouteMethod::kSuggest);
  {
    absl::MutexLock lock(&mu_);
    ++unary_in_flight_;
    last_activity_ = absl::Now();
  }
  // Every path ends here, exactly once: the call is finished and nothing touches it after.
  auto answer = [this, reactor, arrival](const absl::Status& status) {
    if (IsServerFault(status.code())) {
      // Callers see only "internal error"; the operator gets the original, once.
      Log("Suggest: internal error: %s", status.ToString());
    }
    const grpc::Status mapped = ToGrpcStatus(status);
    if (options_.observer != nullptr) {
      options_.observer->OnAnswered(RouteMethod::kSuggest, mapped.error_code(),
                                    options_.clock->Now() - arrival);
    }
    reactor->Finish(mapped);
    absl::MutexLock lock(&mu_);
    --unary_in_flight_;
    last_activity_ = absl::Now();
  };

  if (refusing()) {
    answer(absl::UnavailableError("server is shutting down"));
    return reactor;
  }
  absl::StatusOr<routing::RouteProblem> problem =
      api::ToRouteProblem(*request, options_.limits);
  if (!problem.ok()) {
    answer(problem.status());
    return reactor;
  }

  PlanRequest plan;
  plan.problem = std::move(problem).value();
  plan.num_alternatives = request->options().num_alternatives();
  plan.deadline = CallDeadline(*context);
  // The context lives until Finish, and Finish comes only after the probe's last use.
  plan.is_cancelled = [context] { return context->IsCancelled(); };
  plan.cancellation = reactor->cancellation();
  absl::Status submitted = planner_->Submit(
      std::move(plan), [answer, response, id = request->request_id()](
                           absl::StatusOr<v1::SuggestResponse> result) {
        if (result.ok()) {
          *response = std::move(result).value();
          response->set_request_id(id);
        }
        answer(result.status());
      });
  if (!submitted.ok()) answer(submitted);
  return reactor;
}

grpc::ServerBidiReactor<v1::SuggestRequest, v1::SuggestResponse>*
RouteServiceImpl::SuggestStream(grpc::CallbackServerContext* context) {
  if (options_.observer != nullptr) options_.observer->OnStreamOpened();
  auto stream = std::make_shared<SuggestStreamReactor>(
      context, planner_, &options_,
      [this](SuggestStreamReactor* done, grpc::StatusCode code) { StreamDone(done, code); });
  bool refusing = false;
  {
    // Registration and StartRefusing() are ordered by mu_: a stream is either told to refuse
    // or sees the flag here.
    absl::MutexLock lock(&mu_);
    last_activity_ = absl::Now();
    refusing = refusing_.load(std::memory_order_relaxed);
    if (!refusing) streams_.emplace(stream.get(), stream);
  }
  stream->Start(refusing ? SuggestStreamReactor::Admission::kRefuse
                        : SuggestStreamReactor::Admission::kServe);
  return stream.get();  // owns itself from Start() until OnDone
}

void RouteServiceImpl::StartRefusing() {
  std::vector<std::shared_ptr<SuggestStreamReactor>> open;
  {
    absl::MutexLock lock(&mu_);
    refusing_.store(true, std::memory_order_release);
    open.reserve(streams_.size());
    for (const auto& [raw, weak] : streams_) {
      if (std::shared_ptr<SuggestStreamReactor> stream = weak.lock()) open.push_back(stream);
    }
  }
  // Outside mu_: a stream that ends now calls StreamDone(), which takes mu_.
  for (const std::shared_ptr<SuggestStreamReactor>& stream : open) stream->Refuse();
}

bool RouteServiceImpl::AwaitQuiet(absl::Duration quiet, absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  const RouteServiceImpl* self = this;
  for (;;) {
    if (!mu_.AwaitWithDeadline(absl::Condition(self, &RouteServiceImpl::IdleLocked), deadline)) {
      return false;
    }
    const absl::Time quiet_at = last_activity_ + quiet;
    if (absl::Now() >= quiet_at) return true;
    if (quiet_at >= deadline) {
      mu_.AwaitWithDeadline(absl::Condition(self, &RouteServiceImpl::BusyLocked), deadline);
      return false;
    }
    // A call that comes meanwhile moves last_activity_: the loop looks again.
    mu_.AwaitWithDeadline(absl::Condition(self, &RouteServiceImpl::BusyLocked), quiet_at);
  }
}

bool RouteServiceImpl::IdleLocked() const { return unary_in_flight_ == 0 && streams_.empty(); }

int RouteServiceImpl::open_streams() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(streams_.size());
}

void RouteServiceImpl::StreamDone(SuggestStreamReactor* stream, grpc::StatusCode code) {
  {
    absl::MutexLock lock(&mu_);
    streams_.erase(stream);
    last_activity_ = absl::Now();
  }
  if (options_.observer != nullptr) options_.observer->OnStreamClosed(code);
}

}  // namespace routeserve::server
