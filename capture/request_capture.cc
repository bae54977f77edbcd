#include "capture/request_capture.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "api/response.h"
#include "base/log.h"
#include "base/random.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace routeserve::capture {
namespace {

// `text` as a JSON string, quotes and escapes included (protobuf's printer escapes it).
std::string JsonString(const std::string& text) {
  google::protobuf::Value value;
  value.set_string_value(text);
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(value, &json).ok()) return "\"\"";
  return json;
}

}  // namespace

absl::StatusOr<std::unique_ptr<RequestCapture>> RequestCapture::Start(
    const config::Config::Capture& config) {
  if (config.path.empty() || config.sample_ratio <= 0) return nullptr;
  std::unique_ptr<RequestCapture> capture(new RequestCapture(config));
  if (!capture->Open()) {
    return absl::InvalidArgumentError(absl::StrCat("capture.path: cannot open \"", config.path,
                                                   "\": ", std::strerror(errno)));
  }
  capture->writer_ = std::thread([raw = capture.get()] { raw->WriteLoop(); });
  base::Log("capture: %g of the answered requests to %s (rotated at %d bytes)",
            config.sample_ratio, config.path, config.max_file_bytes);
  return capture;
}

RequestCapture::RequestCapture(const config::Config::Capture& config) : config_(config) {}

RequestCapture::~RequestCapture() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (writer_.joinable()) writer_.join();
  if (file_ != nullptr) std::fclose(file_);
}

Ticket RequestCapture::Draw(const v1::SuggestRequest& request) const {
  if (!base::DrawWithProbability(config_.sample_ratio)) return {};
  return Ticket{request.SerializeAsString()};
}

void RequestCapture::Record(Ticket ticket, const planning::PlanResult& result) {
  if (!ticket.drawn()) return;
  const int64_t bytes = static_cast<int64_t>(ticket.request_bytes.size());
  {
    std::lock_guard lock(mu_);
    if (stopping_ || pending_bytes_ + bytes > kMaxPendingBytes) {
      ++counts_.dropped;
      return;
    }
    pending_bytes_ += bytes;
    pending_.push_back(Pending{.ticket = std::move(ticket),
                               .order = result.order,
                               .cost = result.evaluation.cost,
                               .source = result.source,
                               .model_version = result.model_version,
                               .answered_at = absl::Now()});
  }
  wake_.notify_one();
}

CaptureCounts RequestCapture::counts() const {
  std::lock_guard lock(mu_);
  return counts_;
}

void RequestCapture::WriteLoop() {
  while (true) {
    std::vector<Pending> batch;
    {
      std::unique_lock lock(mu_);
      wake_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
      if (pending_.empty()) return;  // stopping, with nothing left
      batch.swap(pending_);
      pending_bytes_ = 0;
    }
    int64_t written = 0;
    for (const Pending& pending : batch) {
      const std::string line = LineOf(pending);
      if (!line.empty() && Append(line)) ++written;
    }
    std::lock_guard lock(mu_);
    counts_.written += written;
    counts_.dropped += static_cast<int64_t>(batch.size()) - written;
  }
}

std::string RequestCapture::LineOf(const Pending& pending) {
  v1::SuggestRequest request;
  if (!request.ParseFromString(pending.ticket.request_bytes)) return {};
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string request_json;
  if (!google::protobuf::util::MessageToJsonString(request, &request_json, options).ok()) {
    return {};
  }
  return absl::StrCat(
      "{\"request\":", request_json, ",\"served\":{\"order\":[",
      absl::StrJoin(pending.order, ","), "],\"cost\":", absl::StrFormat("%.17g", pending.cost),
      ",\"source\":", JsonString(v1::RouteSource_Name(api::ToProto(pending.source))),
      ",\"model_version\":", JsonString(pending.model_version), "},\"captured_at\":",
      JsonString(absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", pending.answered_at,
                                  absl::UTCTimeZone())),
      "}");
}

bool RequestCapture::Open() {
  file_ = std::fopen(config_.path.c_str(), "ae");
  if (file_ == nullptr) return false;
  struct stat status = {};
  const bool known = fstat(fileno(file_), &status) == 0;
  file_bytes_ = known ? status.st_size : 0;
  // Only a file of its own is rotated: never a device or a pipe someone pointed it at.
  rotatable_ = known && S_ISREG(status.st_mode);
  return true;
}

bool RequestCapture::Append(const std::string& line) {
  const int64_t size = static_cast<int64_t>(line.size()) + 1;
  if (file_ != nullptr && rotatable_ && file_bytes_ > 0 &&
      file_bytes_ + size > config_.max_file_bytes) {
    std::fclose(file_);
    file_ = nullptr;
    const std::string rotated = config_.path + ".1";
    if (std::rename(config_.path.c_str(), rotated.c_str()) != 0) {
      base::Log("capture: cannot rename %s to %s: %s", config_.path, rotated,
                std::strerror(errno));
    } else {
      std::lock_guard lock(mu_);
      ++counts_.rotations;
    }
  }
  if (file_ == nullptr && !Open()) {
    if (!open_failed_logged_) {
      base::Log("capture: cannot open %s: %s; captures are dropped until it can be",
                config_.path, std::strerror(errno));
      open_failed_logged_ = true;
    }
    return false;
  }
  // A line is flushed whole before it counts: a full disk shows here, not at close.
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() ||
      std::fputc('\n', file_) == EOF || std::fflush(file_) != 0) {
    if (!write_failed_logged_) {
      base::Log("capture: cannot write %s: %s", config_.path, std::strerror(errno));
      write_failed_logged_ = true;
    }
    // No half line stays behind for a reader to trip on.
    if (rotatable_) {
      [[maybe_unused]] const int truncated = ftruncate(fileno(file_), file_bytes_);
    }
    std::fclose(file_);
    file_ = nullptr;
    return false;
  }
  file_bytes_ += size;
  return true;
}

}  // namespace routeserve::capture
