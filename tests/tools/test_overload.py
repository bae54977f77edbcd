"""bench/overload.py: its help, its pure arithmetic, and a short run against the real server
(classical solver, a few seconds) whose JSON must hold the figures and lose no call. No timing is
asserted: the machine running the tests may be busy.

The run needs ROUTESERVE_SERVER and ROUTESERVE_BENCH (ctest sets them); without them it is
skipped.
"""

import json
import os
import subprocess
import sys
import tempfile
import unittest

BENCH_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "bench")
SCRIPT = os.path.join(BENCH_DIR, "overload.py")
sys.path.insert(0, BENCH_DIR)
import overload  # noqa: E402  (bench/ is not a package)


class OverloadScriptTest(unittest.TestCase):
    def test_help(self):
        done = subprocess.run([sys.executable, SCRIPT, "--help"], capture_output=True, text=True)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("--soak", done.stdout)

    def test_soak_needs_a_rate(self):
        with self.assertRaises(SystemExit):
            overload.parse_args(["--soak", "1"])

    def test_slope_is_least_squares_per_minute_from_the_cut(self):
        samples = [{"t_s": t, "rss_kib": 1000 + 2 * t} for t in range(0, 180)]
        samples[10]["rss_kib"] = 10**9  # before the cut: ignored
        self.assertAlmostEqual(overload.slope_kib_per_min(samples, 60), 120)
        self.assertIsNone(overload.slope_kib_per_min(samples[:1], 0))

    def test_max_queue_size_from_the_overrides_else_the_config(self):
        self.assertEqual(overload.max_queue_size(["batching.max_queue_size=8"]), 8)
        self.assertIsInstance(overload.max_queue_size([]), int)


@unittest.skipUnless(os.environ.get("ROUTESERVE_SERVER") and os.environ.get("ROUTESERVE_BENCH"),
                     "needs ROUTESERVE_SERVER and ROUTESERVE_BENCH (ctest sets them)")
class OverloadRunTest(unittest.TestCase):
    def test_a_short_overload_run_reports_every_figure_and_loses_no_call(self):
        with tempfile.TemporaryDirectory() as out:
            done = subprocess.run(
                [sys.executable, SCRIPT, "--saturation", "20", "--factor", "3", "--duration", "2",
                 "--warmup", "0.5", "--stops", "8", "--set", 'model.path=""',
                 "--set", "batching.max_queue_size=2", "--out", out],
                capture_output=True, text=True, timeout=300)
            self.assertEqual(done.returncode, 0, done.stderr)
            self.assertIn("| overload |", done.stdout)
            with open(os.path.join(out, "overload.json"), encoding="utf-8") as f:
                result = json.load(f)
        self.assertEqual(result["environment"]["max_queue_size"], 2)
        for name in ("moderate", "overload"):
            run = result[name]
            for key in ("started", "answers", "lost", "codes", "ok_latency_ms",
                        "latency_ms_by_code", "queue_depth_max", "rss_kib", "samples"):
                self.assertIn(key, run)
            self.assertEqual(run["lost"], 0)
            self.assertGreater(run["answers"], 0)
            self.assertGreater(run["rss_kib"]["max"], 0)
            self.assertEqual(set(run["codes"]), set(run["latency_ms_by_code"]))


if __name__ == "__main__":
    unittest.main()
