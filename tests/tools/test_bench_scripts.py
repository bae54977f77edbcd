"""bench/shutdown_bound.py and bench/hostile_memory.py against the real server (classical
solver): their JSON must hold every figure. No timing is asserted (the machine running the
tests may be busy): only that the process exits 0 on SIGTERM, with clients attached too, and
that every hostile call is refused by its stop count while good calls are answered.
bench/alternatives.py against the server with the shipped model: its table reports the
alternatives that came back, no more than asked. bench/reload_under_load.py with route-v2: a
version swapped in under load, every call answered OK. bench/shadow_cost.py: both servers
answer OK, and the shadow's runs of the serving version's own files are all "equal".

The runs need ROUTESERVE_SERVER and ROUTESERVE_CLI (ctest sets them); hostile_memory.py needs
Python's grpc too (`make bench-deps`). Without them the runs are skipped.
"""

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import unittest

BENCH_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "bench")
HAVE_SERVER = bool(os.environ.get("ROUTESERVE_SERVER") and os.environ.get("ROUTESERVE_CLI"))


def run_script(name, *args):
    with tempfile.TemporaryDirectory() as out:
        done = subprocess.run([sys.executable, os.path.join(BENCH_DIR, name), *args,
                               "--set", 'model.path=""', "--out", out],
                              capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            raise AssertionError(done.stderr)
        report = name.replace(".py", ".json")
        with open(os.path.join(out, report), encoding="utf-8") as f:
            return json.load(f), done.stdout


@unittest.skipUnless(HAVE_SERVER, "needs ROUTESERVE_SERVER and ROUTESERVE_CLI (ctest sets them)")
class ShutdownBoundTest(unittest.TestCase):
    def test_sigterm_exits_0_with_and_without_clients_attached(self):
        report, table = run_script("shutdown_bound.py", "--runs", "1", "--drippers", "2")
        self.assertIn("| with_clients |", table)
        for name in ("alone", "with_clients"):
            self.assertEqual(len(report["runs"][name]), 1)
            run = report["runs"][name][0]
            self.assertEqual(run["exit_code"], 0)
            self.assertGreater(run["seconds"], 0)
        self.assertNotIn("out", report)  # no path of the machine that ran it


@unittest.skipUnless(HAVE_SERVER and importlib.util.find_spec("grpc") is not None,
                     "needs ROUTESERVE_SERVER, ROUTESERVE_CLI and Python's grpc")
class HostileMemoryTest(unittest.TestCase):
    def test_hostile_calls_are_refused_by_their_stop_count_and_good_ones_answered(self):
        report, _ = run_script("hostile_memory.py", "--concurrency", "4", "--rounds", "1",
                               "--limit", "derived")
        self.assertNotIn("out", report["args"])
        [run] = report["runs"]
        self.assertEqual(sum(run["hostile_answers"].values()), 4)
        [(answer, count)] = run["hostile_answers"].items()
        self.assertTrue(answer.startswith("INVALID_ARGUMENT: stops: "), answer)
        for key in ("idle", "highest", "1s", "5s", "30s"):
            self.assertGreater(run["rss_kib"][key], 0)
        self.assertEqual(run["good_calls"]["during_failed"], [])
        self.assertEqual(run["good_calls"]["after_failed"], [])
        self.assertGreater(run["good_calls"]["after_ok"], 0)


@unittest.skipUnless(HAVE_SERVER, "needs ROUTESERVE_SERVER and ROUTESERVE_CLI (ctest sets them)")
class AlternativesTest(unittest.TestCase):
    def test_the_table_reports_the_alternatives_that_came_back(self):
        done = subprocess.run([sys.executable, os.path.join(BENCH_DIR, "alternatives.py"),
                               "--requests", "2", "--alternatives", "3", "--cases",
                               "12:loose,12:tight"], capture_output=True, text=True, timeout=600)
        self.assertEqual(done.returncode, 0, done.stderr)
        rows = [line for line in done.stdout.splitlines() if line.startswith("| 12 |")]
        self.assertEqual(len(rows), 2, done.stdout)
        for row in rows:
            cells = [cell.strip() for cell in row.strip("|").split("|")]
            came_back, asked = (int(x) for x in cells[2].split(" / "))
            self.assertEqual(asked, 6)
            self.assertLessEqual(came_back, asked)
            if came_back:
                self.assertGreater(float(cells[3]), 0)


@unittest.skipUnless(HAVE_SERVER, "needs ROUTESERVE_SERVER and ROUTESERVE_CLI (ctest sets them)")
class ReloadUnderLoadTest(unittest.TestCase):
    def test_a_version_is_swapped_in_under_load_and_every_call_is_answered_ok(self):
        # run_script's model.path="" goes after the script's own: the repository serves.
        report, table = run_script("reload_under_load.py", "--rate", "20", "--duration", "3",
                                   "--warmup", "0.5", "--reload_at", "0.5")
        self.assertEqual(report["reloads"].get("swapped"), 1, report["reloads"])
        for run in ("steady", "reload"):
            self.assertGreater(report[run]["answers"], 0)
            self.assertEqual(set(report[run]["codes"]), {"OK"}, report[run]["codes"])
            self.assertGreater(report[run]["ok_latency_ms"]["p99"], 0)
        self.assertIn("| reload |", table)


@unittest.skipUnless(HAVE_SERVER, "needs ROUTESERVE_SERVER and ROUTESERVE_CLI (ctest sets them)")
class ShadowCostTest(unittest.TestCase):
    def test_both_servers_answer_ok_and_the_shadow_runs_are_counted(self):
        report, _ = run_script("shadow_cost.py", "--ratio", "1", "--concurrency", "2", "--rate",
                               "20", "--duration", "1", "--warmup", "0.2")
        plain, shadowed = report["runs"]
        for run in (plain, shadowed):
            for loop in ("closed_loop", "open_loop"):
                self.assertEqual(set(run[loop]["codes"]), {"OK"}, run[loop]["codes"])
        self.assertEqual(plain["shadow_after_open_loop"], {"dropped": 0})
        counts = shadowed["shadow_after_open_loop"]
        # The shadow is the serving version's files: every run it made is "equal".
        self.assertGreater(counts.get("equal", 0), 0, counts)
        self.assertEqual(set(counts) - {"equal", "dropped"}, set(), counts)


if __name__ == "__main__":
    unittest.main()
