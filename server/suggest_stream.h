// SuggestStreamReactor: one SuggestStream call. It reads requests one after another, answers a
// bad one at once with a response carrying its own `error`, hands the good ones to the
// planning::RoutePlanner and writes their responses in the order they complete.
//
// PER MESSAGE: the message's bytes must decode (server/wire.h): one that does not gets the
//   error "message N is not a valid SuggestRequest: ..." (N counting the stream's messages
//   from 1; the response carries the request_id when it could be read) and the stream goes on.
//   Then `request_id` is required, and must not be that of a request of this stream still
//   in flight (INVALID_ARGUMENT naming `request_id`); then api::ToRouteProblem's checks (which
//   include `timeout_s`). The work's deadline is the earlier of the stream's deadline and the
//   message's arrival + timeout_s (0 or absent: no limit of its own).
// BACKPRESSURE: at most `max_stream_outstanding` messages are in flight or waiting to be
//   written; at that number the reactor stops reading and resumes when one is written. The
//   client then sees HTTP/2 flow control, never an error.
// LENGTH: with `max_stream_messages` > 0, the message past that many gets its own
//   RESOURCE_EXHAUSTED error (so that the client knows which request_id was not served); the
//   reactor reads no further, answers the messages in flight and finishes with
//   RESOURCE_EXHAUSTED. Messages the client sent after it are never read nor answered.
// WRITES: one StartWrite outstanding at a time; completed responses wait in a FIFO.
// ENDING: when the client has finished sending and every response is written: Finish(OK).
//   Abort() (the end of the grace period): as Refuse(), and the messages in flight are answered
//   UNAVAILABLE without waiting for the planner.
//   Refuse() (shutdown): no more reads; a message already read gets a per-message UNAVAILABLE;
//   once the in-flight ones are answered: Finish(UNAVAILABLE). Cancellation (or a failed write):
//   pending responses are dropped and the call is finished (CANCELLED) as soon as no write is
//   outstanding. A cancelled call also tells the planner at once (a planning::CallCancellation per
//   message in flight), so that its messages still queued are dropped and their slots freed
//   then, not when their batch would form; a failed write leaves that to the planner's probe.
// LIFETIME: the reactor owns itself (a shared_ptr) until OnDone; the planner's callbacks hold a
//   shared_ptr too, so a completion arriving after OnDone finds a live object that ignores it.
// THREADING: gRPC reactions and planner callbacks come on any thread; all state is under mu_,
//   which is also held while issuing StartRead/StartWrite/Finish so that their order is the
//   order of the decisions (gRPC never runs these reactions inline), and around Submit(). The
//   cancellation probe handed to the planner takes no lock (the planner may hold its own).
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "routeserve/v1/route_service.grpc.pb.h"
#include "planning/route_planner.h"
#include "server/route_service.h"

namespace routeserve::server {

class SuggestStreamReactor final
    : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>,
      public std::enable_shared_from_this<SuggestStreamReactor> {
 public:
  // `planner` and `options` outlive the reactor and every planner callback for it (RouteServer
  // shuts the planner down before the service goes). `on_done` runs in OnDone, with the
  // code the call was finished with.
  using DoneCallback = absl::AnyInvocable<void(SuggestStreamReactor*, grpc::StatusCode)>;
  SuggestStreamReactor(grpc::CallbackServerContext* context, planning::RoutePlanner* planner,
                       const RouteServiceOptions* options, DoneCallback on_done);
  ~SuggestStreamReactor() override = default;

  enum class Admission { kServe, kRefuse };
  // Called once, right after construction (from the handler): starts reading, or, for kRefuse
  // (the server is refusing), finishes at once with UNAVAILABLE.
  void Start(Admission admission);
  // Shutdown's refusing phase (see ENDING). Thread-safe; idempotent.
  void Refuse();
  // The end of the grace period: every message in flight is answered UNAVAILABLE at once (the
  // planner's answer, should it come, is dropped) and the stream ends with UNAVAILABLE once
  // those are written. Returns the messages so answered. Thread-safe.
  int Abort();

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

  // Implementation details follow.
 private:
  void HandleRequestLocked(const grpc::ByteBuffer& bytes) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void QueueErrorLocked(const std::string& request_id, const absl::Status& error,
                        absl::Time arrival) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // `ticket`: the request's capture (capture/request_capture.h), recorded when answered.
  void OnPlanned(const std::string& request_id, absl::Time arrival,
                 absl::StatusOr<planning::PlanResult> result, capture::Ticket ticket);
  // Issues whatever read, write or finish the state now calls for.
  void AdvanceLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The error of the message past max_stream_messages, and the stream's final status.
  std::string StreamLimitMessage() const;
  void FinishLocked(grpc::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Answered(const absl::Status& status, absl::Time arrival);
  // The planner's cancellation probe. Lock-free: the planner calls it with its own lock held,
  // while HandleRequestLocked() holds mu_ around Submit(), which takes that lock.
  bool Broken() const { return broken_.load(std::memory_order_acquire); }

  planning::RoutePlanner* const planner_;
  const RouteServiceOptions* const options_;
  DoneCallback on_done_;
  const absl::Time stream_deadline_;

  absl::Mutex mu_;
  std::shared_ptr<SuggestStreamReactor> self_ ABSL_GUARDED_BY(mu_);  // until OnDone
  grpc::ByteBuffer incoming_ ABSL_GUARDED_BY(mu_);  // gRPC fills it while reading_
  bool reading_ ABSL_GUARDED_BY(mu_) = false;      // a StartRead is outstanding
  bool half_closed_ ABSL_GUARDED_BY(mu_) = false;  // the client sent its last message
  bool refusing_ ABSL_GUARDED_BY(mu_) = false;     // shutdown: read no more
  int64_t received_ ABSL_GUARDED_BY(mu_) = 0;      // messages read while serving
  bool exhausted_ ABSL_GUARDED_BY(mu_) = false;    // past max_stream_messages: read no more
  // Cancelled, or a write failed. Written under mu_; read without it by Broken().
  std::atomic<bool> broken_{false};
  bool finished_ ABSL_GUARDED_BY(mu_) = false;     // Finish() issued
  grpc::StatusCode finish_code_ ABSL_GUARDED_BY(mu_) = grpc::StatusCode::OK;
  // The request_ids planned and not yet answered, each with what tells the planner its caller
  // has gone.
  struct InFlight {
    std::shared_ptr<planning::CallCancellation> cancellation;
    absl::Time arrival;
  };
  absl::flat_hash_map<std::string, InFlight> in_flight_
      ABSL_GUARDED_BY(mu_);
  std::deque<grpc::ByteBuffer> to_write_ ABSL_GUARDED_BY(mu_);  // encoded responses
  struct Unreported {
    absl::Status status;
    absl::Time arrival;
  };
  std::vector<Unreported> unreported_ ABSL_GUARDED_BY(mu_);  // answers not yet observed
  bool writing_ ABSL_GUARDED_BY(mu_) = false;       // a StartWrite is outstanding
  grpc::ByteBuffer written_ ABSL_GUARDED_BY(mu_);  // the outstanding StartWrite's message
};

}  // namespace routeserve::server
