"""features.py: proto JSON parsing, travel times and the feature encoding v1, every feature of a
hand-computed fixture checked (docs/MODEL.md)."""

import json
import math
import os
import sys
import tempfile
import unittest

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import fixtures  # noqa: E402
import synthetic  # noqa: E402,F401  (puts model/training on the path)
import features  # noqa: E402

TOL = 1e-6  # float32 outputs of float64 arithmetic


class ParseTest(unittest.TestCase):
    def test_proto_json_names_strings_enums_and_defaults(self):
        problem = features.parse_request(fixtures.three_stops_request())
        self.assertEqual(problem.now, fixtures.NOW)  # int64 as a JSON string
        self.assertEqual(problem.vehicle, "bike")
        self.assertEqual(problem.capacity, 3)
        self.assertIsNone(problem.speed_mps)
        self.assertIsNone(problem.end)
        kinds = [s.kind for s in problem.stops]
        self.assertEqual(kinds, [features.PICKUP, features.DROPOFF, features.VISIT])
        self.assertEqual(problem.stops[0].earliest, fixtures.NOW + 100)
        self.assertIsNone(problem.stops[0].latest)  # absent side: unbounded
        self.assertIsNone(problem.stops[2].earliest)  # absent window
        self.assertEqual(problem.stops[2].load, 0)  # absent field: default
        self.assertEqual(problem.stops[2].order_id, "")

    def test_camel_case_numbers_and_zero_window_sides(self):
        request = {
            "courier": {"position": {"latDeg": 1.5, "lngDeg": 2.5}, "now": 1700000000,
                        "vehicleType": 3, "capacity": 4, "speedMps": 5.0},
            "stops": [{"position": {"latDeg": 1.5}, "kind": "STOP_KIND_VISIT",
                       "timeWindow": {"earliest": "0", "latest": "1700000500"},
                       "serviceS": "12"}],
            "endPosition": {},
            "travelTimeMatrixS": [0, 1, 2, 3, 0, 4, 5, 6, 0],
        }
        problem = features.parse_request(request)
        self.assertEqual((problem.lat, problem.lng), (1.5, 2.5))
        self.assertEqual(problem.vehicle, "car")
        self.assertEqual(problem.speed_mps, 5.0)
        self.assertEqual((problem.stops[0].lat, problem.stops[0].lng), (1.5, 0.0))
        self.assertIsNone(problem.stops[0].earliest)  # 0 means no lower bound
        self.assertEqual(problem.stops[0].latest, 1700000500)
        self.assertEqual(problem.stops[0].service_s, 12)
        self.assertEqual(problem.end, (0.0, 0.0))  # present but empty: (0, 0)
        self.assertEqual(problem.matrix, [0, 1, 2, 3, 0, 4, 5, 6, 0])

    def test_unknown_enum_is_an_error(self):
        request = fixtures.three_stops_request()
        request["courier"]["vehicle_type"] = "VEHICLE_TYPE_UNSPECIFIED"
        with self.assertRaises(ValueError):
            features.parse_request(request)

    def test_load_jsonl(self):
        line = {"seed": 7, "regime": "tight windows", "request": fixtures.three_stops_request(),
                "order": [2, 0, 1], "cost": 130.0, "optimal": True}
        with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as out:
            out.write(json.dumps(line) + "\n\n" + json.dumps(line) + "\n")
        try:
            problems = features.load_jsonl(out.name)
        finally:
            os.remove(out.name)
        self.assertEqual(len(problems), 2)
        self.assertEqual(problems[0].order, [2, 0, 1])
        self.assertEqual(problems[0].cost, 130.0)
        self.assertTrue(problems[0].optimal)
        self.assertEqual(problems[0].seed, 7)
        self.assertEqual(problems[0].regime, "tight windows")


class TravelTimeTest(unittest.TestCase):
    def test_haversine_detour_and_speed_by_vehicle(self):
        request = fixtures.three_stops_request()
        del request["travel_time_matrix_s"]
        problem = features.parse_request(request)
        travel = features.travel_matrix_s(problem)
        # 0.01 degrees of longitude on the equator, x 1.3 detour, / 4.5 m/s (bike).
        metres = 0.01 * fixtures.METRES_PER_DEGREE
        self.assertAlmostEqual(features.haversine_m(0, 0, 0, 0.01), metres, places=6)
        self.assertAlmostEqual(travel[0, 1], metres * 1.3 / 4.5, places=6)
        self.assertEqual(travel[2, 2], 0.0)
        self.assertAlmostEqual(travel[1, 2], travel[2, 1], places=9)
        problem.vehicle = "van"
        self.assertAlmostEqual(features.travel_matrix_s(problem)[0, 1], metres * 1.3 / 7.0,
                               places=6)
        problem.speed_mps = 2.0  # the courier's override wins
        self.assertAlmostEqual(features.travel_matrix_s(problem)[0, 1], metres * 1.3 / 2.0,
                               places=6)
        objective = features.Objective(detour_factor=1.0)
        self.assertAlmostEqual(features.travel_matrix_s(problem, objective)[0, 1], metres / 2.0,
                               places=6)

    def test_caller_matrix_with_end_node(self):
        problem = features.parse_request(fixtures.three_stops_with_end_request())
        travel = features.travel_matrix_s(problem)
        self.assertEqual(travel.shape, (5, 5))
        self.assertEqual(travel[0, 4], 99)
        self.assertEqual(travel[3, 4], 33)
        self.assertEqual(travel[4, 1], 11)

    def test_malformed_matrix(self):
        request = fixtures.three_stops_with_end_request()
        request["travel_time_matrix_s"] = request["travel_time_matrix_s"][:16]
        with self.assertRaises(ValueError):
            features.travel_matrix_s(features.parse_request(request))

    def test_instance(self):
        instance = features.build_instance(features.parse_request(fixtures.three_stops_request()))
        self.assertEqual(instance.earliest[0], 100)
        self.assertEqual(instance.earliest[1], -math.inf)
        self.assertEqual(instance.latest[1], 250)
        self.assertEqual(instance.latest[2], math.inf)
        self.assertEqual(list(instance.load_delta), [2, -2, 0])
        self.assertEqual(list(instance.partner), [1, 0, -1])
        self.assertEqual(instance.initial_load, 0)
        self.assertFalse(instance.has_end)


class EncodeTest(unittest.TestCase):
    def setUp(self):
        self.problem = features.parse_request(fixtures.three_stops_with_end_request())
        self.encoded = features.encode_batch([self.problem], 4)

    def test_dtypes_and_shapes(self):
        e = self.encoded
        self.assertEqual(set(e), {"nodes", "pairs", "padding", "courier", "travel"})
        self.assertEqual((e["nodes"].shape, e["nodes"].dtype), ((1, 4, 16), np.float32))
        self.assertEqual((e["pairs"].shape, e["pairs"].dtype), ((1, 4), np.int64))
        self.assertEqual((e["padding"].shape, e["padding"].dtype), ((1, 4), np.bool_))
        self.assertEqual((e["courier"].shape, e["courier"].dtype), ((1, 8), np.float32))
        self.assertEqual((e["travel"].shape, e["travel"].dtype), ((1, 5, 5), np.float32))

    def test_every_node_feature(self):
        nodes = self.encoded["nodes"][0]
        for i, expected in enumerate(fixtures.EXPECTED_NODES):
            for f, value in enumerate(expected):
                self.assertAlmostEqual(float(nodes[i, f]), value, delta=TOL,
                                       msg=f"stop {i} feature {f}")

    def test_pairs_padding_courier_travel(self):
        e = self.encoded
        self.assertEqual(e["pairs"][0].tolist(), fixtures.EXPECTED_PAIRS)
        self.assertEqual(e["padding"][0].tolist(), fixtures.EXPECTED_PADDING)
        np.testing.assert_allclose(e["courier"][0], fixtures.EXPECTED_COURIER, atol=TOL)
        np.testing.assert_allclose(e["travel"][0], fixtures.EXPECTED_TRAVEL, atol=TOL)

    def test_without_end_position(self):
        problem = features.parse_request(fixtures.three_stops_request())
        e = features.encode(problem, 3)
        # dist_scale is now the dropoff's distance (0.02 deg): the pickup's east is a half.
        self.assertAlmostEqual(float(e["nodes"][0, 0]), 0.5, delta=TOL)
        self.assertAlmostEqual(float(e["nodes"][2, 0]), -0.5, delta=TOL)
        self.assertTrue(np.all(e["nodes"][:, 15] == 0))
        self.assertTrue(np.all(e["courier"][:4] == 0))
        self.assertAlmostEqual(float(e["courier"][6]),
                               math.log(0.02 * fixtures.METRES_PER_DEGREE / 4000), delta=TOL)
        self.assertAlmostEqual(float(e["courier"][7]), 1.0, delta=TOL)

    def test_on_board_dropoff_and_start_load(self):
        request = fixtures.three_stops_request()
        request["stops"][2] = {"id": "b", "position": {"lat_deg": 0, "lng_deg": 0.001},
                               "kind": "STOP_KIND_DROPOFF", "order_id": "B", "load": "1"}
        e = features.encode(features.parse_request(request), 3)
        self.assertEqual(e["nodes"][2, 9], 1.0)
        self.assertEqual(e["nodes"][2, 11], 1.0)  # its pickup is not in the problem
        self.assertAlmostEqual(float(e["nodes"][2, 12]), 1 / 3, delta=TOL)
        self.assertEqual(e["pairs"][2], -1)
        self.assertTrue(np.all(e["nodes"][2, 13:15] == 0))
        self.assertAlmostEqual(float(e["courier"][4]), 1 / 3, delta=TOL)

    def test_clipping_and_scale_floors(self):
        request = fixtures.three_stops_request()
        request["stops"][1]["time_window"] = {"earliest": str(fixtures.NOW - 100_000),
                                              "latest": str(fixtures.NOW + 100_000)}
        request["travel_time_matrix_s"] = [0, 5, 8, 4, 5, 0, 6, 3, 8, 6, 0, 7000, 4, 3, 7, 0]
        e = features.encode(features.parse_request(request), 3)
        # time_scale floors at 60 s: travel 5 s -> 5/60.
        self.assertAlmostEqual(float(e["nodes"][0, 2]), 5 / 60, delta=TOL)
        self.assertEqual(float(e["nodes"][1, 4]), -10.0)
        self.assertEqual(float(e["nodes"][1, 6]), 10.0)
        self.assertEqual(float(e["travel"][2, 3]), 10.0)  # 7000 / 60, clipped
        self.assertAlmostEqual(float(e["courier"][5]), math.log(60 / 1800), delta=TOL)
        # Stops within 1 km: dist_scale floors at 1000 m.
        request = fixtures.three_stops_request()
        for stop in request["stops"]:
            stop["position"] = {"lat_deg": 0.001, "lng_deg": 0.0}
        e = features.encode(features.parse_request(request), 3)
        self.assertAlmostEqual(float(e["nodes"][0, 1]), 0.001 * fixtures.METRES_PER_DEGREE / 1000,
                               delta=TOL)
        self.assertAlmostEqual(float(e["courier"][6]), math.log(1000 / 4000), delta=TOL)

    def test_longitude_wraps_at_the_antimeridian(self):
        request = fixtures.three_stops_request()
        request["courier"]["position"] = {"lat_deg": 0.0, "lng_deg": 179.995}
        request["stops"][0]["position"] = {"lat_deg": 0.0, "lng_deg": -179.995}  # 0.01 deg east
        request["stops"][1]["position"] = {"lat_deg": 0.0, "lng_deg": 179.985}  # 0.01 deg west
        request["stops"][2]["position"] = {"lat_deg": 0.0, "lng_deg": 179.995}
        e = features.encode(features.parse_request(request), 3)
        self.assertAlmostEqual(float(e["nodes"][0, 0]), 1.0, delta=1e-5)
        self.assertAlmostEqual(float(e["nodes"][1, 0]), -1.0, delta=1e-5)

    def test_rows_do_not_depend_on_padding_or_batch(self):
        other = features.parse_request(fixtures.three_stops_request())
        alone = features.encode(self.problem, 4)
        batch = features.encode_batch([other, self.problem], 8)
        np.testing.assert_array_equal(batch["nodes"][1, :4], alone["nodes"])
        np.testing.assert_array_equal(batch["travel"][1, :5, :5], alone["travel"])
        np.testing.assert_array_equal(batch["courier"][1, :7], alone["courier"][:7])
        self.assertAlmostEqual(float(batch["courier"][1, 7]), 3 / 8, delta=TOL)
        self.assertTrue(np.all(batch["nodes"][1, 3:] == 0))
        self.assertTrue(np.all(batch["pairs"][1, 3:] == -1))
        self.assertTrue(np.all(batch["padding"][1, 3:]))

    def test_the_cpp_encoder_tests_fixture(self):
        """tests/model/features_test.cc's fixture and its hand-worked values: pickup A 0.01 deg
        north, its dropoff B 0.02 deg east, C an on-board dropoff, end at (0.03, 0.04)."""
        now = fixtures.NOW
        request = {
            "courier": {"position": {}, "now": str(now), "vehicle_type": "VEHICLE_TYPE_BIKE",
                        "capacity": "10"},
            "stops": [
                {"id": "A", "position": {"lat_deg": 0.01}, "kind": "STOP_KIND_PICKUP",
                 "order_id": "o1", "time_window": {"earliest": str(now + 300)},
                 "service_s": "60", "load": "4"},
                {"id": "B", "position": {"lng_deg": 0.02}, "kind": "STOP_KIND_DROPOFF",
                 "order_id": "o1", "time_window": {"latest": str(now + 1200)},
                 "service_s": "120", "load": "4"},
                {"id": "C", "position": {"lat_deg": -0.01, "lng_deg": -0.01},
                 "kind": "STOP_KIND_DROPOFF", "order_id": "o2", "load": "3"},
            ],
            "end_position": {"lat_deg": 0.03, "lng_deg": 0.04},
            "travel_time_matrix_s": [0, 300, 600, 450, 1500, 310, 0, 400, 500, 1300,
                                     620, 410, 0, 700, 1000, 460, 520, 710, 0, 1700,
                                     1500, 1300, 1000, 1700, 0],
        }
        e = features.encode_batch([features.parse_request(request)], 4)
        expected_nodes = [
            [0, 0.2, 0.5, 1, 0.5, 0, 0, 0.1, 1, 0, 0, 0, 0.4, 0.4, 0, 1300 / 600],
            [0.4, 0, 1, 0, 0, 1, 2, 0.2, 0, 1, 0, 0, 0.4, 0, 0.2, 1000 / 600],
            [-0.2, -0.2, 0.75, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0.3, 0, 0, 1700 / 600],
            [0] * 16]
        np.testing.assert_allclose(e["nodes"][0], expected_nodes, atol=TOL)
        self.assertEqual(e["pairs"][0].tolist(), [1, 0, -1, -1])
        np.testing.assert_allclose(
            e["courier"][0], [1, 0.8, 0.6, 2.5, 0.3, math.log(600 / 1800),
                              math.log(0.05 * fixtures.METRES_PER_DEGREE / 4000), 0.75],
            atol=TOL)
        matrix = np.array(request["travel_time_matrix_s"], dtype=np.float64).reshape(5, 5)
        expected_travel = np.zeros((5, 5))
        expected_travel[:4, :4] = matrix[:4, :4] / 600
        np.testing.assert_allclose(e["travel"][0], expected_travel, atol=1e-7)

    def test_too_many_stops(self):
        with self.assertRaises(ValueError):
            features.encode(self.problem, 2)

    def test_buckets(self):
        self.assertEqual(features.bucket_of(1), 8)
        self.assertEqual(features.bucket_of(8), 8)
        self.assertEqual(features.bucket_of(9), 16)
        self.assertEqual(features.bucket_of(128), 128)
        with self.assertRaises(ValueError):
            features.bucket_of(129)


if __name__ == "__main__":
    unittest.main()
