// The unary handler, the registry of open streams and the refusing phase.
#include "server/route_service.h"

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "grpc/support/time.h"
#include "api/response.h"
#include "server/grpc_status.h"
#include "base/log.h"
#include "server/suggest_stream.h"
#include "server/wire.h"

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

// One Suggest call until it is answered. Whoever claims it first answers it: the planner's
// callback, a refusal in the handler, or AbortInFlight() at the end of the grace period; the
// others leave it alone. Shared by the reactor, the planner's callback and the service's registry
// of calls in flight: each may outlive the others.
struct RouteServiceImpl::UnaryCall {
  bool Claim() { return !claimed.exchange(true, std::memory_order_acq_rel); }

  grpc::ServerUnaryReactor* reactor = nullptr;  // alive until it is finished, by the claimant
  absl::Time arrival;                           // the service's clock
  std::atomic<bool> claimed{false};
  std::atomic<bool> cancelled{false};  // gRPC cancelled the call (deadline, client gone)
  const std::shared_ptr<planning::CallCancellation> cancellation =
      std::make_shared<planning::CallCancellation>();
};

namespace {

// Suggest's reactor: the default one's behaviour, plus OnCancel, which tells the planner that the
// caller has gone (cancelled, disconnected) so that its queued work is dropped and its slot
// freed at once. Deletes itself when the call is done.
class SuggestReactor final : public grpc::ServerUnaryReactor {
 public:
  SuggestReactor(absl::Time deadline, std::shared_ptr<RouteServiceImpl::UnaryCall> call)
      : deadline_(deadline), call_(std::move(call)) {}
  // gRPC cancels a call whose deadline passes too: that work is the planner's to drop at its
  // deadline, as DEADLINE_EXCEEDED.
  void OnCancel() override {
    call_->cancelled.store(true, std::memory_order_release);
    if (absl::Now() < deadline_) call_->cancellation->Cancel();
  }
  void OnDone() override { delete this; }

 private:
  const absl::Time deadline_;  // real time
  const std::shared_ptr<RouteServiceImpl::UnaryCall> call_;
};

}  // namespace

absl::Time CallDeadline(const grpc::CallbackServerContext& context) {
  const gpr_timespec raw = context.raw_deadline();
  if (gpr_time_cmp(raw, gpr_inf_future(raw.clock_type)) == 0) return absl::InfiniteFuture();
  const std::chrono::system_clock::time_point deadline = context.deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) return absl::InfiniteFuture();
  return absl::FromChrono(deadline);
}

RouteServiceImpl::RouteServiceImpl(planning::RoutePlanner* planner, RouteServiceOptions options)
    : planner_(planner), options_(std::move(options)) {}

RouteServiceImpl::~RouteServiceImpl() = default;

grpc::ServerUnaryReactor* RouteServiceImpl::Suggest(grpc::CallbackServerContext* context,
                                                    const grpc::ByteBuffer* request_bytes,
                                                    grpc::ByteBuffer* response_bytes) {
  auto call = std::make_shared<UnaryCall>();
  auto* const reactor = new SuggestReactor(CallDeadline(*context), call);
  call->reactor = reactor;
  call->arrival = options_.clock->Now();
  if (options_.observer != nullptr) options_.observer->OnArrived(RouteMethod::kSuggest);
  {
    absl::MutexLock lock(&mu_);
    unary_.emplace(call.get(), call);
    last_activity_ = absl::Now();
  }

  if (refusing()) {
    Answer(*call, absl::UnavailableError("server is shutting down"));
    return reactor;
  }
  // The parsed request lives in `arena` until this handler returns; the plan keeps what it needs.
  google::protobuf::Arena arena;
  absl::StatusOr<v1::SuggestRequest*> request =
      DecodeRequest(*request_bytes, options_.limits, &arena, "request");
  if (!request.ok()) {
    Answer(*call, request.status());
    return reactor;
  }
  absl::StatusOr<routing::RouteProblem> problem =
      api::ToRouteProblem(**request, options_.limits);
  if (!problem.ok()) {
    Answer(*call, problem.status());
    return reactor;
  }

  capture::Ticket ticket =
      options_.capture != nullptr ? options_.capture->Draw(**request) : capture::Ticket{};
  planning::PlanRequest plan;
  plan.problem = std::move(problem).value();
  plan.num_alternatives = (*request)->options().num_alternatives();
  plan.deadline = CallDeadline(*context);
  // Not the context: a call answered by AbortInFlight() is finished, and its context gone,
  // while the planner may still probe.
  plan.is_cancelled = [call] {
    return call->cancelled.load(std::memory_order_acquire) ||
           call->claimed.load(std::memory_order_acquire);
  };
  plan.cancellation = call->cancellation;
  absl::Status submitted = planner_->Submit(
      std::move(plan), [this, call, response_bytes, id = (*request)->request_id(),
                        ticket = std::move(ticket)](
                           absl::StatusOr<planning::PlanResult> result) mutable {
        if (!call->Claim()) return;  // answered at the end of the grace period
        if (result.ok()) {
          v1::SuggestResponse response = api::ToSuggestResponse(*result);
          response.set_request_id(id);
          *response_bytes = EncodeResponse(response);
          if (options_.capture != nullptr) options_.capture->Record(std::move(ticket), *result);
        }
        Finished(*call, result.status());
      });
  if (!submitted.ok()) Answer(*call, submitted);
  return reactor;
}

void RouteServiceImpl::Answer(UnaryCall& call, const absl::Status& status) {
  if (call.Claim()) Finished(call, status);
}

void RouteServiceImpl::Finished(UnaryCall& call, const absl::Status& status) {
  if (IsServerFault(status.code())) {
    // Callers see only "internal error"; the operator gets the original, once.
    base::Log("Suggest: internal error: %s", status.ToString());
  }
  const grpc::Status mapped = ToGrpcStatus(status);
  if (options_.observer != nullptr) {
    options_.observer->OnAnswered(RouteMethod::kSuggest, mapped.error_code(),
                                  options_.clock->Now() - call.arrival);
  }
  std::shared_ptr<UnaryCall> keep;  // the registry's reference goes after Finish
  {
    absl::MutexLock lock(&mu_);
    if (auto node = unary_.extract(&call)) keep = std::move(node.mapped());
    last_activity_ = absl::Now();
  }
  call.reactor->Finish(mapped);
}

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* RouteServiceImpl::SuggestStream(
    grpc::CallbackServerContext* context) {
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

bool RouteServiceImpl::IdleLocked() const { return unary_.empty() && streams_.empty(); }

RouteServiceImpl::Aborted RouteServiceImpl::AbortInFlight() {
  std::vector<std::shared_ptr<UnaryCall>> calls;
  std::vector<std::shared_ptr<SuggestStreamReactor>> open;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [raw, call] : unary_) calls.push_back(call);
    for (const auto& [raw, weak] : streams_) {
      if (std::shared_ptr<SuggestStreamReactor> stream = weak.lock()) open.push_back(stream);
    }
  }
  Aborted aborted;
  const absl::Status gone = absl::UnavailableError("server shut down before the call was answered");
  for (const std::shared_ptr<UnaryCall>& call : calls) {
    if (call->Claim()) {
      Finished(*call, gone);
      ++aborted.calls;
    }
  }
  for (const std::shared_ptr<SuggestStreamReactor>& stream : open) {
    aborted.stream_messages += stream->Abort();
  }
  return aborted;
}

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
