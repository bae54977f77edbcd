"""scripts/gpu-check.sh rehearsed (--rehearse --quick) over this build tree: every step of the
GPU window runs on the CPU, and the report (JSON and Markdown) holds what each step measured; a
step that fails stops the run and the report keeps its log's end. No figure is judged: this
tests the script, so that the GPU window is not spent on a typo."""

import json
import os
import subprocess
import tempfile
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SCRIPT = os.path.join(ROOT, "scripts", "gpu-check.sh")
BUILD = os.environ["ROUTESERVE_BUILD_DIR"]


def run(*args):
    return subprocess.run([SCRIPT, *args], capture_output=True, text=True, timeout=900,
                          cwd=ROOT)


class GpuCheckRehearsalTest(unittest.TestCase):
    def test_every_step_runs_and_reports(self):
        with tempfile.TemporaryDirectory() as out:
            result = run("--rehearse", "--quick", "--build", BUILD, out)
            self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
            with open(os.path.join(out, "report.json")) as f:
                report = json.load(f)
            self.assertEqual(report["mode"], "rehearsal on the CPU")
            self.assertTrue(report["passed"])
            self.assertEqual([s["step"] for s in report["steps"]],
                             ["machine", "cuda_code", "gpu_tests", "model_bench", "precision",
                              "open_loop"])
            self.assertEqual(report["machine"]["cores"], str(os.cpu_count()))
            # 20 and 50 stops, fp32 and bf16 (fp16 is CUDA's only), batches 1 and 8.
            rows = report["model_bench"]
            self.assertEqual(len(rows), 8, rows)
            self.assertEqual({(r["stops"], r["precision"], r["batch"]) for r in rows},
                             {(s, p, b) for s in ("20", "50") for p in ("fp32", "bf16")
                              for b in ("1", "8")})
            self.assertTrue(all(float(r["routes/s"]) > 0 for r in rows))
            self.assertIsNotNone(report["precision"])
            self.assertIsNotNone(report["open_loop"])
            with open(os.path.join(out, "report.md")) as f:
                markdown = f.read()
            for section in ("## Model level", "## Precision agreement", "## Open loop"):
                self.assertIn(section, markdown)

    def test_a_failing_step_stops_the_run_and_keeps_its_log(self):
        with tempfile.TemporaryDirectory() as out, tempfile.TemporaryDirectory() as empty:
            result = run("--rehearse", "--quick", "--build", empty, out)
            self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
            self.assertIn("gpu_tests FAILED", result.stderr)
            with open(os.path.join(out, "report.json")) as f:
                report = json.load(f)
            self.assertFalse(report["passed"])
            self.assertEqual([(s["step"], s["outcome"]) for s in report["steps"]],
                             [("machine", "ok"), ("cuda_code", "ok"), ("gpu_tests", "failed")])
            self.assertTrue(report["steps"][2]["log_tail"])
            with open(os.path.join(out, "report.md")) as f:
                self.assertIn("## gpu_tests failed", f.read())

    def test_without_packages_the_unpack_step_says_how_to_get_them(self):
        with tempfile.TemporaryDirectory() as out, tempfile.TemporaryDirectory() as debs:
            result = run("--rehearse", "--quick", "--debs", debs, out)
            self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
            self.assertIn("run scripts/gpu-pack.sh", result.stderr)


if __name__ == "__main__":
    unittest.main()
