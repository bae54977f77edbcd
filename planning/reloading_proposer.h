// ReloadingProposer: the BatchProposer of a configured model (model.path, or model.repository's
// model.name at model.version) that can be replaced while the server serves. Each batch goes to
// the ModelProposer serving when the batch starts; Reload() loads the model the config names
// now beside it (a new version in the repository, or new files in model.path), checks and warms
// it up (LoadModelProposer: checksums, self-test, every batch shape), and makes it the one that
// new batches go to. And CreateProposer(), the proposer a config asks for.
//
// SWAP: atomic between batches: a batch runs wholly on one model, and each of its proposals
//   is refined by the proposer that made it (Proposal::refiner) and carries that model's
//   version. The model that was serving is freed once its last batch is finished: Reload()
//   waits for that (up to kRetireWait; a batch stuck in its executor keeps it longer), so that
//   two models, never three, are held at once. No call is refused or failed by a reload.
// FAILURE: a model that cannot be loaded, checked or warmed up never serves; the one serving
//   goes on, and the outcome says why (the server logs and counts it).
// UNCHANGED: a reload that finds the model serving (the same directory with the same
//   model_version, which hashes every file) loads nothing.
// SHADOW: with model.shadow_version, a candidate version of the same model is loaded beside
//   (one executor, batches of one: it serves planning::ShadowRunner alone), at start-up (an
//   error if it cannot be) and again at each reload (a version that fails its checks leaves
//   the shadow as it was, logged). -1 names the latest version, and no shadow while the latest
//   is the one serving.
// THREADING: Propose(), Refine() and the accessors are thread-safe; Reload()s run one at a time
//   (a second waits for the first), on the caller's thread, which they hold for the load and
//   warm-up (seconds).
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "config/config.h"
#include "planning/batch_proposer.h"
#include "planning/model_proposer.h"

namespace routeserve::planning {

// What a reload did.
struct ReloadOutcome {
  enum class Result { kSwapped, kUnchanged, kFailed };
  Result result = Result::kUnchanged;
  std::string version;  // the model_version serving after it
  absl::Status status;  // kFailed: why the new model was refused
};
// "swapped", "unchanged", "failed": the metric's label values.
absl::string_view ReloadResultName(ReloadOutcome::Result result);

class ReloadingProposer final : public BatchProposer {
 public:
  // How long Reload() waits for the batches of the model it replaced before returning.
  static constexpr absl::Duration kRetireWait = absl::Seconds(30);

  // Loads the model the config names (model.path, or model.repository / model.name at
  // model.version: model/repository.h): an error when there is none or it cannot be loaded.
  static absl::StatusOr<std::unique_ptr<ReloadingProposer>> Create(const config::Config& config);
  ~ReloadingProposer() override;

  std::vector<absl::StatusOr<Proposal>> Propose(
      std::span<const routing::Instance* const> instances, const BatchShape& shape) override;
  // By the proposal's refiner (the model that proposed it), or the one serving.
  std::vector<int> Refine(const routing::Instance& instance, Proposal proposal,
                          absl::Time deadline, const batching::Clock& clock) const override;
  std::vector<int> RefineAlternative(const routing::Instance& instance, std::vector<int> order,
                                     const routing::CandidateLists* candidates) const override;
  // The serving model's.
  std::string model_version() const override;

  // See SWAP, FAILURE and UNCHANGED above.
  ReloadOutcome Reload();

  // The model serving now; it stays loaded while the pointer is held.
  std::shared_ptr<const ModelProposer> serving() const;
  // The shadow model now (see SHADOW), or null.
  std::shared_ptr<ModelProposer> shadow() const;
  // The serving model's name: model.name, or model.path's directory name.
  std::string serving_name() const;
  // Fallbacks since start-up, over every model that served.
  FallbackCounts fallback_counts() const;

  // Implementation details follow.
 private:
  struct Loaded;  // a model loaded, with where it came from

  explicit ReloadingProposer(const config::Config& config);
  // The directory and name the config names now (the repository's policy applied).
  absl::StatusOr<Loaded> Locate() const;
  // The shadow version's directory, when there is one besides the serving version `serving`.
  absl::StatusOr<std::optional<Loaded>> LocateShadow(int64_t serving) const;
  absl::Status Load(Loaded& model, const config::Config& config) const;
  // Loads the shadow the config names now (beside the serving version), unless it is loaded
  // already.
  absl::Status ReloadShadow();
  // Reload()'s part for the serving model, `model` being the one the config names now.
  ReloadOutcome ReloadServing(Loaded model);
  // Waits for the proposers retired so far to be released by their batches, then folds their
  // fallbacks into retired_counts_ and frees them; those still held stay for the next time.
  void FreeRetired(absl::Duration wait);

  const config::Config config_;
  absl::Mutex reload_mu_;  // one Reload() at a time
  mutable absl::Mutex mu_;
  std::shared_ptr<ModelProposer> serving_ ABSL_GUARDED_BY(mu_);
  std::string serving_dir_ ABSL_GUARDED_BY(mu_);
  std::string serving_name_ ABSL_GUARDED_BY(mu_);
  int64_t serving_number_ ABSL_GUARDED_BY(mu_) = 0;  // its version in the repository, or 0
  std::shared_ptr<ModelProposer> shadow_ ABSL_GUARDED_BY(mu_);
  std::string shadow_dir_ ABSL_GUARDED_BY(mu_);
  // The shadow's own settings: one executor, batches of one.
  const config::Config shadow_config_;
  // Replaced models whose batches may still run, and the fallbacks of those freed.
  std::vector<std::shared_ptr<ModelProposer>> retired_ ABSL_GUARDED_BY(mu_);
  FallbackCounts retired_counts_ ABSL_GUARDED_BY(mu_);
};

// The proposer `config` asks for: with neither model.path nor model.repository, the classical
// solver (source kHeuristic); else a ReloadingProposer of the model it names, loaded and warmed
// up. A model that cannot be loaded or warmed up is an error (the server must not start), never
// a silent fallback.
absl::StatusOr<std::unique_ptr<BatchProposer>> CreateProposer(const config::Config& config);

}  // namespace routeserve::planning
