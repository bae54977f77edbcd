// routeserve-cli: sends one SuggestRequest to a routeserve server and prints the response as
// proto JSON (README.md, Ask for a route). The request comes from a proto JSON file (or stdin)
// or from the project's instance generator; --print-request prints it instead of calling the
// server. --health asks the standard health service instead, as a probe would. Plaintext by
// default; the TLS flags reach a server with server.tls set
// (docs/RELIABILITY.md).
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <tuple>

#include <grpcpp/grpcpp.h>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "api/request.h"
#include "google/protobuf/util/json_util.h"
#include "program/command_line.h"
#include "program/failure.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "routeserve/v1/route_service.grpc.pb.h"
#include "routing/generator.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "the server, HOST:PORT");
ABSL_FLAG(std::string, request, "",
          "the request as proto JSON (either field-name style) in FILE; - reads stdin");
ABSL_FLAG(std::optional<int>, generate, std::nullopt,
          "instead, a request of STOPS stops (1 to 10000) made by the project's instance "
          "generator, shaped by --seed, --windows, --matrix, --end and --visits");
ABSL_FLAG(uint64_t, seed, 1, "the generator's seed; the same seed gives the same request");
ABSL_FLAG(std::string, windows, "loose", "the generator's time windows: none, loose or tight");
ABSL_FLAG(bool, matrix, false, "the generator adds a caller's travel-time matrix");
ABSL_FLAG(bool, end, false, "the route must finish at an end position (by default, by chance)");
ABSL_FLAG(double, visits, 0, "the generator's share of the stops that are visits, in [0, 1]");
ABSL_FLAG(std::optional<std::string>, health, std::nullopt,
          "instead of a Suggest, ask the server's health service (grpc.health.v1.Health) for "
          "SERVICE: routeserve.v1.RouteService for readiness, \"\" for liveness; prints the "
          "status, exits 0 only when SERVING");
ABSL_FLAG(double, deadline_s, 10, "the call's deadline, seconds");
ABSL_FLAG(bool, print_request, false,
          "print the request as proto JSON and exit, without calling the server (also spelled "
          "--print-request)");
ABSL_FLAG(bool, tls, false, "TLS, trusting the system's CAs (plaintext without the TLS flags)");
ABSL_FLAG(std::string, ca_file, "",
          "TLS, trusting the CA certificates in FILE (PEM) instead of the system's");
ABSL_FLAG(std::string, cert_file, "",
          "TLS, presenting this client certificate (PEM), for mutual TLS; with --key_file");
ABSL_FLAG(std::string, key_file, "", "the private key of --cert_file (PEM, unencrypted)");
ABSL_FLAG(std::string, server_name, "",
          "TLS: the name the server's certificate must carry, when it is not the host of "
          "--target (e.g. a tunnel to 127.0.0.1)");

namespace routeserve::cli {
namespace {

constexpr int kMaxGeneratedStops = 10'000;
constexpr char kName[] = "routeserve-cli";

constexpr char kUsage[] =
    R"(usage: routeserve-cli [--target HOST:PORT] (--request FILE | --generate STOPS [--seed N]
                      [--windows none|loose|tight] [--matrix] [--end] [--visits SHARE]
                      | --health SERVICE)
                      [--deadline_s SECONDS] [--print-request]
                      [--tls] [--ca_file FILE] [--cert_file FILE --key_file FILE]
                      [--server_name NAME]

Sends one SuggestRequest to a routeserve server (RouteService.Suggest) and prints the
SuggestResponse on stdout as proto JSON: field names as the .proto spells them (snake_case),
fields at their zero value included. With --health, asks the server's standard health service
instead and prints the status (SERVING, NOT_SERVING, SERVICE_UNKNOWN), as an orchestrator's
probe would: --health routeserve.v1.RouteService for readiness, --health '' for liveness. Any
of the TLS flags turns TLS on (the server's server.tls.*).

Exit status: 0 on success (with --health: SERVING); 1 when the call fails or, with --health,
the status is not SERVING (its status is printed on stderr as
"error: CODE: message"; a TLS handshake the server refuses is UNAVAILABLE) or the request or a
TLS file cannot be read ("error: message"); 2 on a usage error.
)";

const program::CommandLineSpec& CliCommandLine() {
  static const program::CommandLineSpec spec = {.name = kName, .usage = kUsage};
  return spec;
}

struct Args {
  std::string target;
  std::optional<std::string> request_file;
  std::optional<int> generate_stops;
  std::optional<std::string> health_service;
  uint64_t seed = 1;
  routing::TimeWindowTightness windows = routing::TimeWindowTightness::kLoose;
  bool matrix = false;
  bool end = false;
  double visit_share = 0;
  double deadline_s = 0;
  bool print_request = false;
  // TLS: on with --tls or any of the files or the name.
  bool tls = false;
  std::optional<std::string> ca_file;
  std::optional<std::string> cert_file;
  std::optional<std::string> key_file;
  std::optional<std::string> server_name;
};

absl::Status Bad(absl::string_view flag, absl::string_view what) {
  return program::UsageError(absl::StrCat(flag, ": ", what));
}

// The generator's flags into `args`.
absl::Status ReadGeneratorFlags(Args& args) {
  args.seed = absl::GetFlag(FLAGS_seed);
  const std::string windows = absl::GetFlag(FLAGS_windows);
  if (windows == "none") {
    args.windows = routing::TimeWindowTightness::kNone;
  } else if (windows == "loose") {
    args.windows = routing::TimeWindowTightness::kLoose;
  } else if (windows == "tight") {
    args.windows = routing::TimeWindowTightness::kTight;
  } else {
    return Bad("--windows", absl::StrCat("\"", windows, "\" is not one of none, loose, tight"));
  }
  args.matrix = absl::GetFlag(FLAGS_matrix);
  args.end = absl::GetFlag(FLAGS_end);
  args.visit_share = absl::GetFlag(FLAGS_visits);
  if (!(args.visit_share >= 0 && args.visit_share <= 1)) {
    return Bad("--visits", absl::StrCat(args.visit_share, " is not a share in [0, 1]"));
  }
  return absl::OkStatus();
}

// The TLS flags into `args`: a file or a name given is never empty.
absl::Status ReadTlsFlags(const program::CommandLine& command_line, Args& args) {
  args.tls = absl::GetFlag(FLAGS_tls);
  for (const auto& [name, flag, field] :
       {std::tuple{"ca_file", &FLAGS_ca_file, &args.ca_file},
        std::tuple{"cert_file", &FLAGS_cert_file, &args.cert_file},
        std::tuple{"key_file", &FLAGS_key_file, &args.key_file},
        std::tuple{"server_name", &FLAGS_server_name, &args.server_name}}) {
    if (!command_line.Given(name)) continue;
    *field = absl::GetFlag(*flag);
    if ((*field)->empty()) return Bad(absl::StrCat("--", name), "must not be empty");
    args.tls = true;
  }
  if (args.cert_file.has_value() != args.key_file.has_value()) {
    return program::UsageError("--cert_file and --key_file go together");
  }
  return absl::OkStatus();
}

absl::StatusOr<Args> ArgsFromFlags(const program::CommandLine& command_line) {
  Args args;
  args.target = absl::GetFlag(FLAGS_target);
  if (args.target.empty()) return Bad("--target", "must not be empty");
  if (command_line.Given("request")) {
    args.request_file = absl::GetFlag(FLAGS_request);
    if (args.request_file->empty()) return Bad("--request", "must name a file, or - for stdin");
  }
  if (command_line.Given("generate")) {
    args.generate_stops = absl::GetFlag(FLAGS_generate);
    if (!args.generate_stops.has_value() || *args.generate_stops < 1 ||
        *args.generate_stops > kMaxGeneratedStops) {
      return Bad("--generate", absl::StrCat("not a stop count in [1, ", kMaxGeneratedStops, "]"));
    }
  }
  if (command_line.Given("health")) args.health_service = absl::GetFlag(FLAGS_health).value_or("");
  if (static_cast<int>(args.request_file.has_value()) + args.generate_stops.has_value() +
          args.health_service.has_value() != 1) {
    return program::UsageError("give exactly one of --request, --generate and --health");
  }
  if (args.health_service.has_value() && command_line.Given("print_request")) {
    return Bad("--print_request", "goes with --request or --generate");
  }
  if (!args.generate_stops.has_value()) {
    for (const char* flag : {"seed", "windows", "matrix", "end", "visits"}) {
      if (command_line.Given(flag)) return Bad(absl::StrCat("--", flag), "goes with --generate");
    }
  }
  if (absl::Status status = ReadGeneratorFlags(args); !status.ok()) return status;
  args.deadline_s = absl::GetFlag(FLAGS_deadline_s);
  if (!std::isfinite(args.deadline_s) || args.deadline_s <= 0) {
    return Bad("--deadline_s", absl::StrCat(args.deadline_s, " is not a number of seconds > 0"));
  }
  args.print_request = absl::GetFlag(FLAGS_print_request);
  if (absl::Status status = ReadTlsFlags(command_line, args); !status.ok()) return status;
  return args;
}

// The request from a proto JSON file ("-" is stdin); errors name the file.
absl::Status ReadRequest(const std::string& file, v1::SuggestRequest& request) {
  const std::string name = file == "-" ? "stdin" : file;
  std::string text;
  if (file == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      return absl::NotFoundError(absl::StrCat(name, ": cannot open (", std::strerror(errno), ")"));
    }
    std::ostringstream content;
    content << in.rdbuf();
    if (in.bad()) {
      return absl::DataLossError(
          absl::StrCat(name, ": cannot read (", std::strerror(errno), ")"));
    }
    text = content.str();
  }
  const auto status = google::protobuf::util::JsonStringToMessage(text, &request);
  if (!status.ok()) {
    const auto message = status.message();
    return absl::InvalidArgumentError(absl::StrCat(name, ": not a SuggestRequest in proto JSON: ",
                                                   std::string(message.data(), message.size())));
  }
  return absl::OkStatus();
}

// A PEM file for the TLS credentials; errors name the flag and the file.
absl::Status ReadPem(const std::string& flag, const std::string& file, std::string& pem) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat(flag, ": ", file, ": cannot open (", std::strerror(errno), ")"));
  }
  pem.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (in.bad()) return absl::DataLossError(absl::StrCat(flag, ": ", file, ": cannot read"));
  return absl::OkStatus();
}

// The channel to --target: plaintext, or TLS as the flags say.
absl::StatusOr<std::shared_ptr<grpc::Channel>> OpenChannel(const Args& args) {
  if (!args.tls) return grpc::CreateChannel(args.target, grpc::InsecureChannelCredentials());
  grpc::SslCredentialsOptions options;  // empty roots: the system's
  for (const auto& [flag, file, pem] :
       {std::tuple{"--ca_file", &args.ca_file, &options.pem_root_certs},
        std::tuple{"--cert_file", &args.cert_file, &options.pem_cert_chain},
        std::tuple{"--key_file", &args.key_file, &options.pem_private_key}}) {
    if (!file->has_value()) continue;
    if (absl::Status read = ReadPem(flag, **file, *pem); !read.ok()) return read;
  }
  grpc::ChannelArguments arguments;
  if (args.server_name.has_value()) arguments.SetSslTargetNameOverride(*args.server_name);
  return grpc::CreateCustomChannel(args.target, grpc::SslCredentials(options), arguments);
}

v1::SuggestRequest GenerateRequest(const Args& args) {
  routing::GeneratorOptions options;
  options.num_stops = *args.generate_stops;
  options.windows = args.windows;
  options.caller_matrix = args.matrix;
  options.visit_share = args.visit_share;
  if (args.end) options.end_position_probability = 1;
  return api::ToSuggestRequest(routing::GenerateProblem(options, args.seed));
}

absl::Status PrintJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(message, &json, options).ok()) {
    return absl::InternalError("cannot print the message as JSON");
  }
  std::cout << json;
  if (json.empty() || json.back() != '\n') std::cout << '\n';
  std::cout.flush();
  if (!std::cout) return absl::DataLossError("cannot write to stdout");
  return absl::OkStatus();
}

std::chrono::system_clock::time_point Deadline(const Args& args) {
  return std::chrono::system_clock::now() +
         std::chrono::duration_cast<std::chrono::system_clock::duration>(
             std::chrono::duration<double>(args.deadline_s));
}

// A failed call is "CODE: message", the code gRPC's (whose codes are Abseil's, number for
// number): "INVALID_ARGUMENT: stops[3].time_window: earliest after latest".
absl::Status CallError(const grpc::Status& status) {
  const auto code = static_cast<absl::StatusCode>(status.error_code());
  return absl::Status(code,
                      absl::StrCat(absl::StatusCodeToString(code), ": ", status.error_message()));
}

absl::Status Suggest(const Args& args, const v1::SuggestRequest& request) {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = OpenChannel(args);
  if (!channel.ok()) return channel.status();
  const std::unique_ptr<v1::RouteService::Stub> stub = v1::RouteService::NewStub(*channel);
  grpc::ClientContext context;
  context.set_deadline(Deadline(args));
  v1::SuggestResponse response;
  const grpc::Status status = stub->Suggest(&context, request, &response);
  if (!status.ok()) return CallError(status);
  return PrintJson(response);
}

// The health service's answer for `service`, printed; not SERVING is an error.
absl::Status CheckHealth(const Args& args, const std::string& service) {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = OpenChannel(args);
  if (!channel.ok()) return channel.status();
  const std::unique_ptr<grpc::health::v1::Health::Stub> stub =
      grpc::health::v1::Health::NewStub(*channel);
  grpc::ClientContext context;
  context.set_deadline(Deadline(args));
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  if (const grpc::Status status = stub->Check(&context, request, &response); !status.ok()) {
    return CallError(status);
  }
  const std::string name = grpc::health::v1::HealthCheckResponse::ServingStatus_Name(
      response.status());
  std::cout << name << '\n' << std::flush;
  if (response.status() != grpc::health::v1::HealthCheckResponse::SERVING) {
    return absl::UnavailableError(absl::StrCat("\"", service, "\" is ", name));
  }
  return absl::OkStatus();
}

absl::Status Run(const Args& args) {
  if (args.health_service.has_value()) return CheckHealth(args, *args.health_service);
  v1::SuggestRequest request;
  if (args.request_file.has_value()) {
    if (absl::Status read = ReadRequest(*args.request_file, request); !read.ok()) return read;
  } else {
    request = GenerateRequest(args);
  }
  if (args.print_request) return PrintJson(request);
  return Suggest(args, request);
}

int Main(int argc, char** argv) {
  const program::CommandLine command_line =
      program::ParseCommandLine(argc, argv, CliCommandLine());
  const absl::StatusOr<Args> args = ArgsFromFlags(command_line);
  if (!args.ok()) return program::Exit(kName, args.status());
  // Failures of the call and of reading the files are "error: ..." (README.md, Ask for a route).
  return program::Exit("error", Run(*args));
}

}  // namespace
}  // namespace routeserve::cli

int main(int argc, char** argv) { return routeserve::cli::Main(argc, argv); }
