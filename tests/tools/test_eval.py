"""routeserve-eval end to end: the tool run as a user runs it, its JSON read back.

The binary, the default config and the test models come from the environment (set by ctest):
ROUTESERVE_EVAL, ROUTESERVE_CONFIG, ROUTESERVE_TEST_MODELS_DIR.
"""

import json
import os
import subprocess
import tempfile
import unittest

EVAL = os.environ.get("ROUTESERVE_EVAL")
CONFIG = os.environ.get("ROUTESERVE_CONFIG")
MODELS = os.environ.get("ROUTESERVE_TEST_MODELS_DIR")
REGIMES = ["no windows", "loose windows", "tight windows", "orders on board", "end position",
           "caller matrix", "visits"]


@unittest.skipUnless(EVAL and CONFIG and MODELS, "needs ROUTESERVE_EVAL, ROUTESERVE_CONFIG and "
                     "ROUTESERVE_TEST_MODELS_DIR (ctest sets them)")
class EvalTest(unittest.TestCase):
    def run_eval(self, *flags):
        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, "eval.json")
            done = subprocess.run([EVAL, "--config", CONFIG, "--per_regime", "2",
                                   "--per_regime_large", "1", "--threads", "2",
                                   "--speed_seconds", "0", "--json", path, *flags],
                                  capture_output=True, text=True)
            self.assertEqual(done.returncode, 0, done.stderr)
            with open(path, encoding="utf-8") as f:
                return json.load(f), done.stdout

    def cells(self, report, stops):
        return {c["regime"]: c for c in report["cells"] if c["stops"] == stops}

    def test_the_classical_solver_alone_never_beats_the_optimum(self):
        report, table = self.run_eval("--set", 'model.path=""', "--sizes", "8,12",
                                      "--precisions", "none")
        self.assertEqual(report["model_version"], "")
        self.assertIn("| 8 | all | 14 |", table)
        for stops in (8, 12):
            cells = self.cells(report, stops)
            self.assertEqual(sorted(cells), sorted(REGIMES + ["all"]))
            for regime, cell in cells.items():
                self.assertEqual(cell["baseline"], "exact")
                self.assertEqual(cell["problems"], 14 if regime == "all" else 2)
                self.assertEqual((cell["model_refined"], cell["fallbacks"]), (0, 0))
                self.assertEqual(cell["greedy"]["misses"], cell["problems"])
                for method in ("served", "classical"):
                    self.assertEqual(cell[method]["answered"], cell["problems"])
                    self.assertEqual(cell[method]["infeasible"], 0)
                    # The exact optimum is a lower bound of every feasible route.
                    self.assertGreaterEqual(cell[method]["mean"], -1e-9, (regime, method))
                    self.assertLessEqual(cell[method]["mean"], cell[method]["max"] + 1e-12)
        self.assertEqual(report["speed"], [])

    def test_closed_tours_are_reported_apart_from_the_regimes(self):
        report, table = self.run_eval("--set", 'model.path=""', "--sizes", "8",
                                      "--closed_tour_sizes", "8,13", "--precisions", "none")
        self.assertIn("| 8 | closed tour | 2 |", table)
        self.assertIn("| 13 (ref) | closed tour | 1 |", table)
        # The regimes' cells hold the regimes' problems only.
        self.assertEqual(self.cells(report, 8)["all"]["problems"], 14)
        tours = {c["stops"]: c for c in report["cells"] if c["regime"] == "closed tour"}
        self.assertEqual(sorted(tours), [8, 13])
        self.assertEqual((tours[8]["baseline"], tours[13]["baseline"]), ("exact", "reference"))
        for stops, cell in tours.items():
            self.assertEqual(cell["served"]["answered"], cell["problems"], stops)
            self.assertEqual(cell["served"]["infeasible"], 0, stops)
        self.assertGreaterEqual(tours[8]["served"]["mean"], -1e-9)

    def test_the_model_answers_up_to_its_max_stops_and_the_solver_above(self):
        flags = ("--set", f"model.path={MODELS}/nearest_max16", "--sizes", "8,20",
                 "--speed_stops", "8", "--speed_batch_sizes", "1,4", "--precisions", "bf16")
        report, table = self.run_eval(*flags)
        self.assertTrue(report["model_version"].startswith("nearest_max16-"))
        self.assertEqual((report["max_stops"], report["decodings"]), (16, 8))
        for regime, cell in self.cells(report, 8).items():
            self.assertEqual(cell["model_refined"], cell["problems"], regime)
            for method in ("served", "proposed", "greedy"):
                self.assertEqual(cell[method]["answered"], cell["problems"], (regime, method))
                self.assertGreaterEqual(cell[method]["mean"], -1e-9, (regime, method))
            # Refinement starts from the proposal and never makes it worse; the best of 8
            # decodings is never worse than the greedy one among them.
            self.assertLessEqual(cell["served"]["mean"], cell["proposed"]["mean"] + 1e-12)
            self.assertLessEqual(cell["proposed"]["mean"], cell["greedy"]["mean"] + 1e-12)
        for regime, cell in self.cells(report, 20).items():
            self.assertEqual(cell["baseline"], "reference")
            self.assertEqual(cell["fallbacks"], cell["problems"], regime)  # 20 > max_stops 16
            self.assertEqual(cell["greedy"]["misses"], cell["problems"])
            self.assertEqual(cell["served"]["infeasible"], 0)
        self.assertEqual([(s["batch_size"], s["decodings"]) for s in report["speed"]],
                         [(1, 1), (1, 8), (4, 1), (4, 8)])
        self.assertTrue(all(s["routes_per_s"] > 0 for s in report["speed"]))
        [bf16] = report["agreement"]
        self.assertEqual((bf16["precision"], bf16["error"]), ("bf16", ""))
        self.assertEqual(bf16["compared"], 14)

        # At equal CPU: the classical solver answers every problem in the CPU the served path
        # spent on it.
        for stops in (8, 20):
            for regime, cell in self.cells(report, stops).items():
                self.assertGreater(cell["served_cpu_ms"], 0, (stops, regime))
                self.assertEqual(cell["classical_equal_cpu"]["answered"], cell["problems"])
                self.assertGreaterEqual(cell["classical_equal_cpu"]["mean"], -1e-9)
                self.assertGreaterEqual(cell["equal_cpu_rounds"], 0)
        self.assertIn("| stops | regime | served CPU ms | served mean |", table)

        again, _ = self.run_eval(*flags)
        # Times, and what the classical solver did within a time, vary from run to run.
        timed = ("classical_equal_cpu", "equal_cpu_rounds")
        untimed = lambda cells: [{k: v for k, v in c.items()
                                  if not k.endswith("_ms") and k not in timed} for c in cells]
        # The same problems, the same routes.
        self.assertEqual(untimed(again["cells"]), untimed(report["cells"]))

    def test_a_precision_the_device_cannot_run_is_reported_not_fatal(self):
        report, table = self.run_eval("--set", f"model.path={MODELS}/nearest", "--sizes", "8",
                                      "--precisions", "fp16", "--speed_batch_sizes", "1")
        [fp16] = report["agreement"]
        self.assertIn("fp16", fp16["error"])
        self.assertEqual(fp16["compared"], 0)
        self.assertIn("| fp16 | cannot run:", table)

    def test_baselines_kept_in_a_file_are_read_back_and_only_the_missing_ones_solved(self):
        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, "baselines.txt")
            flags = ("--set", 'model.path=""', "--precisions", "none", "--baselines", path)
            first, _ = self.run_eval(*flags, "--sizes", "8")
            with open(path, encoding="utf-8") as f:
                lines = [line.split() for line in f if not line.startswith("#")]
            self.assertEqual(len(lines), 14)  # 2 problems of each regime, one line each
            # Read back: every baseline doubled in the file halves every figure's cost ratio.
            with open(path, "w", encoding="utf-8") as f:
                f.writelines(f"{key} {float(cost) * 2!r}\n" for key, cost in lines)
            doubled, _ = self.run_eval(*flags, "--sizes", "8")
            for regime, cell in self.cells(doubled, 8).items():
                before = self.cells(first, 8)[regime]["classical"]["mean"]
                self.assertAlmostEqual(cell["classical"]["mean"], (1 + before) / 2 - 1, 9,
                                       regime)
            # A size not in the file is solved and added.
            self.run_eval(*flags, "--sizes", "8,10")
            with open(path, encoding="utf-8") as f:
                self.assertEqual(sum(1 for line in f if not line.startswith("#")), 28)
            # A line that is not "KEY COST" is refused, naming the file and the line.
            with open(path, "a", encoding="utf-8") as f:
                f.write("ffff not-a-cost\n")
            done = subprocess.run([EVAL, "--config", CONFIG, "--sizes", "8", "--per_regime",
                                   "1", *flags], capture_output=True, text=True)
            self.assertEqual(done.returncode, 1)
            self.assertIn(f"{path}:30: expected a key (hex) and a baseline cost", done.stderr)

    def test_bad_flags_and_models_are_refused_naming_them(self):
        done = subprocess.run([EVAL, "--sizes", "8,x"], capture_output=True, text=True)
        self.assertEqual(done.returncode, 2)
        self.assertIn("--sizes: bad value '8,x'", done.stderr)
        done = subprocess.run([EVAL, "--config", CONFIG, "--sizes", "500"], capture_output=True,
                              text=True)
        self.assertEqual(done.returncode, 2)
        self.assertIn("--sizes", done.stderr)
        done = subprocess.run([EVAL, "--config", CONFIG, "--set", "model.path=no/such/model",
                               "--sizes", "8", "--per_regime", "1"], capture_output=True,
                              text=True)
        self.assertEqual(done.returncode, 1)
        self.assertIn("no/such/model", done.stderr)


if __name__ == "__main__":
    unittest.main()
