// encode_features_dump: the C++ side of the encoder parity test (test_parity.py). Encodes
// requests as the server does and writes the model's inputs as .npy files, bit for bit.
//
//   encode_features_dump --requests FILE --padded_size N [--decodings K] --out DIR
//
// FILE holds one SuggestRequest in proto JSON per line (blank lines skipped). Each becomes a
// problem through api::ToRouteProblem with the server's default limits, then a
// routing::Instance under the default objective (the server's config default, the one the
// model's metadata records), and all of them one batch padded to N stops (model/features.h).
// DIR receives nodes.npy, pairs.npy, padding.npy, courier.npy and travel.npy: the inputs of
// docs/MODEL.md with their shapes and dtypes (padding as bool), in NumPy's format 1.0; and
// noise.npy, the Gumbel noise [B, K, N] the server gives their K decodings (default K 4).
//
// Exit status 0 on success, 1 when a request is refused or a file cannot be read or written
// (the message names the line), 2 on bad arguments.
#include <bit>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "api/request.h"
#include "google/protobuf/util/json_util.h"
#include "model/features.h"
#include "routing/instance.h"
#include "routing/objective.h"

namespace routeserve::model {
namespace {

static_assert(std::endian::native == std::endian::little,
              "the .npy files are written as little-endian");

constexpr char kUsage[] =
    "usage: encode_features_dump --requests FILE --padded_size N [--decodings K] --out DIR\n";

// The problems of `path`'s requests, as the server builds them.
absl::StatusOr<std::vector<routing::Instance>> ReadInstances(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::vector<routing::Instance> instances;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto refused = [&](absl::string_view why) {
      return absl::InvalidArgumentError(absl::StrCat(path, ":", number, ": ", why));
    };
    v1::SuggestRequest request;
    const auto parsed = google::protobuf::util::JsonStringToMessage(line, &request);
    if (!parsed.ok()) return refused(parsed.ToString());
    absl::StatusOr<routing::RouteProblem> problem = api::ToRouteProblem(request, {});
    if (!problem.ok()) return refused(problem.status().message());
    absl::StatusOr<routing::Instance> instance =
        routing::Instance::Build(*problem, routing::ObjectiveParams{});
    if (!instance.ok()) return refused(instance.status().message());
    instances.push_back(*std::move(instance));
  }
  return instances;
}

// Writes `values` as a C-order array of `shape` in NumPy's format 1.0: the magic, a header
// dict padded with spaces to a multiple of 64 bytes, the raw little-endian values.
template <typename Values>
absl::Status WriteNpy(const std::string& path, const char* descr, std::span<const int> shape,
                      const Values& values) {
  std::string header =
      absl::StrCat("{'descr': '", descr, "', 'fortran_order': False, 'shape': (",
                   absl::StrJoin(shape, ", "), shape.size() == 1 ? ",), }" : "), }");
  constexpr size_t kPreamble = 10;  // magic (6), version (2), header length (2)
  header.append(63 - (kPreamble + header.size()) % 64, ' ');
  header.push_back('\n');
  const uint16_t length = static_cast<uint16_t>(header.size());
  std::ofstream out(path, std::ios::binary);
  out.write("\x93NUMPY\x01\x00", 8);
  out.write(reinterpret_cast<const char*>(&length), sizeof length);
  out << header;
  out.write(reinterpret_cast<const char*>(values.data()),
            static_cast<std::streamsize>(values.size() * sizeof(values[0])));
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

absl::Status WriteBatch(const FeatureBatch& batch, const std::pmr::vector<float>& noise,
                        int decodings, const std::string& dir) {
  const int B = batch.batch_size;
  const int N = batch.padded_size;
  const int noise_shape[] = {B, decodings, N};
  const int nodes_shape[] = {B, N, kNodeFeatures};
  const int rows_shape[] = {B, N};
  const int courier_shape[] = {B, kCourierFeatures};
  const int travel_shape[] = {B, N + 1, N + 1};
  for (absl::Status status : {
           WriteNpy(dir + "/nodes.npy", "<f4", nodes_shape, batch.nodes),
           WriteNpy(dir + "/pairs.npy", "<i8", rows_shape, batch.pairs),
           WriteNpy(dir + "/padding.npy", "|b1", rows_shape, batch.padding),
           WriteNpy(dir + "/courier.npy", "<f4", courier_shape, batch.courier),
           WriteNpy(dir + "/travel.npy", "<f4", travel_shape, batch.travel),
           WriteNpy(dir + "/noise.npy", "<f4", noise_shape, noise),
       }) {
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

int Run(int argc, char** argv) {
  std::string requests, out;
  std::optional<int> padded_size;
  int decodings = 4;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--requests") {
      requests = argv[i + 1];
    } else if (flag == "--out") {
      out = argv[i + 1];
    } else if (int n; flag == "--padded_size" && absl::SimpleAtoi(argv[i + 1], &n)) {
      padded_size = n;
    } else if (flag == "--decodings" && absl::SimpleAtoi(argv[i + 1], &decodings) &&
               decodings >= 1) {
    } else {
      std::cerr << "encode_features_dump: bad argument " << flag << "\n" << kUsage;
      return 2;
    }
  }
  if (argc % 2 == 0 || requests.empty() || out.empty() || !padded_size) {
    std::cerr << kUsage;
    return 2;
  }
  absl::StatusOr<std::vector<routing::Instance>> instances = ReadInstances(requests);
  absl::Status status = instances.status();
  if (status.ok()) {
    std::vector<const routing::Instance*> pointers;
    for (const routing::Instance& instance : *instances) pointers.push_back(&instance);
    FeatureBatch batch;
    status = EncodeFeatures(pointers, *padded_size, batch);
    std::pmr::vector<float> noise;
    GumbelNoise(pointers, *padded_size, decodings, noise);
    if (status.ok()) status = WriteBatch(batch, noise, decodings, out);
  }
  if (!status.ok()) {
    std::cerr << "encode_features_dump: " << status.message() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace routeserve::model

int main(int argc, char** argv) { return routeserve::model::Run(argc, argv); }
