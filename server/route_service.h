// RouteServiceImpl: routeserve.v1.RouteService on gRPC's callback API. Suggest answers one
// courier; SuggestStream (server/suggest_stream.h) answers many over one stream. Both decode
// the request's bytes themselves (server/wire.h), validate with api::ToRouteProblem and hand the
// problem to a planning::RoutePlanner (planning/route_planner.h).
//
// BYTES: the methods are registered raw: gRPC hands over each message's bytes, unparsed. So a
//   message's cost in memory is bounded before it is parsed (api/request_decoder.h), and one
//   that does not parse is answered like any bad request: INVALID_ARGUMENT "request is not a
//   valid SuggestRequest: ..." on Suggest, and on a stream a response of its own carrying
//   "message N is not a valid SuggestRequest: ..." (N counts the stream's messages from 1,
//   with the request_id when it could be read), the stream going on. Both are counted as
//   answers like any other.
//
// LATENCY: handlers validate, hand on and return; they never block and never solve. A call's
//   answer comes from the planner's thread.
// OVERLOAD: a planner that refuses work (queue full) makes Suggest answer RESOURCE_EXHAUSTED
//   "queue full" at once; on a stream the message gets that error and the stream goes on.
// DEADLINES: Suggest's work has the call's deadline; a stream message's, the earlier of the
//   stream's deadline and its arrival + `timeout_s`. Work whose deadline passes before it starts
//   is never done: DEADLINE_EXCEEDED. Bad input: INVALID_ARGUMENT naming the field.
// CANCELLATION: a Suggest call cancelled by its client, or whose client disconnects, has its
//   queued work dropped at once (planning::PlanRequest::cancellation), its slot freed; a stream's
//   queued messages are dropped when their batch would form.
// SHUTDOWN: after StartRefusing(), new calls get UNAVAILABLE at once, and every open stream
//   stops reading, answers the messages it has in flight, and finishes with UNAVAILABLE (or OK
//   when its client had already finished sending). Calls already handed on still complete.
// THREADING: all methods are thread-safe. The service must outlive the grpc::Server that serves
//   it (streams call back into it when they end).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "api/request.h"
#include "batching/clock.h"
#include "capture/request_capture.h"
#include "grpcpp/grpcpp.h"
#include "routeserve/v1/route_service.grpc.pb.h"
#include "planning/route_planner.h"

namespace routeserve::server {

// The service's full name, as health checks and reflection know it.
inline constexpr char kRouteServiceName[] = "routeserve.v1.RouteService";

enum class RouteMethod { kSuggest, kSuggestStream };
absl::string_view RouteMethodName(RouteMethod method);  // "Suggest", "SuggestStream"

// Hooks for metrics; every method has an empty default. Called on gRPC or planner threads,
// without locks held; must be thread-safe and quick.
class RouteServiceObserver {
 public:
  virtual ~RouteServiceObserver() = default;
  // A Suggest call arrived, or a SuggestStream message was read; each gets one OnAnswered.
  // For a stream message, called with the stream's lock held: it must not call into the
  // service.
  virtual void OnArrived(RouteMethod /*method*/) {}
  // A Suggest call, or one SuggestStream message, got its answer with `code` (OK for a route),
  // `latency` after it arrived.
  virtual void OnAnswered(RouteMethod /*method*/, grpc::StatusCode /*code*/,
                          absl::Duration /*latency*/) {}
  // A SuggestStream call began; and one ended (OnDone) with the status it was finished with.
  virtual void OnStreamOpened() {}
  virtual void OnStreamClosed(grpc::StatusCode /*code*/) {}
};

struct RouteServiceOptions {
  api::RequestLimits limits;  // from `limits.*`
  // Most messages of one stream in flight or waiting to be written; beyond it the stream stops
  // reading until one completes (backpressure on the client through HTTP/2 flow control).
  // From `limits.max_stream_outstanding`.
  int max_stream_outstanding = 64;
  // Most messages one stream may send; the one past it is refused and the stream ends with
  // RESOURCE_EXHAUSTED (server/suggest_stream.h). 0: no limit. From `limits.max_stream_messages`.
  int64_t max_stream_messages = 0;

  const batching::Clock* clock = batching::Clock::Real();  // never null
  RouteServiceObserver* observer = nullptr;                // not owned; outlives the service
  // Answered requests, sampled (capture.*); null: none. Not owned; outlives the service and
  // the planner's callbacks.
  capture::RequestCapture* capture = nullptr;
};

// The deadline of a call's context; InfiniteFuture() for none.
absl::Time CallDeadline(const grpc::CallbackServerContext& context);

class SuggestStreamReactor;

// RouteService with both methods taking and giving bytes (see BYTES above).
using RawRouteService = v1::RouteService::WithRawCallbackMethod_Suggest<
    v1::RouteService::WithRawCallbackMethod_SuggestStream<v1::RouteService::Service>>;

class RouteServiceImpl final : public RawRouteService {
 public:
  // `planner` is not owned and outlives the service.
  RouteServiceImpl(planning::RoutePlanner* planner, RouteServiceOptions options);
  ~RouteServiceImpl() override;

  grpc::ServerUnaryReactor* Suggest(grpc::CallbackServerContext* context,
                                    const grpc::ByteBuffer* request,
                                    grpc::ByteBuffer* response) override;
  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* SuggestStream(
      grpc::CallbackServerContext* context) override;

  // The refusing phase of shutdown (see SHUTDOWN above). Idempotent.
  void StartRefusing();
  bool refusing() const { return refusing_.load(std::memory_order_acquire); }
  // Waits until no Suggest call is unanswered, no stream is open and no call has arrived or
  // been answered for `quiet` (real time), or until `deadline`; true when quiet. Meant for the
  // refusing phase: the calls in flight are done, and the clients that got their answers have
  // had time to send their next calls and be told UNAVAILABLE.
  bool AwaitQuiet(absl::Duration quiet, absl::Time deadline);
  // The end of the grace period, before gRPC itself shuts down (which would cancel whatever is
  // left, and clients would see CANCELLED): every Suggest call not yet answered is answered
  // UNAVAILABLE "server shut down before the call was answered", and so is every message in
  // flight on an open stream, which then ends with UNAVAILABLE. The planner's later answers to
  // them are dropped.
  struct Aborted {
    int calls = 0;            // Suggest calls
    int stream_messages = 0;  // SuggestStream messages
  };
  Aborted AbortInFlight();
  // Streams not yet done.
  int open_streams() const;

  struct UnaryCall;  // a Suggest call in flight (route_service.cc)

  // Implementation details follow.
 private:
  // Answers `call` unless somebody claimed it first.
  void Answer(UnaryCall& call, const absl::Status& status);
  // Answers `call`, which the caller has claimed.
  void Finished(UnaryCall& call, const absl::Status& status);
  void StreamDone(SuggestStreamReactor* stream, grpc::StatusCode code);
  bool IdleLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool BusyLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !IdleLocked(); }

  planning::RoutePlanner* const planner_;
  const RouteServiceOptions options_;
  std::atomic<bool> refusing_{false};

  mutable absl::Mutex mu_;
  // Open streams, to tell them when refusing starts. Weak: a stream owns itself until OnDone.
  absl::flat_hash_map<SuggestStreamReactor*, std::weak_ptr<SuggestStreamReactor>> streams_
      ABSL_GUARDED_BY(mu_);
  // Suggest calls not yet answered.
  absl::flat_hash_map<UnaryCall*, std::shared_ptr<UnaryCall>> unary_ ABSL_GUARDED_BY(mu_);
  absl::Time last_activity_ ABSL_GUARDED_BY(mu_);  // a call arrived or ended; real time
};

}  // namespace routeserve::server
