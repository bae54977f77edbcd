// ShadowRunner: a candidate model version tried on a share of live traffic (model.shadow_*),
// which neither answers nor slows the requests: each answered request is drawn at
// model.shadow_ratio, and a drawn one is proposed and refined by the shadow model on the
// runner's own thread, its route costed by the same evaluator, and the cost compared with the
// route that was answered. An operator sees the candidate win or lose on the platform's own
// traffic (routeserve_shadow_*) before it serves.
//
// IDLE ONLY: a shadow job runs only while `busy()` says the server has no request in hand (the
//   server: none accepted and not yet answered); it waits otherwise (polling every kBusyPoll).
//   A run that has begun goes on to its end: a request arriving meanwhile shares the cores with
//   it. At most kMaxPending jobs wait: a drawn request
//   past that is dropped and counted, never waited for.
// THE MODEL: `shadow()` gives the shadow model at each job (a reload may change or remove it;
//   null: the job is skipped, uncounted). The model has an executor of its own (index 0),
//   loaded for the runner alone (ReloadingProposer).
// THREADING: Offer() is thread-safe and never blocks; the destructor drops what waits and
//   joins the thread.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "planning/model_proposer.h"
#include "routing/instance.h"

namespace routeserve::planning {

// One answered request tried on the shadow model.
struct ShadowOutcome {
  std::string version;  // the shadow model's model_version
  double served_cost = 0;
  double shadow_cost = 0;
  // (shadow - served) / served: below 0 the shadow's route was cheaper; 0 when both cost 0.
  double delta_ratio() const;
};

class ShadowRunner {
 public:
  static constexpr int kMaxPending = 64;
  static constexpr absl::Duration kBusyPoll = absl::Milliseconds(2);

  struct Options {
    double ratio = 0.1;  // share of the answered requests drawn
    // The shadow model now, or null when there is none.
    std::function<std::shared_ptr<ModelProposer>()> shadow;
    // True while the server has requests in hand: shadow jobs wait.
    std::function<bool()> busy;
    // Each comparison, on the runner's thread.
    std::function<void(const ShadowOutcome&)> on_compared;
    // Each drawn request dropped (too many waiting, or its shadow run failed), on the caller's
    // or the runner's thread.
    std::function<void()> on_dropped;
  };

  explicit ShadowRunner(Options options);
  ~ShadowRunner();
  ShadowRunner(const ShadowRunner&) = delete;
  ShadowRunner& operator=(const ShadowRunner&) = delete;

  // A request answered with a route of `served_cost`, batched in a bucket of `padded_size`
  // stops: drawn at the ratio, and queued for the shadow model when drawn.
  void Offer(std::shared_ptr<const routing::Instance> instance, double served_cost,
             int padded_size);

  // Implementation details follow.
 private:
  struct Job {
    std::shared_ptr<const routing::Instance> instance;
    double served_cost = 0;
    int padded_size = 0;
  };
  void RunLoop();
  void Run(const Job& job);

  const Options options_;
  absl::Mutex mu_;
  std::deque<Job> pending_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace routeserve::planning
