#!/usr/bin/env python3
"""The reference checks of scripts/check-deploy.py fail on names the code does not have
(scripts/check-deploy.sh runs this first; exits 1 when a case does not come out as expected)."""
import importlib.util
import pathlib
import unittest

_spec = importlib.util.spec_from_file_location(
    "check_deploy", pathlib.Path(__file__).resolve().parent / "check-deploy.py")
check_deploy = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(check_deploy)


class ReferenceChecksTest(unittest.TestCase):
    def setUp(self):
        check_deploy.failures.clear()
        self.schema_keys = check_deploy.config_schema_keys()
        self.exported = check_deploy.exported_metric_families()

    def test_the_schema_is_read_from_the_code(self):
        for key in ("server.address", "metrics.address", "batching.executors",
                    "shutdown.grace_period_s", "objective.speed_mps.*",
                    "model.by_vehicle_type.*"):
            self.assertIn(key, self.schema_keys)
        # Under a computed section, at any depth.
        self.assertTrue(check_deploy.schema_has_key(self.schema_keys,
                                                    "model.by_vehicle_type.van.name"))
        self.assertFalse(check_deploy.schema_has_key(self.schema_keys, "model.by_vehicle.van"))

    def test_config_keys_the_code_lacks_fail(self):
        check_deploy.check_config_keys("test", {"server": {"adress": "0.0.0.0:1"}},
                                       ["batching.executor", "objective.speed_mps.car"],
                                       self.schema_keys)
        self.assertEqual(len(check_deploy.failures), 2, check_deploy.failures)
        self.assertIn("server.adress", check_deploy.failures[0])
        self.assertIn("batching.executor", check_deploy.failures[1])

    def test_series_of_families_the_server_lacks_fail(self):
        rules = {"groups": [{"rules": [
            {"expr": "rate(routeserve_requests_total[5m]) > 0"},
            {"expr": "histogram_quantile(0.99, rate(routeserve_request_duration_seconds_bucket[5m]))"},
            {"expr": "routeserve_inflight_request > 1"}]}]}
        check_deploy.check_query_metrics("test", rules, self.exported)
        self.assertEqual(len(check_deploy.failures), 1, check_deploy.failures)
        self.assertIn("routeserve_inflight_request:", check_deploy.failures[0])

    def test_the_families_found_are_the_documented_ones(self):
        check_deploy.check_metric_families(self.exported)
        self.assertEqual(check_deploy.failures, [])
        check_deploy.check_metric_families(self.exported - {"routeserve_gpu_memory_used_bytes"})
        self.assertEqual(len(check_deploy.failures), 1, check_deploy.failures)


if __name__ == "__main__":
    unittest.main()
