// TestConnection and DrippingClient over blocking sockets, each read bounded by the guard.
#include "test_clients.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

namespace routeserve::testing {
namespace {

absl::Status Errno(absl::string_view what) {
  return absl::UnavailableError(absl::StrCat(what, ": ", std::strerror(errno)));
}

absl::StatusOr<sockaddr_in> Loopback(const std::string& host, int port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &address.sin_addr) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("not an IPv4 address: ", host));
  }
  return address;
}

}  // namespace

absl::StatusOr<TestConnection> TestConnection::Open(int port, const std::string& source,
                                                    int receive_buffer) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Errno("socket");
  TestConnection connection(fd);
  const timeval guard{.tv_sec = absl::ToInt64Seconds(kClientGuard), .tv_usec = 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &guard, sizeof(guard));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &guard, sizeof(guard));
  if (receive_buffer > 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof(receive_buffer));
  }
  absl::StatusOr<sockaddr_in> from = Loopback(source, 0);
  if (!from.ok()) return from.status();
  if (bind(fd, reinterpret_cast<const sockaddr*>(&*from), sizeof(*from)) != 0) {
    return Errno(absl::StrCat("bind ", source));
  }
  absl::StatusOr<sockaddr_in> to = Loopback("127.0.0.1", port);
  if (!to.ok()) return to.status();
  if (connect(fd, reinterpret_cast<const sockaddr*>(&*to), sizeof(*to)) != 0) {
    return Errno(absl::StrCat("connect 127.0.0.1:", port));
  }
  return connection;
}

TestConnection::TestConnection(TestConnection&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), buffer_(std::move(other.buffer_)) {}

TestConnection& TestConnection::operator=(TestConnection&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    buffer_ = std::move(other.buffer_);
  }
  return *this;
}

TestConnection::~TestConnection() {
  if (fd_ >= 0) close(fd_);
}

absl::Status TestConnection::Send(std::string_view bytes) {
  for (size_t sent = 0; sent < bytes.size();) {
    const ssize_t n = send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Errno("send");
    sent += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

bool TestConnection::Fill() {
  char chunk[16384];
  for (;;) {
    const ssize_t n = recv(fd_, chunk, sizeof(chunk), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<size_t>(n));
    return true;
  }
}

absl::StatusOr<HttpAnswer> TestConnection::Read(bool head) {
  size_t header_end;
  while ((header_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (!Fill()) {
      return absl::UnavailableError(absl::StrCat("no complete answer; read \"",
                                                 buffer_.substr(0, 200), "\""));
    }
  }
  // "HTTP/1.1 200 OK", then "Name: value" lines.
  const std::vector<absl::string_view> lines =
      absl::StrSplit(absl::string_view(buffer_).substr(0, header_end), "\r\n");
  HttpAnswer answer;
  const std::vector<absl::string_view> status_line = absl::StrSplit(lines[0], ' ');
  if (status_line.size() < 2 || !absl::StartsWith(status_line[0], "HTTP/") ||
      !absl::SimpleAtoi(status_line[1], &answer.status)) {
    return absl::DataLossError(absl::StrCat("not an HTTP answer: ", lines[0]));
  }
  for (size_t i = 1; i < lines.size(); ++i) {
    const size_t colon = lines[i].find(':');
    if (colon == absl::string_view::npos) continue;
    answer.headers[absl::AsciiStrToLower(lines[i].substr(0, colon))] =
        std::string(absl::StripAsciiWhitespace(lines[i].substr(colon + 1)));
  }
  size_t length = 0;
  if (!head && answer.headers.count("content-length") != 0 &&
      !absl::SimpleAtoi(answer.headers["content-length"], &length)) {
    return absl::DataLossError("bad Content-Length");
  }
  const size_t body_start = header_end + 4;
  while (buffer_.size() < body_start + length) {
    if (!Fill()) return absl::UnavailableError("the answer's body was cut short");
  }
  answer.body = buffer_.substr(body_start, length);
  buffer_.erase(0, body_start + length);
  return answer;
}

bool TestConnection::WaitForClose() {
  char chunk[16384];
  for (;;) {
    const ssize_t n = recv(fd_, chunk, sizeof(chunk), 0);
    if (n == 0) return true;
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno == ECONNRESET || errno == EPIPE;  // else the guard ran out (EAGAIN)
    }
  }
}

bool TestConnection::IsOpen() const {
  pollfd event{fd_, POLLIN | POLLRDHUP, 0};
  if (poll(&event, 1, 0) != 1) return true;  // nothing pending
  if ((event.revents & (POLLERR | POLLHUP | POLLRDHUP)) != 0) return false;
  char byte;
  return recv(fd_, &byte, 1, MSG_PEEK | MSG_DONTWAIT) > 0;  // data pending, or the end
}

std::string GetRequest(const std::string& path, const std::string& method) {
  return absl::StrCat(method, " ", path,
                      " HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: test\r\n\r\n");
}

DrippingClient::DrippingClient(TestConnection connection, int period_ms)
    : connection_(std::move(connection)) {
  thread_ = std::thread([this, period_ms] {
    // A request line, then one header that never ends.
    const std::string start = "GET /metrics HTTP/1.1\r\nX-Drip: ";
    for (int i = 0; !stop_.load(); ++i) {
      const char byte = i < static_cast<int>(start.size()) ? start[i] : 'a';
      if (!connection_.Send(std::string_view(&byte, 1)).ok()) {
        failed_ = true;
        return;
      }
      ++sent_;
      std::this_thread::sleep_for(std::chrono::milliseconds(period_ms));
    }
  });
}

DrippingClient::~DrippingClient() { Stop(); }

void DrippingClient::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

}  // namespace routeserve::testing
