// The SuggestStream reactor.
#include "server/suggest_stream.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "api/request.h"
#include "api/response.h"
#include "server/grpc_status.h"
#include "base/log.h"
#include "server/wire.h"

namespace routeserve::server {

SuggestStreamReactor::SuggestStreamReactor(grpc::CallbackServerContext* context,
                                           planning::RoutePlanner* planner,
                                           const RouteServiceOptions* options,
                                           DoneCallback on_done)
    : planner_(planner), options_(options), on_done_(std::move(on_done)),
      stream_deadline_(CallDeadline(*context)) {}

void SuggestStreamReactor::Start(Admission admission) {
  absl::MutexLock lock(&mu_);
  self_ = shared_from_this();
  if (admission == Admission::kRefuse) refusing_ = true;
  AdvanceLocked();
}

void SuggestStreamReactor::Refuse() {
  absl::MutexLock lock(&mu_);
  refusing_ = true;
  AdvanceLocked();
}

void SuggestStreamReactor::AdvanceLocked() {
  if (finished_) return;
  if (broken_) {
    // The call is gone: no more writes; finish once the outstanding one has come back.
    if (!writing_) FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "stream cancelled"));
    return;
  }
  const size_t outstanding = in_flight_.size() + to_write_.size() + (writing_ ? 1 : 0);
  if (!reading_ && !half_closed_ && !refusing_ && !exhausted_ &&
      outstanding < static_cast<size_t>(options_->max_stream_outstanding)) {
    reading_ = true;
    incoming_.Clear();
    StartRead(&incoming_);
  }
  if (!writing_ && !to_write_.empty()) {
    written_ = std::move(to_write_.front());
    to_write_.pop_front();
    writing_ = true;
    StartWrite(&written_);
  }
  if (!writing_ && to_write_.empty() && in_flight_.empty() &&
      (half_closed_ || refusing_ || exhausted_)) {
    // When refusing, a read may still be outstanding: finishing ends it (OnReadDone(false)).
    if (half_closed_) {
      FinishLocked(grpc::Status::OK);
    } else if (exhausted_) {
      FinishLocked(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, StreamLimitMessage()));
    } else {
      FinishLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE, "server is shutting down"));
    }
  }
}

void SuggestStreamReactor::FinishLocked(grpc::Status status) {
  finished_ = true;
  finish_code_ = status.error_code();
  Finish(std::move(status));
}

void SuggestStreamReactor::OnReadDone(bool ok) {
  std::vector<Unreported> answered;
  {
    absl::MutexLock lock(&mu_);
    reading_ = false;
    if (!ok) {
      // The client finished sending, or the call is gone (OnCancel says which).
      half_closed_ = true;
    } else if (!finished_ && !broken_) {
      HandleRequestLocked(incoming_);
    }
    AdvanceLocked();
    answered.swap(unreported_);
  }
  for (const Unreported& answer : answered) Answered(answer.status, answer.arrival);
}

void SuggestStreamReactor::HandleRequestLocked(const grpc::ByteBuffer& bytes) {
  const absl::Time arrival = options_->clock->Now();
  if (options_->observer != nullptr) options_->observer->OnArrived(RouteMethod::kSuggestStream);
  // The parsed message lives in `arena` until this returns; the plan keeps what it needs.
  google::protobuf::Arena arena;
  std::string id;
  absl::StatusOr<v1::SuggestRequest*> decoded = DecodeRequest(
      bytes, options_->limits, &arena, absl::StrCat("message ", received_ + 1), &id);
  if (refusing_) {
    QueueErrorLocked(id, absl::UnavailableError("server is shutting down"), arrival);
    return;
  }
  ++received_;
  if (options_->max_stream_messages > 0 && received_ > options_->max_stream_messages) {
    exhausted_ = true;
    QueueErrorLocked(id, absl::ResourceExhaustedError(StreamLimitMessage()), arrival);
    return;
  }
  if (!decoded.ok()) {
    QueueErrorLocked(id, decoded.status(), arrival);
    return;
  }
  const v1::SuggestRequest& request = **decoded;
  if (id.empty()) {
    QueueErrorLocked(id, absl::InvalidArgumentError("request_id: required on SuggestStream"),
                     arrival);
    return;
  }
  if (in_flight_.contains(id)) {
    QueueErrorLocked(
        id,
        absl::InvalidArgumentError(
            absl::StrCat("request_id: \"", id, "\" is already in flight on this stream")),
        arrival);
    return;
  }
  // ToRouteProblem also checks timeout_s (finite, >= 0).
  absl::StatusOr<routing::RouteProblem> problem =
      api::ToRouteProblem(request, options_->limits);
  if (!problem.ok()) {
    QueueErrorLocked(id, problem.status(), arrival);
    return;
  }
  absl::Time deadline = stream_deadline_;
  if (request.has_timeout_s() && request.timeout_s() > 0) {
    deadline = std::min(deadline, arrival + absl::Seconds(request.timeout_s()));
  }

  capture::Ticket ticket =
      options_->capture != nullptr ? options_->capture->Draw(request) : capture::Ticket{};
  planning::PlanRequest plan;
  plan.problem = std::move(problem).value();
  plan.num_alternatives = request.options().num_alternatives();
  plan.deadline = deadline;
  // Not the context: it dies with the call, while the probe may run after OnDone.
  plan.is_cancelled = [self = shared_from_this()] { return self->Broken(); };
  auto cancellation = std::make_shared<planning::CallCancellation>();
  plan.cancellation = cancellation;
  // Submit() never calls back from within and the probe takes no lock, so holding mu_ here
  // cannot deadlock.
  absl::Status submitted = planner_->Submit(
      std::move(plan),
      [self = shared_from_this(), id, arrival, ticket = std::move(ticket)](
          absl::StatusOr<planning::PlanResult> result) mutable {
        self->OnPlanned(id, arrival, std::move(result), std::move(ticket));
      });
  if (!submitted.ok()) {
    QueueErrorLocked(id, submitted, arrival);
    return;
  }
  in_flight_.emplace(std::move(id), InFlight{std::move(cancellation), arrival});
}

std::string SuggestStreamReactor::StreamLimitMessage() const {
  return absl::StrCat("stream message limit reached: at most ", options_->max_stream_messages,
                      " messages per SuggestStream call; open a new stream for more");
}

void SuggestStreamReactor::QueueErrorLocked(const std::string& request_id,
                                            const absl::Status& error, absl::Time arrival) {
  v1::SuggestResponse response;
  response.set_request_id(request_id);
  *response.mutable_error() = ToRpcStatus(error);
  to_write_.push_back(EncodeResponse(response));
  unreported_.push_back({error, arrival});  // reported by OnReadDone, without mu_
}

void SuggestStreamReactor::OnPlanned(const std::string& request_id, absl::Time arrival,
                                     absl::StatusOr<planning::PlanResult> result,
                                     capture::Ticket ticket) {
  absl::Status answered = result.status();
  // The response is built before taking the lock: the stream's other messages need not wait.
  v1::SuggestResponse response;
  if (result.ok()) {
    response = api::ToSuggestResponse(*result);
  } else {
    *response.mutable_error() = ToRpcStatus(result.status());
  }
  response.set_request_id(request_id);
  {
    absl::MutexLock lock(&mu_);
    if (in_flight_.erase(request_id) == 0) return;  // answered by Abort() already
    if (finished_ || broken_) {
      answered = absl::CancelledError("stream cancelled");  // nobody to write to
    } else {
      to_write_.push_back(EncodeResponse(response));
    }
    AdvanceLocked();
  }
  if (answered.ok() && options_->capture != nullptr) {
    options_->capture->Record(std::move(ticket), *result);
  }
  Answered(answered, arrival);
}

void SuggestStreamReactor::Answered(const absl::Status& status, absl::Time arrival) {
  if (IsServerFault(status.code())) {
    // Callers see only "internal error"; the operator gets the original, once.
    base::Log("SuggestStream: internal error: %s", status.ToString());
  }
  if (options_->observer != nullptr) {
    options_->observer->OnAnswered(RouteMethod::kSuggestStream,
                                   ToGrpcStatus(status).error_code(),
                                   options_->clock->Now() - arrival);
  }
}

int SuggestStreamReactor::Abort() {
  std::vector<Unreported> answered;
  int aborted = 0;
  {
    absl::MutexLock lock(&mu_);
    refusing_ = true;
    if (!finished_ && !broken_) {
      aborted = static_cast<int>(in_flight_.size());
      for (const auto& [id, message] : in_flight_) {
        QueueErrorLocked(id, absl::UnavailableError("server shut down before it was answered"),
                         message.arrival);
      }
      in_flight_.clear();
    }
    AdvanceLocked();
    answered.swap(unreported_);
  }
  for (const Unreported& answer : answered) Answered(answer.status, answer.arrival);
  return aborted;
}

void SuggestStreamReactor::OnWriteDone(bool ok) {
  absl::MutexLock lock(&mu_);
  writing_ = false;
  written_.Clear();
  if (!ok) broken_ = true;  // writes fail only when the call is gone
  AdvanceLocked();
}

void SuggestStreamReactor::OnCancel() {
  std::vector<std::shared_ptr<planning::CallCancellation>> queued;
  {
    absl::MutexLock lock(&mu_);
    broken_ = true;
    to_write_.clear();
    for (const auto& [id, message] : in_flight_) queued.push_back(message.cancellation);
    AdvanceLocked();
  }
  // Outside mu_: the planner drops what still waits in its queues, answering it later.
  for (const std::shared_ptr<planning::CallCancellation>& cancellation : queued)
    cancellation->Cancel();
}

void SuggestStreamReactor::OnDone() {
  std::shared_ptr<SuggestStreamReactor> keep;
  grpc::StatusCode code;
  {
    absl::MutexLock lock(&mu_);
    keep = std::move(self_);
    code = finish_code_;
  }
  on_done_(this, code);
  // `keep` goes last: when no planner callback holds the reactor, this destroys it.
}

}  // namespace routeserve::server
