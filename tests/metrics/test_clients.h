// Raw HTTP clients over loopback TCP, for the tests that play the clients a metrics endpoint
// meets: one that sends what it is told and reads answers one at a time, one that says nothing,
// one that drips its request a byte at a time, one that never reads.
//
// ADDRESSES: a client connects from the loopback address it is given: Linux routes all of
//   127.0.0.0/8 to the loopback interface, so that a test can be many clients, each with an
//   address of its own (the server's per-address limit counts them apart).
// GUARD: every wait (a connection, an answer, the server's close) gives up after kClientGuard,
//   so that a broken server fails the test rather than hangs it; no test asserts how long
//   anything took.
#pragma once

#include <atomic>
#include <map>
#include <string>
#include <string_view>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace routeserve::testing {

inline constexpr absl::Duration kClientGuard = absl::Seconds(30);

struct HttpAnswer {
  int status = 0;                              // 200, 404, ...
  std::map<std::string, std::string> headers;  // by lower-case name
  std::string body;

  // The value of header `name` (lower case); "" without one.
  std::string header(const std::string& name) const {
    const auto found = headers.find(name);
    return found == headers.end() ? "" : found->second;
  }
};

class TestConnection {
 public:
  // Connects to 127.0.0.1:port from `source`. With `receive_buffer` > 0, the socket's receive
  // buffer is set that small first (for a client that never reads: the server's answers back
  // up sooner).
  static absl::StatusOr<TestConnection> Open(int port, const std::string& source = "127.0.0.1",
                                             int receive_buffer = 0);
  TestConnection(TestConnection&& other) noexcept;
  TestConnection& operator=(TestConnection&& other) noexcept;
  TestConnection(const TestConnection&) = delete;
  ~TestConnection();

  // Sends all of `bytes`; an error when the server has closed the connection.
  absl::Status Send(std::string_view bytes);
  // Reads the next answer: its status line, headers, and its body of Content-Length bytes (none
  // for the answer to a HEAD request, `head`).
  absl::StatusOr<HttpAnswer> Read(bool head = false);
  // True when the server has closed the connection, once whatever it sent before is read:
  // the end of the stream or a reset. False when it is still open when the guard runs out.
  bool WaitForClose();
  // Whether the connection is still open now, seen without waiting or reading: neither the end
  // of the stream nor an error is pending.
  bool IsOpen() const;

  int fd() const { return fd_; }

 private:
  explicit TestConnection(int fd) : fd_(fd) {}
  // Reads more into buffer_; false at the end of the stream, on an error or past the guard.
  bool Fill();

  int fd_ = -1;
  std::string buffer_;  // read, not yet consumed
};

// `GET path` as a well-behaved HTTP/1.1 client writes it.
std::string GetRequest(const std::string& path = "/metrics", const std::string& method = "GET");

// A client that sends a request one byte at a time, one every `period`, on a thread of its own,
// and never finishes it (its header goes on and on), until stopped or the server closes.
class DrippingClient {
 public:
  DrippingClient(TestConnection connection, int period_ms);
  ~DrippingClient();  // stops

  // Stops dripping (the connection stays open).
  void Stop();
  // Bytes sent so far; the send that failed, if one did, is not counted.
  int sent() const { return sent_.load(); }
  // Whether a send has failed (the server closed the connection).
  bool failed() const { return failed_.load(); }
  TestConnection& connection() { return connection_; }

 private:
  TestConnection connection_;
  std::atomic<int> sent_{0};
  std::atomic<bool> failed_{false};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace routeserve::testing
