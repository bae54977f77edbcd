// StreamClient: one RouteService.SuggestStream call that carries many requests, for the load
// generator's streaming mode (SuggestStream: docs/ARCHITECTURE.md, The API).
//
// SENDING: Send() gives each request a `request_id` unique on this stream (the caller's id, a
//   slash and a counter) and its own `timeout_s`, and queues it; one write is outstanding at a time, the rest wait in a FIFO.
//   When the server holds as many messages as it reads ahead, it stops reading and HTTP/2 flow
//   control holds the writes back: the wait shows as the requests' latency, never as an error.
// ANSWERS: responses come in any order and are matched by `request_id`. A response carrying an
//   `error` answers its request with that status; a route answers it OK. The response handed
//   to the caller carries the caller's own `request_id` back.
// ENDING: if the call ends before a request is answered (the server refused the stream, shut
//   down, or the call's deadline passed), the request is answered with the call's status, or
//   UNAVAILABLE if that was OK; a Send() after the end is answered at once, on the calling
//   thread, the same way. Close() half-closes once nothing is outstanding and waits for the end.
// THREADING: Send() from any thread. Answers run on gRPC's callback threads (or the sender's,
//   see ENDING) with no lock of this class held, so an answer may Send() the next request.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "routeserve/v1/route_service.grpc.pb.h"

namespace routeserve::bench {

class StreamClient final
    : public grpc::ClientBidiReactor<v1::SuggestRequest, v1::SuggestResponse> {
 public:
  using AnswerCallback = absl::AnyInvocable<void(const grpc::Status&, v1::SuggestResponse)>;

  // Starts the call on `stub`, which outlives this object; the call ends by `deadline` at the
  // latest.
  StreamClient(v1::RouteService::Stub* stub, absl::Time deadline);
  // Waits for the call's end (see Close()).
  ~StreamClient() override;
  StreamClient(const StreamClient&) = delete;
  StreamClient& operator=(const StreamClient&) = delete;

  // Sends a copy of `request` with this stream's next `request_id` and `timeout_s` (the
  // request's own deadline); `on_answer` runs exactly once.
  void Send(const v1::SuggestRequest& request, double timeout_s, AnswerCallback on_answer);

  // Once every request sent is answered, half-closes the stream, then waits for the call to
  // end; returns its status. Call it once no more Send() can come. Idempotent.
  grpc::Status Close();

  void OnWriteDone(bool ok) override;
  void OnReadDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

  // Implementation details follow.
 private:
  void StartNextWriteLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool NothingOutstandingOrEnded() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool Ended() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return end_status_.has_value(); }
  // What a request left unanswered by the call's end is answered with.
  grpc::Status UnansweredStatusLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  grpc::ClientContext context_;
  v1::SuggestResponse incoming_;  // the buffer of the one read outstanding

  mutable absl::Mutex mu_;
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 0;
  struct Unanswered {
    std::string caller_id;  // the request's own request_id, restored in its response
    AnswerCallback on_answer;
  };

  // Requests to write; the front one is being written while writing_.
  std::deque<v1::SuggestRequest> to_write_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool write_failed_ ABSL_GUARDED_BY(mu_) = false;
  bool writes_done_ ABSL_GUARDED_BY(mu_) = false;  // Close() has half-closed (or found the end)
  absl::flat_hash_map<std::string, Unanswered> unanswered_ ABSL_GUARDED_BY(mu_);  // by stream id
  std::optional<grpc::Status> end_status_ ABSL_GUARDED_BY(mu_);  // set by OnDone
};

}  // namespace routeserve::bench
