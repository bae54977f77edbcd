"""bench/metrics_scrape.py: a short run against the real server (a few scrapes beside 20 idle
connections) whose JSON must hold every figure, every misbehaving client still connected at the
end of its phase. No timing is asserted: the machine running the tests may be busy.

The run needs ROUTESERVE_SERVER (ctest sets it); without it, it is skipped.
"""

import json
import os
import subprocess
import sys
import tempfile
import unittest

SCRIPT = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "bench", "metrics_scrape.py")


@unittest.skipUnless(os.environ.get("ROUTESERVE_SERVER"),
                     "needs ROUTESERVE_SERVER (ctest sets it)")
class MetricsScrapeBenchTest(unittest.TestCase):
    def test_a_short_run_reports_every_figure(self):
        with tempfile.TemporaryDirectory() as out:
            path = os.path.join(out, "scrape.json")
            done = subprocess.run(
                [sys.executable, SCRIPT, "--scrapes", "5", "--idle", "20",
                 "--drip-period", "0.1", "--json", path],
                capture_output=True, text=True, timeout=300)
            self.assertEqual(done.returncode, 0, done.stderr)
            self.assertIn("| 1 silent + 1 dripping + 20 idle |", done.stdout)
            with open(path, encoding="utf-8") as f:
                result = json.load(f)
        for phase in ("alone", "beside_silent_dripping_idle"):
            for way in ("new_connection_ms", "keep_alive_ms"):
                figures = result[phase][way]
                self.assertEqual(figures["n"], 5)
                self.assertLessEqual(figures["p50"], figures["max"])
        self.assertEqual(result["beside_silent_dripping_idle"]["still_connected"],
                         {"silent": True, "dripping": True, "idle": 20})
        self.assertGreater(result["sigterm_to_exit_s"]["beside_silent_dripping_idle"], 0)
        self.assertEqual(result["machine"]["cores"], os.cpu_count())


if __name__ == "__main__":
    unittest.main()
