"""Random problems in proto JSON, with exact labels for small ones, for the recipe's tests.

Not the project's generator (routing/generator.h, emitted by routeserve-datagen): a small
stand-in so that the tests run where the tool is not built. Capacities are tight so that the
capacity mask matters; some orders are on board, some problems end at a hub, some carry a
caller's (asymmetric) matrix.
"""

import itertools
import json
import math
import os
import random
import sys
from typing import Dict, List, Optional

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "model", "training"))

import cost  # noqa: E402
import features  # noqa: E402

VEHICLES = ["VEHICLE_TYPE_BIKE", "VEHICLE_TYPE_SCOOTER", "VEHICLE_TYPE_CAR", "VEHICLE_TYPE_VAN"]


def random_request(rng: random.Random, num_stops: int, with_matrix: Optional[bool] = None,
                   with_end: Optional[bool] = None) -> Dict:
    lat0, lng0 = rng.uniform(-50, 60), rng.uniform(-180, 180)
    now = 1_700_000_000 + rng.randrange(1_000_000)

    def near():
        r = 3000 * math.sqrt(rng.random())
        a = rng.uniform(0, 2 * math.pi)
        return {"lat_deg": lat0 + r * math.cos(a) / 111_195.0,
                "lng_deg": lng0 + r * math.sin(a) / (111_195.0 * math.cos(math.radians(lat0)))}

    stops: List[Dict] = []
    order = 0
    on_board = 0
    largest = 0
    while len(stops) < num_stops:
        room = num_stops - len(stops)
        roll = rng.random()
        load = rng.randint(1, 3)
        window = {}
        if rng.random() < 0.6:
            window["latest"] = str(now + rng.randint(300, 3000))
        if room >= 2 and roll < 0.6:
            pickup = {"position": near(), "kind": "STOP_KIND_PICKUP", "order_id": f"o{order}",
                      "service_s": str(rng.randint(0, 120)), "load": str(load)}
            if rng.random() < 0.5:
                pickup["time_window"] = {"earliest": str(now + rng.randint(0, 900))}
            dropoff = {"position": near(), "kind": "STOP_KIND_DROPOFF", "order_id": f"o{order}",
                       "service_s": str(rng.randint(0, 120)), "load": str(load)}
            if window:
                dropoff["time_window"] = window
            stops += [pickup, dropoff]
            largest = max(largest, load)
        elif roll < 0.85:
            dropoff = {"position": near(), "kind": "STOP_KIND_DROPOFF", "order_id": f"o{order}",
                       "load": str(load)}
            if window:
                dropoff["time_window"] = window
            stops.append(dropoff)
            on_board += load
        else:
            visit = {"position": near(), "kind": "STOP_KIND_VISIT",
                     "service_s": str(rng.randint(0, 300))}
            if rng.random() < 0.5:
                opens = now + rng.randint(0, 1200)
                visit["time_window"] = {"earliest": str(opens), "latest": str(opens + 900)}
            stops.append(visit)
        order += 1
    rng.shuffle(stops)
    for i, stop in enumerate(stops):
        stop["id"] = f"s{i}"
    vehicle = rng.choice(VEHICLES)
    request = {
        "request_id": "r",
        "courier": {"id": "c", "position": near(), "now": str(now), "vehicle_type": vehicle,
                    # Tight: room for what is on board plus one or two more orders.
                    "capacity": str(on_board + max(largest, 1) + rng.randint(0, 2))},
        "stops": stops,
    }
    if rng.random() < 0.2:
        request["courier"]["speed_mps"] = rng.uniform(3, 9)
    if with_end if with_end is not None else rng.random() < 0.3:
        request["end_position"] = near()
    if with_matrix if with_matrix is not None else rng.random() < 0.2:
        problem = features.parse_request(request)
        travel = features.travel_matrix_s(problem)
        side = travel.shape[0]
        request["travel_time_matrix_s"] = [
            0.0 if a == b else round(travel[a, b] * rng.uniform(0.8, 1.4), 1)
            for a in range(side) for b in range(side)]
    return request


def brute_force(problem: features.Problem) -> tuple:
    """(order, cost) of the best feasible order, by enumeration (small problems only)."""
    instance = features.build_instance(problem)
    best = None
    for order in itertools.permutations(range(problem.num_stops)):
        result = cost.evaluate(instance, order)
        if result.feasible and (best is None or result.cost < best[1]):
            best = (list(order), result.cost)
    return best


def write_dataset(path: str, count: int, min_stops: int, max_stops: int, seed: int) -> None:
    """A datagen-like JSONL file with exact labels (keep max_stops small)."""
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as out:
        for i in range(count):
            request = random_request(rng, rng.randint(min_stops, max_stops))
            order, best = brute_force(features.parse_request(request))
            out.write(json.dumps({"seed": seed * 1_000_003 + i, "regime": "synthetic",
                                  "request": request, "order": order, "cost": best,
                                  "optimal": True}) + "\n")


def selftest_problems(max_stops: int, seed: int = 5) -> List[features.Problem]:
    """Stand-ins for seal.selftest_problems (the generator's) where routeserve-datagen is not
    built: problems of seal.selftest_sizes(max_stops)."""
    import seal  # the recipe's, on the path set above
    rng = random.Random(seed)
    return [features.parse_request(random_request(rng, n)) for n in seal.selftest_sizes(max_stops)]
