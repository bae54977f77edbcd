// Reading the model directory's files and checking them against model.yaml's seal.
#include "model/model_files.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <system_error>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace routeserve::model {
namespace {

// Hex digits of the content hash in model_version.
constexpr int kVersionHashDigits = 12;

const char* FileKind(mode_t mode) {
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a plain file";
}

absl::Status NotRegular(const std::string& path, mode_t mode) {
  return absl::FailedPreconditionError(
      absl::StrCat(path, ": not a regular file (", FileKind(mode), ")"));
}

// `bytes`' digest must be the seal's.
absl::Status CheckDigest(const std::string& path, const std::string& digest,
                         const std::string& sealed, const char* seal_key) {
  if (digest == sealed) return absl::OkStatus();
  return absl::DataLossError(absl::StrCat(path, ": SHA-256 ", digest, ", but ",
                                          kMetadataFileName, "'s seal.", seal_key, " is ", sealed,
                                          ": the file is not the one sealed"));
}

// The file `name` of `dir`, read, and its digest.
struct ReadFile {
  std::string path;
  std::string bytes;
  std::string sha256;
};
absl::StatusOr<ReadFile> Read(const std::filesystem::path& dir, const char* name) {
  ReadFile file{.path = (dir / name).string()};
  absl::StatusOr<std::string> bytes = ReadRegularFile(file.path);
  if (!bytes.ok()) return bytes.status();
  file.bytes = *std::move(bytes);
  file.sha256 = Sha256Hex(file.bytes);
  return file;
}

}  // namespace

absl::StatusOr<std::string> ReadRegularFile(const std::string& path) {
  auto failed = [&path](int error, absl::string_view what) {
    return absl::ErrnoToStatus(error, absl::StrCat(path, ": ", what));
  };
  struct stat info;
  if (::stat(path.c_str(), &info) != 0) return failed(errno, "cannot be opened");
  if (!S_ISREG(info.st_mode)) return NotRegular(path, info.st_mode);
  // O_NONBLOCK: should the path become a FIFO after the stat, open() must not wait for a
  // writer; the fstat below then refuses it.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return failed(errno, "cannot be opened");
  std::string bytes;
  absl::Status status;
  if (::fstat(fd, &info) != 0) {
    status = failed(errno, "cannot be opened");
  } else if (!S_ISREG(info.st_mode)) {
    status = NotRegular(path, info.st_mode);
  } else {
    bytes.reserve(static_cast<size_t>(info.st_size));
    char buffer[1 << 16];
    for (;;) {
      const ssize_t got = ::read(fd, buffer, sizeof buffer);
      if (got == 0) break;
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) {
        status = failed(errno, "read failed");
        break;
      }
      bytes.append(buffer, static_cast<size_t>(got));
    }
  }
  ::close(fd);
  if (!status.ok()) return status;
  return bytes;
}

std::string Sha256Hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  // One-shot EVP digest: cannot fail for SHA-256 short of an allocation failure.
  if (EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
    return std::string();
  }
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), length));
}

namespace {

// `model_dir` made absolute and normal, without a trailing slash: its filename() is the
// directory's own name, also for "models/route-v1/", "models/route-v1/." or ".".
std::filesystem::path NormalDir(const std::string& model_dir) {
  const std::filesystem::path dir(model_dir);
  std::error_code error;
  std::filesystem::path normal = std::filesystem::absolute(dir, error).lexically_normal();
  if (error) normal = dir.lexically_normal();
  if (!normal.has_filename()) normal = normal.parent_path();
  return normal;
}

}  // namespace

std::string ModelDirName(const std::string& model_dir) {
  return NormalDir(model_dir).filename().string();
}

std::string ModelVersion(const std::string& model_dir, std::span<const FileDigest> files) {
  std::string sums;
  for (const FileDigest& file : files) absl::StrAppend(&sums, file.sha256, "  ", file.name, "\n");
  const std::filesystem::path normal = NormalDir(model_dir);
  std::string name = normal.filename().string();
  // A repository's version directory (model/repository.h): named with its model's name.
  if (!name.empty() && std::all_of(name.begin(), name.end(), absl::ascii_isdigit)) {
    name = absl::StrCat(normal.parent_path().filename().string(), "/", name);
  }
  return absl::StrCat(name, "-", Sha256Hex(sums).substr(0, kVersionHashDigits));
}

absl::StatusOr<ModelFiles> ReadModelFiles(const std::string& model_dir) {
  const std::filesystem::path dir(model_dir);
  std::error_code error;
  if (!std::filesystem::is_directory(dir, error)) {
    return absl::NotFoundError(absl::StrCat("model.path: \"", model_dir, "\" is not a directory"));
  }
  ModelFiles files;
  absl::StatusOr<ReadFile> yaml = Read(dir, kMetadataFileName);
  if (!yaml.ok()) return yaml.status();
  absl::StatusOr<ModelMetadata> metadata = ParseModelMetadata(yaml->bytes, yaml->path);
  if (!metadata.ok()) return metadata.status();
  if (absl::Status contract = CheckFeatureContract(*metadata); !contract.ok()) {
    return absl::Status(contract.code(), absl::StrCat(model_dir, "/", contract.message()));
  }
  files.metadata = *std::move(metadata);

  absl::StatusOr<ReadFile> module = Read(dir, kModelFileName);
  if (!module.ok()) return module.status();
  if (absl::Status sealed = CheckDigest(module->path, module->sha256,
                                        files.metadata.model_sha256, "model_sha256");
      !sealed.ok()) {
    return sealed;
  }
  absl::StatusOr<ReadFile> selftest = Read(dir, kSelfTestFileName);
  if (!selftest.ok()) return selftest.status();
  if (absl::Status sealed = CheckDigest(selftest->path, selftest->sha256,
                                        files.metadata.selftest_sha256, "selftest_sha256");
      !sealed.ok()) {
    return sealed;
  }
  absl::StatusOr<SelfTest> parsed = ParseSelfTest(selftest->bytes, selftest->path);
  if (!parsed.ok()) return parsed.status();
  if (absl::Status reach = CheckSelfTestReach(*parsed, files.metadata, selftest->path);
      !reach.ok()) {
    return absl::Status(reach.code(), absl::StrCat(model_dir, "/", reach.message()));
  }
  files.selftest = *std::move(parsed);

  const FileDigest digests[] = {{kModelFileName, module->sha256},
                                {kMetadataFileName, yaml->sha256},
                                {kSelfTestFileName, selftest->sha256}};
  files.version = ModelVersion(model_dir, digests);
  files.module_bytes = std::move(module->bytes);
  return files;
}

}  // namespace routeserve::model
