// StreamClient: a SuggestStream call with a write queue and answers matched by request_id.
#include "tools/bench/stream_client.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace routeserve::bench {

StreamClient::StreamClient(v1::RouteService::Stub* stub, absl::Time deadline) {
  context_.set_deadline(absl::ToChronoTime(deadline));
  stub->async()->SuggestStream(&context_, this);
  StartRead(&incoming_);
  StartCall();
}

StreamClient::~StreamClient() { Close(); }

void StreamClient::Send(const v1::SuggestRequest& request, double timeout_s,
                        AnswerCallback on_answer) {
  grpc::Status refused;
  {
    absl::MutexLock lock(&mu_);
    if (!Ended() && !write_failed_) {
      v1::SuggestRequest& message = to_write_.emplace_back(request);
      message.set_request_id(absl::StrCat(request.request_id(), "/", next_id_++));
      message.set_timeout_s(timeout_s);
      unanswered_.emplace(message.request_id(),
                          Unanswered{request.request_id(), std::move(on_answer)});
      if (!writing_) StartNextWriteLocked();
      return;
    }
    refused = UnansweredStatusLocked();
  }
  on_answer(refused, v1::SuggestResponse());
}

void StreamClient::StartNextWriteLocked() {
  writing_ = !to_write_.empty();
  if (writing_) StartWrite(&to_write_.front());
}

bool StreamClient::NothingOutstandingOrEnded() const {
  return (unanswered_.empty() && !writing_) || Ended();
}

void StreamClient::OnWriteDone(bool ok) {
  absl::MutexLock lock(&mu_);
  to_write_.pop_front();
  if (!ok) {
    // The call is over (OnDone follows): whatever is queued is never written.
    write_failed_ = true;
    writing_ = false;
    to_write_.clear();
    return;
  }
  StartNextWriteLocked();
}

void StreamClient::OnReadDone(bool ok) {
  if (!ok) return;  // the server finished the call; OnDone answers what is left
  std::optional<Unanswered> request;
  v1::SuggestResponse response = std::move(incoming_);
  incoming_.Clear();
  {
    absl::MutexLock lock(&mu_);
    if (auto it = unanswered_.find(response.request_id()); it != unanswered_.end()) {
      request = std::move(it->second);
      unanswered_.erase(it);
    }
    StartRead(&incoming_);
  }
  // A response to no request of ours would be the server's bug; the request it should have
  // answered is then answered when the call ends.
  if (!request.has_value()) return;
  response.set_request_id(request->caller_id);
  grpc::Status status;
  if (response.has_error()) {
    status = grpc::Status(static_cast<grpc::StatusCode>(response.error().code()),
                          response.error().message());
  }
  request->on_answer(status, std::move(response));
}

void StreamClient::OnDone(const grpc::Status& status) {
  absl::flat_hash_map<std::string, Unanswered> unanswered;
  grpc::Status unanswered_status;
  {
    absl::MutexLock lock(&mu_);
    end_status_ = status;
    unanswered.swap(unanswered_);
    unanswered_status = UnansweredStatusLocked();
  }
  for (auto& [id, request] : unanswered) {
    request.on_answer(unanswered_status, v1::SuggestResponse());
  }
}

grpc::Status StreamClient::UnansweredStatusLocked() const {
  if (end_status_.has_value() && !end_status_->ok()) return *end_status_;
  return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                      "the stream ended before the server answered this request");
}

grpc::Status StreamClient::Close() {
  absl::MutexLock lock(&mu_);
  if (!writes_done_) {
    mu_.Await(absl::Condition(this, &StreamClient::NothingOutstandingOrEnded));
    writes_done_ = true;
    if (!Ended()) StartWritesDone();
  }
  mu_.Await(absl::Condition(this, &StreamClient::Ended));
  return *end_status_;
}

}  // namespace routeserve::bench
