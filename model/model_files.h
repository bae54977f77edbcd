// The model directory's files, read once and checked before LibTorch sees a byte of them
// (docs/MODEL.md, Integrity): model.yaml (the metadata and its seal), model.pt (the TorchScript
// archive) and selftest.json (the self-test). No LibTorch here.
//
// ORDER: model.yaml is read and parsed (its seal required) and its feature contract checked
//   against the encoder's; model.pt is read and its SHA-256 compared with the seal's; so is
//   selftest.json's, which is then parsed, and its reach must be model.yaml's max_stops. The
//   runner loads the module from the bytes read here, so that what was checked is what runs.
// FILES: each must be a regular file: a FIFO, a directory or a device is refused before it is
//   opened (opening a FIFO would wait for a writer), naming the file. An error opening or
//   reading one gives the system's reason ("model.pt: cannot be opened: Permission denied").
// MODEL_VERSION: the directory's name, "-" and the first 12 hex digits of the SHA-256 of what
//   `sha256sum model.pt model.yaml selftest.json` prints in the directory: every file that
//   changes the answers changes it. A repository's version directory (model/repository.h),
//   whose name is a number, goes by its model's name and that number: "couriers/3-1a2b3c4d5e6f".
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "model/metadata.h"
#include "model/selftest.h"

namespace routeserve::model {

struct ModelFiles {
  ModelMetadata metadata;
  std::string module_bytes;  // model.pt, as sealed
  SelfTest selftest;
  std::string version;  // model_version
};

// Reads and checks the files of `model_dir` (see ORDER). NotFound for a missing file (or a
// `model_dir` that is not a directory); FailedPrecondition for a file that is not a regular one
// or a contract that disagrees; DataLoss for a checksum that does not match, naming the file and
// both digests; InvalidArgument for a file that does not parse.
absl::StatusOr<ModelFiles> ReadModelFiles(const std::string& model_dir);

// The bytes of the regular file at `path`. Not a regular file: FailedPrecondition "path: not a
// regular file (a FIFO)", decided before opening it. Failing to open or read it: the errno's
// status, "path: cannot be opened: <strerror>".
absl::StatusOr<std::string> ReadRegularFile(const std::string& path);

// Lower-case hex SHA-256 (OpenSSL's) of `bytes`.
std::string Sha256Hex(std::string_view bytes);

// A file's name in the model directory and the hex SHA-256 of its bytes.
struct FileDigest {
  std::string name;
  std::string sha256;
};
// The model directory's own name: "route-v1" for "models/route-v1", "models/route-v1/" or
// "models/route-v1/.".
std::string ModelDirName(const std::string& model_dir);

// model_version from the digests of the directory's files, in the order sha256sum was given
// them (see MODEL_VERSION). `model_dir` may end with a slash, or be ".".
std::string ModelVersion(const std::string& model_dir, std::span<const FileDigest> files);

}  // namespace routeserve::model
