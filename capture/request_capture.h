// RequestCapture: opt-in capture of a sampled share of the answered requests to a JSON-lines
// file (config capture.*), so that a platform can label its own traffic
// (routeserve-datagen --label) and fine-tune the model on it (docs/MODEL.md, Learning from
// traffic). Nothing is captured unless capture.path is set and capture.sample_ratio > 0.
//
// A LINE: {"request": R, "served": {"order": [...], "cost": C, "source": "MODEL_REFINED",
//   "model_version": "..."}, "captured_at": "2026-12-07T19:30:00.123Z"}: R is the
//   SuggestRequest in protobuf's JSON mapping with the .proto's field names (what the training
//   data's "request" holds), the whole request as the caller sent it: the courier's and the
//   stops' positions, time windows, ids, a travel-time matrix if given. Location data: the
//   operator decides where the file goes and who reads it. "served" is the route answered
//   (its stop indices, its cost under the server's objective) and what made it.
// COST: the request path only draws the sample and, for a sampled request, copies its bytes
//   (Ticket); the answer's order and cost are copied when it is answered. Parsing, the JSON and
//   the write run on the capture's own thread. What waits for that thread is bounded
//   (kMaxPendingBytes): a capture past it is dropped and counted, never waited for.
// ROTATION: when a line would take the file past capture.max_file_bytes, the file is renamed
//   PATH.1 (replacing the last one) and a new PATH begins: at most twice that on disk.
// ERRORS: a file that cannot be opened at the start is an error (the server does not start);
//   one that cannot be written later (a full disk) is logged once, the half line taken back,
//   and its captures counted as dropped; serving goes on. Only a regular file is rotated.
// THREADING: Draw() and Record() are thread-safe; the destructor writes what is pending. It
//   locks with std::mutex, as the batcher does (batching/clock.h): ThreadSanitizer sees
//   through it (make test-tsan runs tests/capture/capture_threads_test.cc).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <condition_variable>
#include <mutex>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "config/config.h"
#include "planning/plan_result.h"
#include "routeserve/v1/route_service.pb.h"

namespace routeserve::capture {

// Captures waiting for the writer, in request bytes, at most.
inline constexpr int64_t kMaxPendingBytes = 16 << 20;

// A sampled request, carried from its arrival to its answer: its bytes, or nothing when it was
// not drawn.
struct Ticket {
  std::string request_bytes;
  bool drawn() const { return !request_bytes.empty(); }
};

struct CaptureCounts {
  int64_t written = 0;    // lines in the file (or its rotated predecessor)
  int64_t dropped = 0;    // sampled but not written: the writer behind, or the file failing
  int64_t rotations = 0;  // times PATH became PATH.1
};

class RequestCapture {
 public:
  // The capture `config` asks for, its file opened and its writer started; null when it asks
  // for none. InvalidArgument naming capture.path when the file cannot be opened.
  static absl::StatusOr<std::unique_ptr<RequestCapture>> Start(
      const config::Config::Capture& config);
  ~RequestCapture();
  RequestCapture(const RequestCapture&) = delete;
  RequestCapture& operator=(const RequestCapture&) = delete;

  // Draws whether `request` is captured (capture.sample_ratio of them); its ticket.
  Ticket Draw(const v1::SuggestRequest& request) const;
  // The request of `ticket` was answered with `result`: queued for the writer (a ticket not
  // drawn is ignored).
  void Record(Ticket ticket, const planning::PlanResult& result);

  CaptureCounts counts() const;

  // Implementation details follow.
 private:
  struct Pending {
    Ticket ticket;
    std::vector<int> order;
    double cost = 0;
    planning::RouteSource source = planning::RouteSource::kHeuristic;
    std::string model_version;
    absl::Time answered_at;
  };

  explicit RequestCapture(const config::Config::Capture& config);
  void WriteLoop();
  // One captured line (without its newline), or empty when the request's bytes do not parse.
  static std::string LineOf(const Pending& pending);
  // Opens the file for appending; false (errno set) when it cannot be.
  bool Open();
  // Appends `line` to the file, rotating it first when it would grow past max_file_bytes.
  bool Append(const std::string& line);

  const config::Config::Capture config_;
  mutable std::mutex mu_;
  std::condition_variable wake_;  // the writer's: pending_ or stopping_ changed
  std::vector<Pending> pending_ ABSL_GUARDED_BY(mu_);
  int64_t pending_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  CaptureCounts counts_ ABSL_GUARDED_BY(mu_);
  // The writer's own: the file and its size.
  std::FILE* file_ = nullptr;
  int64_t file_bytes_ = 0;
  bool rotatable_ = false;  // a regular file
  bool open_failed_logged_ = false;
  bool write_failed_logged_ = false;
  std::thread writer_;
};

}  // namespace routeserve::capture
