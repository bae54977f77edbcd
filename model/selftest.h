// The model's self-test, `selftest.json` beside `model.pt` (docs/MODEL.md, Integrity): fixed
// problems, each with the padded size it runs at and the cost of the best route the model's own
// decodings reached on it when the recipe sealed the model (model/training/seal.py). At
// start-up the runner decodes each problem again, as the server would, and every route must be
// feasible and cost what was recorded, within kSelfTestTolerance. A model whose weights are not
// the ones sealed (NaN, a flipped bit that matters, another file under a forged checksum) fails
// here before it serves.
//
// The format knows nothing of how a model decodes: problems, a padded size, a number of
// decodings and a cost. The runner supplies the decoding (DecodeFn).
//
// ERRORS: a file that is not a valid self-test is InvalidArgument naming the field
//   ("selftest.json: cases[3].problem.stops[2].kind: expected pickup, dropoff or visit, got
//   \"parcel\""); a self-test the model fails is DataLoss naming the case and both costs.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "model/decodings.h"
#include "model/metadata.h"
#include "routing/instance.h"
#include "routing/problem.h"

namespace routeserve::model {

inline constexpr char kSelfTestFileName[] = "selftest.json";
inline constexpr int kSelfTestFormat = 1;

// Relative tolerance on a case's cost: |got - recorded| <= kSelfTestTolerance * max(1,
// |recorded|). The encoders agree bit for bit and LibTorch runs the same kernels as the
// recipe's torch, so the same weights give the same routes; the tolerance only absorbs the
// last bits of the cost's sum. Any other route costs far more than this apart.
inline constexpr double kSelfTestTolerance = 1e-6;

struct SelfTestCase {
  std::string name;  // as the recipe wrote it, e.g. "case 3: 8 stops (tight windows, seed 9)"
  routing::RouteProblem problem;
  int padded_size = 0;  // the N it runs at
  double cost = 0;      // the recorded cost of its best decoding
};

struct SelfTest {
  int decodings = 0;  // K, each case's decodings (1 greedy, the rest sampled)
  std::vector<SelfTestCase> cases;
};

// Parses selftest.json's text; `source` (its path) starts every error message. At least one
// case.
absl::StatusOr<SelfTest> ParseSelfTest(const std::string& json_text, const std::string& source);

// OK when the self-test's largest case runs the model at N = metadata.max_stops: model.yaml may
// claim no more stops than the model was sealed for (and no fewer: the self-test would run it
// above its max_stops). Else FailedPrecondition naming both.
absl::Status CheckSelfTestReach(const SelfTest& selftest, const ModelMetadata& metadata,
                                const std::string& source);

// Decodes one problem at `padded_size` with `decodings` decodings, as the server would (the
// runner's path, in fp32): each decoding checked (model/decodings.h), or why not.
using DecodeFn = std::function<absl::StatusOr<std::vector<Decoding>>(
    const routing::Instance& instance, int padded_size, int decodings)>;

// Runs every case with `decode`, its problem built under `objective` (the model's own, from
// model.yaml: the costs were recorded under it). OK when each case's best decoding costs what
// was recorded; else the first failure, naming the case: InvalidArgument for a problem that is
// not well formed, DataLoss for a cost that differs, `decode`'s own status when it refuses.
absl::Status RunSelfTest(const SelfTest& selftest, const routing::ObjectiveParams& objective,
                         const std::string& source, const DecodeFn& decode);

}  // namespace routeserve::model
