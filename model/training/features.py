"""Feature encoding v1 of the route model: the Python twin of the C++ encoder (docs/MODEL.md).

Defines the problem as parsed from the proto JSON of a `SuggestRequest` (`parse_request`), the
objective's parameters (`Objective`), the travel times and per-stop quantities the evaluator
needs (`Instance`, the twin of routing::Instance), and the encoder: `encode(problem, N)` for one
problem, `encode_batch(problems, N)` for a padded batch, both returning numpy arrays with the
names and dtypes of the model's `forward` inputs. `load_jsonl` reads the datagen tool's lines.
`decoding_noise(problem, K, N)` is the Gumbel noise the server gives a problem's decodings.

Arithmetic is float64 throughout and only the outputs are float32, so that the C++ encoder and
this one agree to float32 rounding.
"""

from __future__ import annotations

import dataclasses
import json
import math
import struct
from typing import Any, Dict, Iterable, List, Optional, Sequence

import numpy as np

FEATURE_VERSION = 1
NODE_FEATURES = 16
COURIER_FEATURES = 8
BUCKETS = (8, 16, 32, 64, 128)

EARTH_RADIUS_M = 6371008.8  # mean radius (IUGG), as routing/travel_time.h
MIN_DIST_SCALE_M = 1000.0
MIN_TIME_SCALE_S = 60.0
REF_TIME_S = 1800.0  # courier feature 5 is ln(time_scale / 1800 s)
REF_DIST_M = 4000.0  # courier feature 6 is ln(dist_scale / 4000 m)
TIME_CLIP = 10.0  # normalised times are clipped to [-10, 10], travel times to [0, 10]

VEHICLES = ("bike", "scooter", "car", "van")  # routing::VehicleType order
PICKUP, DROPOFF, VISIT = 0, 1, 2


@dataclasses.dataclass(frozen=True)
class Objective:
    """The objective's parameters (routing/objective.h); the defaults are the server's."""

    lateness_weight: float = 10.0
    waiting_weight: float = 0.0
    detour_factor: float = 1.3
    speed_mps: Dict[str, float] = dataclasses.field(
        default_factory=lambda: {"bike": 4.5, "scooter": 6.5, "car": 8.0, "van": 7.0})

    def as_dict(self) -> Dict[str, Any]:
        return {"lateness_weight": self.lateness_weight, "waiting_weight": self.waiting_weight,
                "detour_factor": self.detour_factor, "speed_mps": dict(self.speed_mps)}


DEFAULT_OBJECTIVE = Objective()


@dataclasses.dataclass
class Stop:
    id: str
    lat: float
    lng: float
    kind: int  # PICKUP, DROPOFF or VISIT
    order_id: str = ""
    earliest: Optional[int] = None  # unix seconds; None is unbounded
    latest: Optional[int] = None
    service_s: int = 0
    load: int = 0


@dataclasses.dataclass
class Problem:
    """One request's problem (routing/problem.h), with the datagen tool's label when known."""

    lat: float  # the courier's position
    lng: float
    now: int
    vehicle: str  # one of VEHICLES
    capacity: int
    speed_mps: Optional[float]
    stops: List[Stop]
    end: Optional[tuple] = None  # (lat, lng)
    matrix: Optional[List[float]] = None  # row-major, side 1 + n (+ 1 with an end position)
    # From a datagen line (absent for a bare request):
    order: Optional[List[int]] = None
    cost: Optional[float] = None
    optimal: Optional[bool] = None
    seed: Optional[int] = None
    regime: Optional[str] = None

    @property
    def num_stops(self) -> int:
        return len(self.stops)


# ---- Parsing proto JSON ------------------------------------------------------------------------

def _get(message: Dict[str, Any], name: str, default: Any = None) -> Any:
    """A field by its proto name or its JSON (lowerCamelCase) name; absent means default."""
    if name in message:
        return message[name]
    parts = name.split("_")
    camel = parts[0] + "".join(p[:1].upper() + p[1:] for p in parts[1:])
    return message.get(camel, default)


def _int64(value: Any) -> int:
    return int(value) if value is not None else 0  # proto JSON writes int64 as strings


def _enum(value: Any, prefix: str, names: Sequence[str]) -> int:
    """Index into `names` of an enum given by name (PREFIX_NAME) or number (1-based)."""
    if isinstance(value, str):
        if not value.startswith(prefix):
            raise ValueError(f"unknown enum value {value!r}")
        name = value[len(prefix):].lower()
        if name not in names:
            raise ValueError(f"unknown enum value {value!r}")
        return names.index(name)
    number = int(value or 0)
    if not 1 <= number <= len(names):
        raise ValueError(f"enum value {number} must be one of 1..{len(names)}")
    return number - 1


def _position(message: Optional[Dict[str, Any]]) -> tuple:
    message = message or {}
    return float(_get(message, "lat_deg", 0.0)), float(_get(message, "lng_deg", 0.0))


def parse_request(request: Dict[str, Any]) -> Problem:
    """A Problem from a SuggestRequest in proto JSON (snake_case or lowerCamelCase names)."""
    courier = _get(request, "courier") or {}
    lat, lng = _position(_get(courier, "position"))
    speed = _get(courier, "speed_mps")
    stops = []
    for i, message in enumerate(_get(request, "stops") or []):
        s_lat, s_lng = _position(_get(message, "position"))
        window = _get(message, "time_window") or {}
        earliest = _int64(_get(window, "earliest"))
        latest = _int64(_get(window, "latest"))
        stops.append(Stop(
            id=str(_get(message, "id", f"s{i}")), lat=s_lat, lng=s_lng,
            kind=_enum(_get(message, "kind"), "STOP_KIND_", ("pickup", "dropoff", "visit")),
            order_id=str(_get(message, "order_id", "")),
            earliest=earliest or None, latest=latest or None,  # proto's 0 is unbounded
            service_s=_int64(_get(message, "service_s")), load=_int64(_get(message, "load"))))
    end = _get(request, "end_position")
    matrix = _get(request, "travel_time_matrix_s")
    return Problem(
        lat=lat, lng=lng, now=_int64(_get(courier, "now")),
        vehicle=VEHICLES[_enum(_get(courier, "vehicle_type"), "VEHICLE_TYPE_", VEHICLES)],
        capacity=_int64(_get(courier, "capacity")),
        speed_mps=float(speed) if speed is not None else None,
        stops=stops,
        end=_position(end) if end is not None else None,
        matrix=[float(x) for x in matrix] if matrix else None)


def parse_line(line: str) -> Problem:
    """A Problem with its label from one line of routeserve-datagen's output."""
    record = json.loads(line)
    problem = parse_request(record["request"])
    problem.order = [int(i) for i in record["order"]] if "order" in record else None
    problem.cost = float(record["cost"]) if "cost" in record else None
    problem.optimal = bool(record.get("optimal", False))
    problem.seed = int(record["seed"]) if "seed" in record else None
    problem.regime = record.get("regime")
    return problem


def load_jsonl(path: str, limit: Optional[int] = None) -> List[Problem]:
    """The problems of a datagen JSONL file (blank lines skipped), at most `limit` of them."""
    problems = []
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            if limit is not None and len(problems) >= limit:
                break
            if line.strip():
                problems.append(parse_line(line))
    return problems


# ---- Travel times and the instance (routing/travel_time.cc, routing/instance.cc) ---------------

def haversine_m(lat_a: float, lng_a: float, lat_b: float, lng_b: float) -> float:
    """Great-circle distance in metres, with the operations of routing::HaversineM."""
    rad = math.pi / 180.0
    lat1 = lat_a * rad
    lat2 = lat_b * rad
    sin_dlat = math.sin((lat2 - lat1) / 2)
    sin_dlng = math.sin((lng_b - lng_a) * rad / 2)
    h = sin_dlat * sin_dlat + math.cos(lat1) * math.cos(lat2) * sin_dlng * sin_dlng
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, h)))


def positions(problem: Problem) -> List[tuple]:
    """Node positions: the courier, the stops in problem order, the end position if any."""
    points = [(problem.lat, problem.lng)] + [(s.lat, s.lng) for s in problem.stops]
    if problem.end is not None:
        points.append(problem.end)
    return points


def travel_matrix_s(problem: Problem, objective: Objective = DEFAULT_OBJECTIVE) -> np.ndarray:
    """Seconds between nodes [side, side]: the caller's matrix if given, else the model's."""
    points = positions(problem)
    side = len(points)
    if problem.matrix is not None:
        if len(problem.matrix) != side * side:
            raise ValueError(f"travel_time_matrix_s: expected {side}x{side} entries, "
                             f"got {len(problem.matrix)}")
        return np.asarray(problem.matrix, dtype=np.float64).reshape(side, side)
    speed = problem.speed_mps if problem.speed_mps is not None else \
        objective.speed_mps[problem.vehicle]
    travel = np.zeros((side, side), dtype=np.float64)
    for a in range(side):
        for b in range(side):
            if a != b:
                road = haversine_m(*points[a], *points[b]) * objective.detour_factor
                travel[a, b] = road / speed
    return travel


@dataclasses.dataclass
class Instance:
    """A problem prepared for evaluation, as routing::Instance: times relative to `now`."""

    travel_s: np.ndarray  # [side, side], node 0 the courier, i + 1 stop i, n + 1 the end
    earliest: np.ndarray  # [n], -inf where unbounded
    latest: np.ndarray  # [n], +inf where unbounded
    service_s: np.ndarray  # [n]
    load_delta: np.ndarray  # [n] int64: +load at a pickup, -load at a dropoff
    partner: np.ndarray  # [n] int64: the other stop of the order, -1 for visits and on board
    is_pickup: np.ndarray  # [n] bool
    initial_load: int
    capacity: int
    has_end: bool
    objective: Objective

    @property
    def num_stops(self) -> int:
        return len(self.earliest)


def pairing(problem: Problem) -> np.ndarray:
    """Each stop's partner index (pickup <-> dropoff of one order), -1 without one."""
    n = problem.num_stops
    partner = np.full(n, -1, dtype=np.int64)
    pickup_of = {}
    for i, stop in enumerate(problem.stops):
        if stop.kind == PICKUP:
            if stop.order_id in pickup_of:
                raise ValueError(f"stops[{i}].order_id: a second pickup of '{stop.order_id}'")
            pickup_of[stop.order_id] = i
    for i, stop in enumerate(problem.stops):
        if stop.kind == DROPOFF and stop.order_id in pickup_of:
            p = pickup_of[stop.order_id]
            if partner[p] != -1:
                raise ValueError(f"stops[{i}].order_id: a second dropoff of '{stop.order_id}'")
            partner[p] = i
            partner[i] = p
    for i, stop in enumerate(problem.stops):
        if stop.kind == PICKUP and partner[i] == -1:
            raise ValueError(f"stops[{i}].order_id: pickup without a dropoff")
    return partner


def build_instance(problem: Problem, objective: Objective = DEFAULT_OBJECTIVE) -> Instance:
    n = problem.num_stops
    partner = pairing(problem)
    now = problem.now
    earliest = np.array([float(s.earliest - now) if s.earliest is not None else -math.inf
                         for s in problem.stops], dtype=np.float64)
    latest = np.array([float(s.latest - now) if s.latest is not None else math.inf
                       for s in problem.stops], dtype=np.float64)
    delta = np.zeros(n, dtype=np.int64)
    initial = 0
    for i, stop in enumerate(problem.stops):
        if stop.kind == PICKUP:
            delta[i] = stop.load
        elif stop.kind == DROPOFF:
            delta[i] = -stop.load
            if partner[i] == -1:
                initial += stop.load  # on board already
    return Instance(
        travel_s=travel_matrix_s(problem, objective), earliest=earliest, latest=latest,
        service_s=np.array([float(s.service_s) for s in problem.stops], dtype=np.float64),
        load_delta=delta, partner=partner,
        is_pickup=np.array([s.kind == PICKUP for s in problem.stops], dtype=bool),
        initial_load=initial, capacity=problem.capacity, has_end=problem.end is not None,
        objective=objective)


# ---- The encoder (docs/MODEL.md) ---------------------------------------------------------------

def project(lat: float, lng: float, lat0: float, lng0: float) -> tuple:
    """(east, north) in metres on the equirectangular plane around (lat0, lng0)."""
    dlng = lng - lng0
    # Wrapped into [-180, 180) only when outside, so that ordinary differences stay exact
    # (the same operations as the C++ encoder).
    if dlng < -180.0 or dlng >= 180.0:
        dlng = math.fmod(dlng + 180.0, 360.0)
        if dlng < 0:
            dlng += 360.0
        dlng -= 180.0
    east = dlng * math.cos(lat0 * math.pi / 180.0) * EARTH_RADIUS_M * math.pi / 180.0
    north = (lat - lat0) * EARTH_RADIUS_M * math.pi / 180.0
    return east, north


def _clip_time(x: float) -> float:
    return min(TIME_CLIP, max(-TIME_CLIP, x))


def _clip_travel(x: float) -> float:
    return min(TIME_CLIP, max(0.0, x))


def encode(problem: Problem, padded_size: int,
           objective: Objective = DEFAULT_OBJECTIVE,
           instance: Optional[Instance] = None) -> Dict[str, np.ndarray]:
    """One problem's features padded to N = padded_size stops (no batch dimension)."""
    n = problem.num_stops
    N = padded_size
    if n > N:
        raise ValueError(f"{n} stops do not fit a padded size of {N}")
    inst = instance if instance is not None else build_instance(problem, objective)
    travel = inst.travel_s
    end_node = n + 1

    xy = [project(s.lat, s.lng, problem.lat, problem.lng) for s in problem.stops]
    end_xy = project(problem.end[0], problem.end[1], problem.lat, problem.lng) \
        if problem.end is not None else None
    dist_scale = MIN_DIST_SCALE_M
    for east, north in xy + ([end_xy] if end_xy is not None else []):
        dist_scale = max(dist_scale, math.sqrt(east * east + north * north))
    time_scale = MIN_TIME_SCALE_S
    for i in range(n):
        time_scale = max(time_scale, travel[0, i + 1])
    cap = float(max(problem.capacity, 1))

    nodes = np.zeros((N, NODE_FEATURES), dtype=np.float64)
    pairs = np.full(N, -1, dtype=np.int64)
    for i, stop in enumerate(problem.stops):
        f = nodes[i]
        f[0] = xy[i][0] / dist_scale
        f[1] = xy[i][1] / dist_scale
        f[2] = _clip_travel(travel[0, i + 1] / time_scale)
        if stop.earliest is not None:
            f[3] = 1.0
            f[4] = _clip_time(float(stop.earliest - problem.now) / time_scale)
        if stop.latest is not None:
            f[5] = 1.0
            f[6] = _clip_time(float(stop.latest - problem.now) / time_scale)
        f[7] = _clip_time(float(stop.service_s) / time_scale)
        f[8] = 1.0 if stop.kind == PICKUP else 0.0
        f[9] = 1.0 if stop.kind == DROPOFF else 0.0
        f[10] = 1.0 if stop.kind == VISIT else 0.0
        partner = int(inst.partner[i])
        f[11] = 1.0 if stop.kind == DROPOFF and partner < 0 else 0.0
        f[12] = float(abs(int(inst.load_delta[i]))) / cap  # 0 for a visit
        if partner >= 0:
            pairs[i] = partner
            f[13] = xy[partner][0] / dist_scale
            f[14] = xy[partner][1] / dist_scale
        if problem.end is not None:
            f[15] = _clip_travel(travel[i + 1, end_node] / time_scale)

    courier = np.zeros(COURIER_FEATURES, dtype=np.float64)
    if problem.end is not None:
        courier[0] = 1.0
        courier[1] = end_xy[0] / dist_scale
        courier[2] = end_xy[1] / dist_scale
        courier[3] = _clip_travel(travel[0, end_node] / time_scale)
    courier[4] = float(inst.initial_load) / cap
    courier[5] = math.log(time_scale / REF_TIME_S)
    courier[6] = math.log(dist_scale / REF_DIST_M)
    courier[7] = float(n) / float(N)

    travel_features = np.zeros((N + 1, N + 1), dtype=np.float64)
    travel_features[:n + 1, :n + 1] = np.clip(travel[:n + 1, :n + 1] / time_scale, 0.0, TIME_CLIP)

    padding = np.ones(N, dtype=bool)
    padding[:n] = False
    return {
        "nodes": nodes.astype(np.float32),
        "pairs": pairs,
        "padding": padding,
        "courier": courier.astype(np.float32),
        "travel": travel_features.astype(np.float32),
    }


INPUT_KEYS = ("nodes", "pairs", "padding", "courier", "travel")


def encode_batch(problems: Sequence[Problem], padded_size: int,
                 objective: Objective = DEFAULT_OBJECTIVE) -> Dict[str, np.ndarray]:
    """The model's inputs for a batch: nodes [B, N, 16] float32, pairs [B, N] int64, padding
    [B, N] bool, courier [B, 8] float32, travel [B, N + 1, N + 1] float32."""
    encoded = [encode(p, padded_size, objective) for p in problems]
    return {key: np.stack([e[key] for e in encoded]) for key in INPUT_KEYS}


def bucket_of(num_stops: int, buckets: Iterable[int] = BUCKETS) -> int:
    """The smallest bucket that holds `num_stops` stops."""
    for size in sorted(buckets):
        if num_stops <= size:
            return size
    raise ValueError(f"{num_stops} stops exceed the largest bucket")


# ---- The server's decoding noise (model/features.cc: ProblemHash, GumbelNoiseAt) -------------

_MASK64 = (1 << 64) - 1


def _mix(x: int) -> int:
    """SplitMix64's output function on 64-bit words: base::SplitMix64::Mix (base/random.h)."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


class _Hasher:
    def __init__(self) -> None:
        self.state = 0x726F757465736572  # "routeser"

    def word(self, value: int) -> None:
        self.state = _mix(self.state ^ _mix(value & _MASK64))

    def double(self, value: float) -> None:
        self.word(struct.unpack("<Q", struct.pack("<d", value))[0])


def problem_hash(problem: Problem, instance: Optional[Instance] = None) -> int:
    """The server's 64-bit hash of what the problem asks (ProblemHash): the exact bits of the
    request's values, in the C++ order."""
    inst = instance if instance is not None else build_instance(problem)
    h = _Hasher()
    h.word(problem.num_stops)
    h.word(int(problem.end is not None))
    h.word(problem.capacity)
    for lat, lng in positions(problem):
        h.double(lat)
        h.double(lng)
    for i, stop in enumerate(problem.stops):
        h.word(stop.kind)
        h.word(int(inst.partner[i]))
        h.word(int(inst.load_delta[i]))
        h.double(float(inst.earliest[i]))
        h.double(float(inst.latest[i]))
        h.double(float(inst.service_s[i]))
    return h.state


def decoding_noise(problem: Problem, decodings: int, padded_size: int,
                   instance: Optional[Instance] = None) -> np.ndarray:
    """The Gumbel noise [K, N] float32 the server gives this problem's decodings (GumbelNoise):
    zeros for decoding 0 (greedy) and for padding rows; for decoding k >= 1 at stop i,
    -ln(-ln(u)) with u drawn from the problem's hash, k and i alone."""
    seed = problem_hash(problem, instance)
    noise = np.zeros((decodings, padded_size), dtype=np.float32)
    for k in range(1, decodings):
        for i in range(problem.num_stops):
            bits = _mix(seed ^ _mix(((k & 0xFFFFFFFF) << 32) | (i & 0xFFFFFFFF)))
            u = (float(bits >> 11) + 0.5) * 2.0 ** -53  # strictly inside (0, 1)
            noise[k, i] = np.float32(-math.log(-math.log(u)))
    return noise


def gumbel_noise(seed: int, decodings: int, padded_size: int) -> np.ndarray:
    """Gumbel noise [K, N] for one problem (decoding 0 is greedy and ignores its row).

    For training and evaluation in Python only; the server draws its own from the problem
    (decoding_noise).
    """
    rng = np.random.default_rng(seed)
    u = rng.uniform(np.finfo(np.float64).tiny, 1.0, size=(decodings, padded_size))
    return (-np.log(-np.log(u))).astype(np.float32)
