#include "planning/reloading_proposer.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "base/log.h"
#include "model/model_files.h"
#include "model/repository.h"

namespace routeserve::planning {
absl::string_view ReloadResultName(ReloadOutcome::Result result) {
  switch (result) {
    case ReloadOutcome::Result::kSwapped:
      return "swapped";
    case ReloadOutcome::Result::kUnchanged:
      return "unchanged";
    case ReloadOutcome::Result::kFailed:
      return "failed";
  }
  return "unknown";
}

struct ReloadingProposer::Loaded {
  std::string dir;
  std::string name;
  int64_t version = 0;  // in the repository; 0 for model.path
  std::shared_ptr<ModelProposer> proposer;
};

namespace {

config::Config ShadowConfig(config::Config config) {
  config.batching.executors = 1;
  config.batching.max_batch_size = 1;
  return config;
}

}  // namespace

ReloadingProposer::ReloadingProposer(const config::Config& config)
    : config_(config), shadow_config_(ShadowConfig(config)) {}

ReloadingProposer::~ReloadingProposer() = default;

absl::StatusOr<std::unique_ptr<ReloadingProposer>> ReloadingProposer::Create(
    const config::Config& config) {
  std::unique_ptr<ReloadingProposer> reloading(new ReloadingProposer(config));
  absl::StatusOr<Loaded> model = reloading->Locate();
  if (!model.ok()) return model.status();
  if (absl::Status status = reloading->Load(*model, config); !status.ok()) return status;
  {
    absl::MutexLock lock(&reloading->mu_);
    reloading->serving_ = std::move(model->proposer);
    reloading->serving_dir_ = std::move(model->dir);
    reloading->serving_name_ = std::move(model->name);
    reloading->serving_number_ = model->version;
  }
  if (absl::Status status = reloading->ReloadShadow(); !status.ok()) {
    return status;
  }
  return reloading;
}

absl::StatusOr<ReloadingProposer::Loaded> ReloadingProposer::Locate() const {
  if (config_.model.repository.empty()) {
    if (config_.model.path.empty()) return absl::InvalidArgumentError("model.path: empty");
    return Loaded{.dir = config_.model.path, .name = model::ModelDirName(config_.model.path)};
  }
  absl::StatusOr<model::RepositoryModel> chosen = model::ChooseVersion(
      config_.model.repository, config_.model.name, config_.model.version);
  if (!chosen.ok()) return chosen.status();
  return Loaded{.dir = chosen->dir, .name = chosen->name, .version = chosen->version};
}

absl::StatusOr<std::optional<ReloadingProposer::Loaded>> ReloadingProposer::LocateShadow(
    int64_t serving) const {
  const int64_t wanted = config_.model.shadow_version;
  if (wanted == 0) return std::nullopt;
  absl::StatusOr<model::RepositoryModel> chosen =
      model::ChooseVersion(config_.model.repository, config_.model.name,
                           wanted < 0 ? model::kLatestVersion : wanted);
  if (!chosen.ok()) {
    return absl::Status(chosen.status().code(),
                        absl::StrCat("model.shadow_version: ", chosen.status().message()));
  }
  if (chosen->version == serving) return std::nullopt;
  return Loaded{.dir = chosen->dir, .name = chosen->name, .version = chosen->version};
}

absl::Status ReloadingProposer::Load(Loaded& model, const config::Config& config) const {
  absl::StatusOr<std::unique_ptr<ModelProposer>> loaded = LoadModelProposer(config, model.dir);
  if (!loaded.ok()) return loaded.status();
  model.proposer = *std::move(loaded);
  return absl::OkStatus();
}

absl::Status ReloadingProposer::ReloadShadow() {
  int64_t serving = 0;
  {
    absl::MutexLock lock(&mu_);
    serving = serving_number_;
  }
  absl::StatusOr<std::optional<Loaded>> shadow = LocateShadow(serving);
  if (!shadow.ok()) return shadow.status();
  std::shared_ptr<ModelProposer> replaced;
  if (!shadow->has_value()) {
    absl::MutexLock lock(&mu_);
    replaced = std::exchange(shadow_, nullptr);
    shadow_dir_.clear();
    return absl::OkStatus();
  }
  Loaded& candidate = **shadow;
  {
    absl::MutexLock lock(&mu_);
    if (shadow_ != nullptr && shadow_dir_ == candidate.dir) return absl::OkStatus();
  }
  if (absl::Status status = Load(candidate, shadow_config_); !status.ok()) return status;
  base::Log("model: shadow %s tried on %g of the answered requests",
            candidate.proposer->model_version(), config_.model.shadow_ratio);
  absl::MutexLock lock(&mu_);
  replaced = std::exchange(shadow_, std::move(candidate.proposer));
  shadow_dir_ = std::move(candidate.dir);
  return absl::OkStatus();
}

std::vector<absl::StatusOr<Proposal>> ReloadingProposer::Propose(
    std::span<const routing::Instance* const> instances, const BatchShape& shape) {
  std::shared_ptr<ModelProposer> proposer;
  {
    absl::MutexLock lock(&mu_);
    proposer = serving_;
  }
  std::vector<absl::StatusOr<Proposal>> proposals = proposer->Propose(instances, shape);
  for (absl::StatusOr<Proposal>& proposal : proposals) {
    if (proposal.ok()) proposal->refiner = proposer;
  }
  return proposals;
}

std::vector<int> ReloadingProposer::Refine(const routing::Instance& instance, Proposal proposal,
                                           absl::Time deadline,
                                           const batching::Clock& clock) const {
  const std::shared_ptr<const BatchProposer> refiner =
      proposal.refiner != nullptr ? proposal.refiner : serving();
  return refiner->Refine(instance, std::move(proposal), deadline, clock);
}

std::vector<int> ReloadingProposer::RefineAlternative(
    const routing::Instance& instance, std::vector<int> order,
    const routing::CandidateLists* candidates) const {
  return serving()->RefineAlternative(instance, std::move(order), candidates);
}

std::string ReloadingProposer::model_version() const { return serving()->model_version(); }

std::shared_ptr<const ModelProposer> ReloadingProposer::serving() const {
  absl::MutexLock lock(&mu_);
  return serving_;
}

std::shared_ptr<ModelProposer> ReloadingProposer::shadow() const {
  absl::MutexLock lock(&mu_);
  return shadow_;
}

std::string ReloadingProposer::serving_name() const {
  absl::MutexLock lock(&mu_);
  return serving_name_;
}

FallbackCounts ReloadingProposer::fallback_counts() const {
  absl::MutexLock lock(&mu_);
  FallbackCounts counts = retired_counts_;
  for (const std::shared_ptr<ModelProposer>& retired : retired_) {
    counts += retired->fallback_counts();
  }
  counts += serving_->fallback_counts();
  return counts;
}

ReloadOutcome ReloadingProposer::Reload() {
  absl::MutexLock reload_lock(&reload_mu_);
  absl::StatusOr<Loaded> model = Locate();
  if (!model.ok()) {
    return {.result = ReloadOutcome::Result::kFailed,
            .version = model_version(),
            .status = model.status()};
  }
  ReloadOutcome outcome = ReloadServing(*std::move(model));
  // The shadow follows the policy too, whatever became of the serving model.
  if (absl::Status status = ReloadShadow(); !status.ok()) {
    base::Log("model: shadow reload refused, the shadow stays as it was: %s", status.message());
  }
  return outcome;
}

ReloadOutcome ReloadingProposer::ReloadServing(Loaded model) {
  std::string serving_dir;
  {
    absl::MutexLock lock(&mu_);
    serving_dir = serving_dir_;
  }
  if (model.dir == serving_dir) {
    // The same directory with the same files: nothing to load. Reading them costs a hash.
    absl::StatusOr<model::ModelFiles> files = model::ReadModelFiles(model.dir);
    if (files.ok() && files->version == model_version()) {
      return {.result = ReloadOutcome::Result::kUnchanged, .version = files->version};
    }
  }
  if (absl::Status status = Load(model, config_); !status.ok()) {
    return {.result = ReloadOutcome::Result::kFailed,
            .version = model_version(),
            .status = std::move(status)};
  }
  ReloadOutcome outcome{.result = ReloadOutcome::Result::kSwapped,
                        .version = model.proposer->model_version()};
  {
    absl::MutexLock lock(&mu_);
    retired_.push_back(std::exchange(serving_, std::move(model.proposer)));
    serving_dir_ = std::move(model.dir);
    serving_name_ = std::move(model.name);
    serving_number_ = model.version;
  }
  FreeRetired(kRetireWait);
  return outcome;
}

void ReloadingProposer::FreeRetired(absl::Duration wait) {
  const absl::Time give_up = absl::Now() + wait;
  std::vector<std::shared_ptr<ModelProposer>> to_free;
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      // Held here only: no batch and no proposal of it is left.
      for (auto it = retired_.begin(); it != retired_.end();) {
        if (it->use_count() == 1) {
          retired_counts_ += (*it)->fallback_counts();
          to_free.push_back(std::move(*it));
          it = retired_.erase(it);
        } else {
          ++it;
        }
      }
      if (retired_.empty() || absl::Now() >= give_up) break;
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  // Freed outside the lock: a model's destructor may take a while.
  to_free.clear();
}

absl::StatusOr<std::unique_ptr<BatchProposer>> CreateProposer(const config::Config& config) {
  if (config.model.path.empty() && config.model.repository.empty()) {
    return std::make_unique<SolverProposer>(config.solver);
  }
  absl::StatusOr<std::unique_ptr<ReloadingProposer>> reloading =
      ReloadingProposer::Create(config);
  if (!reloading.ok()) return reloading.status();
  return *std::move(reloading);
}

}  // namespace routeserve::planning
