// routeserve-cli: sends one SuggestRequest to a routeserve server and prints the response as
// proto JSON (DESIGN §7). The request comes from a proto JSON file (or stdin) or from the
// project's instance generator; --print-request prints it instead of calling the server.
// Plaintext by default; the TLS flags reach a server with server.tls set (docs/RELIABILITY.md).
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <tuple>

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "api/request.h"
#include "google/protobuf/util/json_util.h"
#include "routeserve/v1/route_service.grpc.pb.h"
#include "routing/generator.h"

namespace routeserve::cli {
namespace {

constexpr char kDefaultTarget[] = "127.0.0.1:50051";
constexpr double kDefaultDeadlineS = 10;  // so that the call never hangs
constexpr int kMaxGeneratedStops = 10'000;

// Exit statuses.
constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;  // the call failed, or the request or a TLS file could not be read
constexpr int kExitUsage = 2;

constexpr char kUsage[] =
    R"(usage: routeserve-cli [--target HOST:PORT] (--request FILE | --generate STOPS [--seed N]
                      [--windows none|loose|tight] [--matrix] [--end] [--visits SHARE])
                      [--deadline_s SECONDS] [--print-request]
                      [--tls] [--ca_file FILE] [--cert_file FILE --key_file FILE]
                      [--server_name NAME]

Sends one SuggestRequest to a routeserve server (RouteService.Suggest) and prints the
SuggestResponse on stdout as proto JSON: field names as the .proto spells them (snake_case),
fields at their zero value included.

  --target HOST:PORT    the server (default 127.0.0.1:50051)
  --request FILE        the request as proto JSON (either field-name style); "-" reads stdin
  --generate STOPS      a request made by the project's instance generator, 1 to 10000 stops
    --seed N            the generator's seed (default 1); the same seed gives the same request
    --windows KIND      time windows: none, loose or tight (default loose)
    --matrix            add a caller's travel-time matrix
    --end               the route must finish at an end position (by default, by chance)
    --visits SHARE      share of the stops that are visits, in [0, 1] (default 0)
  --deadline_s SECONDS  the call's deadline (default 10)
  --print-request       print the request as proto JSON and exit, without calling the server
  --help                print this text

TLS (the server's server.tls.*; plaintext without these flags, any of them turns TLS on):
  --tls                 TLS, trusting the system's CAs
  --ca_file FILE        trust the CA certificates in FILE (PEM) instead
  --cert_file FILE      present this client certificate (PEM), for mutual TLS; with --key_file
  --key_file FILE       the private key of --cert_file (PEM, unencrypted)
  --server_name NAME    the name the server's certificate must carry, when it is not the host
                        of --target (e.g. a tunnel to 127.0.0.1)

Exit status: 0 on success; 1 when the call fails (its status is printed on stderr as
"error: CODE: message"; a TLS handshake the server refuses is UNAVAILABLE) or the request or a
TLS file cannot be read; 2 on a usage error.
)";

struct Args {
  std::string target = kDefaultTarget;
  std::optional<std::string> request_file;
  std::optional<int> generate_stops;
  uint64_t seed = 1;
  routing::TimeWindowTightness windows = routing::TimeWindowTightness::kLoose;
  bool matrix = false;
  bool end = false;
  double visit_share = 0;
  double deadline_s = kDefaultDeadlineS;
  bool print_request = false;
  bool help = false;
  // TLS: on with --tls or any of the files or the name.
  bool tls = false;
  std::optional<std::string> ca_file;
  std::optional<std::string> cert_file;
  std::optional<std::string> key_file;
  std::optional<std::string> server_name;
};

// A usage error: what is wrong with the command line.
struct UsageError {
  std::string message;
};

bool TakesValue(const std::string& flag) {
  return flag == "--target" || flag == "--request" || flag == "--generate" || flag == "--seed" ||
         flag == "--windows" || flag == "--visits" || flag == "--deadline_s" ||
         flag == "--ca_file" || flag == "--cert_file" || flag == "--key_file" ||
         flag == "--server_name";
}

bool IsSwitch(const std::string& flag) {
  return flag == "--matrix" || flag == "--end" || flag == "--print-request" || flag == "--help" ||
         flag == "--tls";
}

bool IsGeneratorFlag(const std::string& flag) {
  return flag == "--seed" || flag == "--windows" || flag == "--matrix" || flag == "--end" ||
         flag == "--visits";
}

// Applies one flag; returns the problem with its value, if any.
std::optional<UsageError> Apply(const std::string& flag, const std::string& value, Args& args) {
  auto bad = [&](const std::string& what) { return UsageError{absl::StrCat(flag, ": ", what)}; };
  if (flag == "--target") {
    if (value.empty()) return bad("must not be empty");
    args.target = value;
  } else if (flag == "--request") {
    if (value.empty()) return bad("must name a file, or - for stdin");
    args.request_file = value;
  } else if (flag == "--generate") {
    int stops = 0;
    if (!absl::SimpleAtoi(value, &stops) || stops < 1 || stops > kMaxGeneratedStops) {
      return bad(
          absl::StrCat("\"", value, "\" is not a stop count in [1, ", kMaxGeneratedStops, "]"));
    }
    args.generate_stops = stops;
  } else if (flag == "--seed") {
    if (!absl::SimpleAtoi(value, &args.seed)) {
      return bad(absl::StrCat("\"", value, "\" is not a seed"));
    }
  } else if (flag == "--windows") {
    if (value == "none") {
      args.windows = routing::TimeWindowTightness::kNone;
    } else if (value == "loose") {
      args.windows = routing::TimeWindowTightness::kLoose;
    } else if (value == "tight") {
      args.windows = routing::TimeWindowTightness::kTight;
    } else {
      return bad(absl::StrCat("\"", value, "\" is not one of none, loose, tight"));
    }
  } else if (flag == "--visits") {
    if (!absl::SimpleAtod(value, &args.visit_share) ||
        !(args.visit_share >= 0 && args.visit_share <= 1)) {
      return bad(absl::StrCat("\"", value, "\" is not a share in [0, 1]"));
    }
  } else if (flag == "--deadline_s") {
    if (!absl::SimpleAtod(value, &args.deadline_s) || !std::isfinite(args.deadline_s) ||
        args.deadline_s <= 0) {
      return bad(absl::StrCat("\"", value, "\" is not a number of seconds > 0"));
    }
  } else if (flag == "--ca_file" || flag == "--cert_file" || flag == "--key_file" ||
             flag == "--server_name") {
    if (value.empty()) return bad("must not be empty");
    args.tls = true;
    std::optional<std::string>& field = flag == "--ca_file"     ? args.ca_file
                                        : flag == "--cert_file" ? args.cert_file
                                        : flag == "--key_file"  ? args.key_file
                                                                : args.server_name;
    field = value;
  } else if (flag == "--tls") {
    args.tls = true;
  } else if (flag == "--matrix") {
    args.matrix = true;
  } else if (flag == "--end") {
    args.end = true;
  } else if (flag == "--print-request") {
    args.print_request = true;
  } else if (flag == "--help") {
    args.help = true;
  }
  return std::nullopt;
}

// Flags are `--flag VALUE` or `--flag=VALUE`; each at most once.
std::optional<UsageError> ParseArgs(int argc, char** argv, Args& args) {
  std::map<std::string, bool> seen;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    std::optional<std::string> value;
    if (const size_t equals = flag.find('=');
        flag.rfind("--", 0) == 0 && equals != std::string::npos) {
      value = flag.substr(equals + 1);
      flag.resize(equals);
    }
    if (flag == "-h") flag = "--help";
    if (!TakesValue(flag) && !IsSwitch(flag)) {
      return UsageError{absl::StrCat("unknown argument ", argv[i])};
    }
    if (seen[flag]) return UsageError{absl::StrCat(flag, " given twice")};
    seen[flag] = true;
    if (IsSwitch(flag) && value.has_value()) {
      return UsageError{absl::StrCat(flag, " takes no value")};
    }
    if (TakesValue(flag) && !value.has_value()) {
      if (i + 1 >= argc) return UsageError{absl::StrCat(flag, " needs a value")};
      value = argv[++i];
    }
    if (std::optional<UsageError> error = Apply(flag, value.value_or(""), args)) return error;
  }
  if (args.help) return std::nullopt;
  if (args.request_file.has_value() == args.generate_stops.has_value()) {
    return UsageError{"give exactly one of --request and --generate"};
  }
  if (args.request_file.has_value()) {
    for (const auto& [flag, given] : seen) {
      if (IsGeneratorFlag(flag)) return UsageError{absl::StrCat(flag, " goes with --generate")};
    }
  }
  if (args.cert_file.has_value() != args.key_file.has_value()) {
    return UsageError{"--cert_file and --key_file go together"};
  }
  return std::nullopt;
}

struct ReadError {
  std::string message;
};

// The request from a proto JSON file ("-" is stdin); errors name the file.
std::optional<ReadError> ReadRequest(const std::string& file, v1::SuggestRequest& request) {
  const std::string name = file == "-" ? "stdin" : file;
  std::string text;
  if (file == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::ifstream in(file, std::ios::binary);
    if (!in) return ReadError{absl::StrCat(name, ": cannot open (", std::strerror(errno), ")")};
    std::ostringstream content;
    content << in.rdbuf();
    if (in.bad()) {
      return ReadError{absl::StrCat(name, ": cannot read (", std::strerror(errno), ")")};
    }
    text = content.str();
  }
  const auto status = google::protobuf::util::JsonStringToMessage(text, &request);
  if (!status.ok()) {
    const auto message = status.message();
    return ReadError{absl::StrCat(name, ": not a SuggestRequest in proto JSON: ",
                                  std::string(message.data(), message.size()))};
  }
  return std::nullopt;
}

// A PEM file for the TLS credentials; errors name the flag and the file.
std::optional<ReadError> ReadPem(const std::string& flag, const std::string& file,
                                 std::string& pem) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return ReadError{absl::StrCat(flag, ": ", file, ": cannot open (", std::strerror(errno), ")")};
  }
  pem.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (in.bad()) return ReadError{absl::StrCat(flag, ": ", file, ": cannot read")};
  return std::nullopt;
}

// The channel to --target: plaintext, or TLS as the flags say.
std::optional<ReadError> OpenChannel(const Args& args, std::shared_ptr<grpc::Channel>& channel) {
  if (!args.tls) {
    channel = grpc::CreateChannel(args.target, grpc::InsecureChannelCredentials());
    return std::nullopt;
  }
  grpc::SslCredentialsOptions options;  // empty roots: the system's
  for (const auto& [flag, file, pem] :
       {std::tuple{"--ca_file", &args.ca_file, &options.pem_root_certs},
        std::tuple{"--cert_file", &args.cert_file, &options.pem_cert_chain},
        std::tuple{"--key_file", &args.key_file, &options.pem_private_key}}) {
    if (!file->has_value()) continue;
    if (std::optional<ReadError> error = ReadPem(flag, **file, *pem)) return error;
  }
  grpc::ChannelArguments arguments;
  if (args.server_name.has_value()) arguments.SetSslTargetNameOverride(*args.server_name);
  channel = grpc::CreateCustomChannel(args.target, grpc::SslCredentials(options), arguments);
  return std::nullopt;
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

bool PrintJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(message, &json, options).ok()) {
    std::cerr << "error: cannot print the message as JSON\n";
    return false;
  }
  std::cout << json;
  if (json.empty() || json.back() != '\n') std::cout << '\n';
  std::cout.flush();
  return static_cast<bool>(std::cout);
}

// gRPC's codes are Abseil's, number for number: "INVALID_ARGUMENT", ...
std::string StatusCodeName(grpc::StatusCode code) {
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

int Suggest(const Args& args, const v1::SuggestRequest& request) {
  std::shared_ptr<grpc::Channel> channel;
  if (std::optional<ReadError> error = OpenChannel(args, channel)) {
    std::cerr << "error: " << error->message << "\n";
    return kExitFailure;
  }
  const std::unique_ptr<v1::RouteService::Stub> stub = v1::RouteService::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::duration_cast<std::chrono::system_clock::duration>(
                           std::chrono::duration<double>(args.deadline_s)));
  v1::SuggestResponse response;
  const grpc::Status status = stub->Suggest(&context, request, &response);
  if (!status.ok()) {
    std::cerr << "error: " << StatusCodeName(status.error_code()) << ": " << status.error_message()
              << "\n";
    return kExitFailure;
  }
  return PrintJson(response) ? kExitOk : kExitFailure;
}

int Main(int argc, char** argv) {
  Args args;
  if (std::optional<UsageError> error = ParseArgs(argc, argv, args)) {
    std::cerr << "routeserve-cli: " << error->message << "\n\n" << kUsage;
    return kExitUsage;
  }
  if (args.help) {
    std::cout << kUsage;
    return kExitOk;
  }
  v1::SuggestRequest request;
  if (args.request_file.has_value()) {
    if (std::optional<ReadError> error = ReadRequest(*args.request_file, request)) {
      std::cerr << "error: " << error->message << "\n";
      return kExitFailure;
    }
  } else {
    request = GenerateRequest(args);
  }
  if (args.print_request) return PrintJson(request) ? kExitOk : kExitFailure;
  return Suggest(args, request);
}

}  // namespace
}  // namespace routeserve::cli

int main(int argc, char** argv) { return routeserve::cli::Main(argc, argv); }
