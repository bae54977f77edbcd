// selftest.json: reading its problems (routing::RouteProblem's fields, as JSON) and running
// them. yaml-cpp reads the JSON (a subset of YAML) and throws; its exceptions stop in
// ParseSelfTest.
#include "model/selftest.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "model/yaml_fields.h"
#include "routing/validation.h"

namespace routeserve::model {
namespace {

// Values of one case, errors naming "source: cases[i].problem.<dotted>".
class CaseReader {
 public:
  CaseReader(const FieldReader& reader, std::string prefix)
      : reader_(reader), prefix_(std::move(prefix)) {}

  std::string Key(const std::string& dotted) const { return prefix_ + dotted; }
  const FieldReader& fields() const { return reader_; }

  absl::StatusOr<routing::LatLng> Position(const YAML::Node& map, const std::string& dotted) const {
    absl::StatusOr<double> lat = reader_.Number(map, "lat_deg", Key(dotted + "lat_deg"));
    if (!lat.ok()) return lat.status();
    absl::StatusOr<double> lng = reader_.Number(map, "lng_deg", Key(dotted + "lng_deg"));
    if (!lng.ok()) return lng.status();
    return routing::LatLng{.lat_deg = *lat, .lng_deg = *lng};
  }

  // An optional integer: nullopt when absent.
  absl::StatusOr<std::optional<int64_t>> OptionalInteger(const YAML::Node& map,
                                                         const std::string& key,
                                                         const std::string& dotted) const {
    if (!HasField(map, key)) return std::optional<int64_t>();
    absl::StatusOr<int64_t> value = reader_.Integer(map, key, Key(dotted), INT64_MIN);
    if (!value.ok()) return value.status();
    return std::optional<int64_t>(*value);
  }

 private:
  const FieldReader& reader_;
  const std::string prefix_;
};

absl::Status ReadCourier(const YAML::Node& problem, const CaseReader& r, routing::Courier& out) {
  const FieldReader& f = r.fields();
  absl::StatusOr<YAML::Node> courier = f.Map(problem, "courier", r.Key("courier"));
  if (!courier.ok()) return courier.status();
  absl::StatusOr<routing::LatLng> position = r.Position(*courier, "courier.");
  if (!position.ok()) return position.status();
  out.position = *position;
  absl::StatusOr<int64_t> now = f.Integer(*courier, "now", r.Key("courier.now"), INT64_MIN);
  if (!now.ok()) return now.status();
  out.now = *now;
  absl::StatusOr<int64_t> capacity =
      f.Integer(*courier, "capacity", r.Key("courier.capacity"), INT64_MIN);
  if (!capacity.ok()) return capacity.status();
  out.capacity = *capacity;
  absl::StatusOr<std::string> vehicle = f.String(*courier, "vehicle", r.Key("courier.vehicle"));
  if (!vehicle.ok()) return vehicle.status();
  bool known = false;
  for (int type = 0; type < routing::kNumVehicleTypes && !known; ++type) {
    const auto candidate = static_cast<routing::VehicleType>(type);
    known = routing::VehicleTypeName(candidate) == *vehicle;
    if (known) out.vehicle = candidate;
  }
  if (!known) {
    return f.Error(r.Key("courier.vehicle"),
                   absl::StrCat("expected bike, scooter, car or van, got \"", *vehicle, "\""));
  }
  if (HasField(*courier, "speed_mps")) {
    absl::StatusOr<double> speed = f.Number(*courier, "speed_mps", r.Key("courier.speed_mps"));
    if (!speed.ok()) return speed.status();
    out.speed_mps = *speed;
  }
  return absl::OkStatus();
}

absl::StatusOr<routing::Stop> ReadStop(const YAML::Node& node, const CaseReader& r,
                                       const std::string& dotted) {
  const FieldReader& f = r.fields();
  if (!node.IsMap()) {
    return f.Error(r.Key(dotted), absl::StrCat("expected a map, got ", DescribeNode(node)));
  }
  routing::Stop stop;
  absl::StatusOr<std::string> id = f.String(node, "id", r.Key(dotted + ".id"));
  if (!id.ok()) return id.status();
  stop.id = *id;
  absl::StatusOr<routing::LatLng> position = r.Position(node, dotted + ".");
  if (!position.ok()) return position.status();
  stop.position = *position;
  absl::StatusOr<std::string> kind = f.String(node, "kind", r.Key(dotted + ".kind"));
  if (!kind.ok()) return kind.status();
  if (*kind == "pickup") {
    stop.kind = routing::StopKind::kPickup;
  } else if (*kind == "dropoff") {
    stop.kind = routing::StopKind::kDropoff;
  } else if (*kind == "visit") {
    stop.kind = routing::StopKind::kVisit;
  } else {
    return f.Error(r.Key(dotted + ".kind"),
                   absl::StrCat("expected pickup, dropoff or visit, got \"", *kind, "\""));
  }
  if (HasField(node, "order_id")) {
    absl::StatusOr<std::string> order = f.String(node, "order_id", r.Key(dotted + ".order_id"));
    if (!order.ok()) return order.status();
    stop.order_id = *order;
  }
  for (auto [key, field] : {std::pair{"earliest", &stop.window.earliest},
                            std::pair{"latest", &stop.window.latest}}) {
    absl::StatusOr<std::optional<int64_t>> value =
        r.OptionalInteger(node, key, absl::StrCat(dotted, ".", key));
    if (!value.ok()) return value.status();
    *field = *value;
  }
  for (auto [key, field] :
       {std::pair{"service_s", &stop.service_s}, std::pair{"load", &stop.load}}) {
    absl::StatusOr<int64_t> value = f.Integer(node, key, r.Key(absl::StrCat(dotted, ".", key)), 0);
    if (!value.ok()) return value.status();
    *field = *value;
  }
  return stop;
}

absl::StatusOr<routing::RouteProblem> ReadProblem(const YAML::Node& problem,
                                                  const CaseReader& r) {
  const FieldReader& f = r.fields();
  routing::RouteProblem out;
  if (absl::Status courier = ReadCourier(problem, r, out.courier); !courier.ok()) return courier;
  absl::StatusOr<YAML::Node> stops = f.List(problem, "stops", r.Key("stops"));
  if (!stops.ok()) return stops.status();
  for (size_t i = 0; i < stops->size(); ++i) {
    absl::StatusOr<routing::Stop> stop = ReadStop((*stops)[i], r, absl::StrCat("stops[", i, "]"));
    if (!stop.ok()) return stop.status();
    out.stops.push_back(*std::move(stop));
  }
  if (HasField(problem, "end_position")) {
    absl::StatusOr<YAML::Node> end = f.Map(problem, "end_position", r.Key("end_position"));
    if (!end.ok()) return end.status();
    absl::StatusOr<routing::LatLng> position = r.Position(*end, "end_position.");
    if (!position.ok()) return position.status();
    out.end_position = *position;
  }
  if (HasField(problem, "travel_times_s")) {
    absl::StatusOr<YAML::Node> matrix = f.List(problem, "travel_times_s", r.Key("travel_times_s"));
    if (!matrix.ok()) return matrix.status();
    routing::TravelTimeMatrix times;
    times.side = static_cast<int>(out.stops.size()) + 1 + (out.end_position ? 1 : 0);
    if (matrix->size() != static_cast<size_t>(times.side) * times.side) {
      return f.Error(r.Key("travel_times_s"),
                     absl::StrCat("expected ", times.side, " x ", times.side, " entries, got ",
                                  matrix->size()));
    }
    for (size_t i = 0; i < matrix->size(); ++i) {
      absl::StatusOr<double> seconds =
          f.Number((*matrix)[i], r.Key(absl::StrCat("travel_times_s[", i, "]")));
      if (!seconds.ok()) return seconds.status();
      times.seconds.push_back(*seconds);
    }
    out.travel_times = std::move(times);
  }
  return out;
}

absl::StatusOr<SelfTestCase> ReadCase(const YAML::Node& node, const FieldReader& f, size_t index) {
  const std::string at = absl::StrCat("cases[", index, "]");
  if (!node.IsMap()) return f.Error(at, absl::StrCat("expected a map, got ", DescribeNode(node)));
  SelfTestCase out;
  absl::StatusOr<std::string> name = f.String(node, "name", at + ".name");
  if (!name.ok()) return name.status();
  out.name = *name;
  absl::StatusOr<int64_t> padded = f.Integer(node, "padded_size", at + ".padded_size", 1, INT_MAX);
  if (!padded.ok()) return padded.status();
  out.padded_size = static_cast<int>(*padded);
  absl::StatusOr<double> cost = f.Number(node, "cost", at + ".cost");
  if (!cost.ok()) return cost.status();
  out.cost = *cost;
  absl::StatusOr<YAML::Node> problem = f.Map(node, "problem", at + ".problem");
  if (!problem.ok()) return problem.status();
  absl::StatusOr<routing::RouteProblem> read =
      ReadProblem(*problem, CaseReader(f, at + ".problem."));
  if (!read.ok()) return read.status();
  out.problem = *std::move(read);
  return out;
}

absl::StatusOr<SelfTest> ReadSelfTest(const YAML::Node& root, const FieldReader& f) {
  if (!root.IsMap()) {
    return absl::InvalidArgumentError(
        absl::StrCat(f.source(), ": expected a map of keys, got ", DescribeNode(root)));
  }
  absl::StatusOr<int64_t> format = f.Integer(root, "format", "format", INT64_MIN);
  if (!format.ok()) return format.status();
  if (*format != kSelfTestFormat) {
    return f.Error("format", absl::StrCat("this server reads format ", kSelfTestFormat,
                                          ", got ", *format));
  }
  SelfTest out;
  absl::StatusOr<int64_t> decodings = f.Integer(root, "decodings", "decodings", 1, INT_MAX);
  if (!decodings.ok()) return decodings.status();
  out.decodings = static_cast<int>(*decodings);
  absl::StatusOr<YAML::Node> cases = f.List(root, "cases", "cases");
  if (!cases.ok()) return cases.status();
  if (cases->size() == 0) return f.Error("cases", "empty: a self-test needs at least one case");
  for (size_t i = 0; i < cases->size(); ++i) {
    absl::StatusOr<SelfTestCase> read = ReadCase((*cases)[i], f, i);
    if (!read.ok()) return read.status();
    out.cases.push_back(*std::move(read));
  }
  return out;
}

}  // namespace

absl::StatusOr<SelfTest> ParseSelfTest(const std::string& json_text, const std::string& source) {
  const FieldReader reader(source);
  try {
    return ReadSelfTest(YAML::Load(json_text), reader);
  } catch (const YAML::ParserException& e) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": syntax error at line ",
                                                   e.mark.line + 1, ", column ",
                                                   e.mark.column + 1, ": ", e.msg));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": ", e.what()));
  }
}

absl::Status CheckSelfTestReach(const SelfTest& selftest, const ModelMetadata& metadata,
                                const std::string& source) {
  int reach = 0;
  for (const SelfTestCase& c : selftest.cases) reach = std::max(reach, c.padded_size);
  if (reach == metadata.max_stops) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      kMetadataFileName, ": max_stops: ", metadata.max_stops, ", but the model was sealed for ",
      reach, " (the largest N of ", source, ")"));
}

absl::Status RunSelfTest(const SelfTest& selftest, const routing::ObjectiveParams& objective,
                         const std::string& source, const DecodeFn& decode) {
  for (const SelfTestCase& c : selftest.cases) {
    auto failed = [&](absl::StatusCode code, absl::string_view why) {
      return absl::Status(code, absl::StrCat(source, ": ", c.name, ": ", why));
    };
    if (absl::Status valid = routing::ValidateProblem(c.problem); !valid.ok()) {
      return failed(absl::StatusCode::kInvalidArgument, valid.message());
    }
    absl::StatusOr<routing::Instance> instance = routing::Instance::Build(c.problem, objective);
    if (!instance.ok()) {
      return failed(absl::StatusCode::kInvalidArgument, instance.status().message());
    }
    absl::StatusOr<std::vector<Decoding>> decodings =
        decode(*instance, c.padded_size, selftest.decodings);
    if (!decodings.ok()) return failed(decodings.status().code(), decodings.status().message());
    const double got = BestDecoding(*decodings).cost;
    if (std::abs(got - c.cost) > kSelfTestTolerance * std::max(1.0, std::abs(c.cost))) {
      return failed(absl::StatusCode::kDataLoss,
                    absl::StrFormat("the model's best route costs %.17g, the self-test "
                                    "recorded %.17g (tolerance %g relative): the model does not "
                                    "answer as it did when sealed",
                                    got, c.cost, kSelfTestTolerance));
    }
  }
  return absl::OkStatus();
}

}  // namespace routeserve::model
