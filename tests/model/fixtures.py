"""Hand-made problems shared by the recipe's tests, as proto JSON (what routeserve-datagen and
the API carry), with the figures they must give worked out by hand."""

import copy
import math

NOW = 1_700_000_000
METRES_PER_DEGREE = 6371008.8 * math.pi / 180  # on the equator, east and north alike


def three_stops_request():
    """tests/routing/evaluator_test.cc's ThreeStops: stop 0 picks up order A (2 units, ready at
    now + 100, 20 s service); stop 1 delivers it (promised by now + 250, 10 s); stop 2 is a
    visit (30 s). Capacity 3. Travel times from the caller's matrix."""
    return {
        "courier": {"id": "c", "position": {"lat_deg": 0.0, "lng_deg": 0.0}, "now": str(NOW),
                    "vehicle_type": "VEHICLE_TYPE_BIKE", "capacity": "3"},
        "stops": [
            {"id": "p", "position": {"lat_deg": 0.0, "lng_deg": 0.01}, "kind": "STOP_KIND_PICKUP",
             "order_id": "A", "time_window": {"earliest": str(NOW + 100)}, "service_s": "20",
             "load": "2"},
            {"id": "d", "position": {"lat_deg": 0.02, "lng_deg": 0.0},
             "kind": "STOP_KIND_DROPOFF", "order_id": "A",
             "time_window": {"latest": str(NOW + 250)}, "service_s": "10", "load": "2"},
            {"id": "v", "position": {"lat_deg": -0.01, "lng_deg": -0.01},
             "kind": "STOP_KIND_VISIT", "service_s": "30"},
        ],
        #                        start  p    d    v
        "travel_time_matrix_s": [0,     50,  80,  40,   # start
                                 50,    0,   60,  30,   # p
                                 80,    60,  0,   70,   # d
                                 40,    30,  70,  0],   # v
    }


def three_stops_with_end_request():
    """ThreeStops ending at (0.03, 0), 3,336 m north of the courier: the farthest point, so
    dist_scale is that distance and the stops' coordinates are thirds of it."""
    request = copy.deepcopy(three_stops_request())
    request["end_position"] = {"lat_deg": 0.03, "lng_deg": 0.0}
    request["travel_time_matrix_s"] = [0, 50, 80, 40, 99,
                                       50, 0, 60, 30, 11,
                                       80, 60, 0, 70, 22,
                                       40, 30, 70, 0, 33,
                                       99, 11, 22, 33, 0]
    return request


# The encoding of three_stops_with_end_request() padded to N = 4, by hand (docs/MODEL.md):
# dist_scale = 0.03 deg north = 3,335.85 m; time_scale = max(60, 50, 80, 40) = 80 s.
THIRD = 1.0 / 3.0
EXPECTED_NODES = [
    # east   north   trav  hasE  earl  hasL  late   serv   P  D  V  onb  load   p.east p.north toEnd
    [THIRD,  0.0,    0.625, 1.0, 1.25,  0.0, 0.0,   0.25,  1, 0, 0, 0,  2 / 3, 0.0,   2 / 3,  0.1375],
    [0.0,    2 / 3,  1.0,   0.0, 0.0,   1.0, 3.125, 0.125, 0, 1, 0, 0,  2 / 3, THIRD, 0.0,    0.275],
    [-THIRD, -THIRD, 0.5,   0.0, 0.0,   0.0, 0.0,   0.375, 0, 0, 1, 0,  0.0,   0.0,   0.0,    0.4125],
    [0.0] * 16,  # padding
]
EXPECTED_PAIRS = [1, 0, -1, -1]
EXPECTED_PADDING = [False, False, False, True]
EXPECTED_COURIER = [1.0, 0.0, 1.0, 99 / 80, 0.0, math.log(80 / 1800),
                    math.log(0.03 * METRES_PER_DEGREE / 4000), 3 / 4]
MATRIX_4 = [[0, 50, 80, 40], [50, 0, 60, 30], [80, 60, 0, 70], [40, 30, 70, 0]]
EXPECTED_TRAVEL = [[MATRIX_4[u][v] / 80 if u < 4 and v < 4 else 0.0 for v in range(5)]
                   for u in range(5)]
