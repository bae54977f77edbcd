"""train.py, export.py and evaluate.py end to end at the tiny preset: the loss falls, a resumed
run continues the step count (and the same steps give the same model), the export reloads and
matches the eager model, evaluation finds every order feasible.

The data comes from build/routeserve-datagen when the environment names it
(ROUTESERVE_DATAGEN, set by ctest when the tool is built), else from tests/model/synthetic.py;
so do the export's self-test problems (seal.py).
"""

import contextlib
import io
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
import warnings
from unittest import mock

import torch
import yaml

sys.path.insert(0, os.path.dirname(__file__))
import synthetic  # noqa: E402
import checkpoint  # noqa: E402
import data as data_lib  # noqa: E402
import evaluate as evaluate_lib  # noqa: E402
import export as export_lib  # noqa: E402
import features  # noqa: E402
import seal as seal_lib  # noqa: E402
import train  # noqa: E402

warnings.filterwarnings("ignore", message=".*batch_first.*")


def make_data(directory: str, name: str, count: int, seed: int) -> str:
    path = os.path.join(directory, name)
    datagen = os.environ.get("ROUTESERVE_DATAGEN")
    if datagen:
        subprocess.run([datagen, "--count", str(count), "--stops", "3-8", "--seed", str(seed),
                        "--exact_up_to", "8", "--threads", "2", "--out", path],
                       check=True, capture_output=True)
    else:
        synthetic.write_dataset(path, count, 2, 5, seed)
    return path


def quiet(function, *args, **kwargs):
    with contextlib.redirect_stdout(io.StringIO()):
        return function(*args, **kwargs)


class TrainTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        torch.set_num_threads(1)
        cls.dir = tempfile.mkdtemp(prefix="routeserve-train-")
        cls.data = make_data(cls.dir, "train.jsonl", 360, seed=11)
        cls.heldout = make_data(cls.dir, "heldout.jsonl", 40, seed=12)
        cls.stand_in = None
        if not os.environ.get("ROUTESERVE_DATAGEN"):
            cls.stand_in = mock.patch.object(
                seal_lib, "selftest_problems",
                lambda max_stops, datagen=None: synthetic.selftest_problems(max_stops))
            cls.stand_in.start()

    @classmethod
    def tearDownClass(cls):
        if cls.stand_in:
            cls.stand_in.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def argv(self, run, *extra):
        return ["--data", self.data, "--eval_data", self.heldout, "--run_dir",
                os.path.join(self.dir, run), "--preset", "tiny", "--seed", "3", *extra]

    def test_loss_falls_and_export_reloads(self):
        argv = self.argv("full", "--steps", "300", "--export", os.path.join(self.dir, "model"))
        state = quiet(train.train, train.parse_args(argv), argv)
        self.assertEqual(state["step"], 300)
        losses = [h["loss"] for h in state["history"] if "loss" in h]
        print(f"\ntiny run, loss every 50 steps: {' '.join(f'{x:.3f}' for x in losses)}; "
              f"held-out greedy gap {100 * state['evaluation']['greedy_gap']['mean']:.1f}%",
              file=sys.stderr)
        self.assertLess(losses[-1], 0.8 * losses[0])
        self.assertEqual(state["evaluation"]["feasible"], 1.0)

        out = os.path.join(self.dir, "model")
        with open(os.path.join(out, "model.yaml"), encoding="utf-8") as f:
            meta = yaml.safe_load(f)
        self.assertEqual((meta["feature_version"], meta["node_features"],
                          meta["courier_features"]), (1, 16, 8))
        self.assertEqual(meta["max_stops"], 8)
        self.assertEqual(meta["objective"], features.DEFAULT_OBJECTIVE.as_dict())
        self.assertEqual(meta["training"]["steps"], 300)
        self.assertEqual(meta["training"]["seed"], 3)
        self.assertEqual(meta["training"]["architecture"]["d_model"], 32)
        self.assertIn("--preset tiny", meta["training"]["command"])
        self.assertTrue(meta["training"]["data"].endswith("train.jsonl"))
        self.assertEqual(meta["evaluation"]["feasible"], 1.0)
        # Sealed: the checksums of the files as written, the module's contract, the self-test.
        self.assertEqual(meta["seal"], {
            "model_sha256": seal_lib.sha256_of(os.path.join(out, "model.pt")),
            "selftest_sha256": seal_lib.sha256_of(os.path.join(out, "selftest.json"))})

        scripted = torch.jit.load(os.path.join(out, "model.pt"))
        self.assertEqual(dict(scripted.contract), {"feature_version": 1, "node_features": 16,
                                                   "courier_features": 8, "max_stops": 8})
        model, _ = checkpoint.model_from_checkpoint(checkpoint.latest_checkpoint(
            os.path.join(self.dir, "full")), torch.device("cpu"))
        problems = features.load_jsonl(self.heldout)[:16]
        inputs = [torch.from_numpy(v) for v in features.encode_batch(problems, 8).values()]
        noise = -torch.log(-torch.log(torch.rand(16, 4, 8, generator=torch.Generator()
                                                 .manual_seed(0)).clamp(1e-9, 1 - 1e-9)))
        with torch.no_grad():
            expected = model(*inputs, noise)
            got = scripted(*inputs, noise)
        self.assertTrue(torch.equal(expected[0], got[0]))
        torch.testing.assert_close(expected[1], got[1], rtol=1e-5, atol=1e-5)

        # evaluate.py on the exported file: every order feasible, checked by the reference.
        summary = evaluate_lib.evaluate(
            scripted, data_lib.BucketedData(features.load_jsonl(self.heldout)), decodings=4,
            reference_check=True)
        self.assertEqual(summary["feasible"], 1.0)
        self.assertEqual(summary["reference_mismatches"], 0)
        self.assertLessEqual(summary["best_gap"]["mean"], summary["greedy_gap"]["mean"])

    def test_resume_continues_the_step_count_and_the_run(self):
        straight = quiet(train.train, train.parse_args(self.argv("straight", "--steps", "60")))
        argv = self.argv("resumed", "--steps", "60", "--checkpoint_every", "20")
        first = quiet(train.train, train.parse_args(argv + ["--max_steps_this_run", "40"]))
        self.assertEqual(first["step"], 40)
        self.assertEqual(os.path.basename(checkpoint.latest_checkpoint(os.path.join(self.dir,
                                                                                    "resumed"))),
                         "ckpt-0000040.pt")
        second = quiet(train.train, train.parse_args(argv + ["--resume"]))
        self.assertEqual(second["step"], 60)
        for name, value in straight["model"].items():
            torch.testing.assert_close(second["model"][name], value, rtol=1e-5, atol=1e-6,
                                       msg=name)

    def test_init_fine_tunes_an_earlier_run_and_the_export_records_both(self):
        first_argv = self.argv("stage1", "--steps", "20")
        first = quiet(train.train, train.parse_args(first_argv), first_argv)
        out = os.path.join(self.dir, "fine-tuned")
        argv = self.argv("stage2", "--steps", "1", "--lr", "1e-9", "--warmup", "1",
                         "--init", os.path.join(self.dir, "stage1"), "--export", out)
        second = quiet(train.train, train.parse_args(argv), argv)
        self.assertEqual(second["step"], 1)  # a run of its own
        for name, value in first["model"].items():  # that started from the first's weights
            torch.testing.assert_close(second["model"][name], value, rtol=1e-4, atol=1e-6,
                                       msg=name)
        with open(os.path.join(out, "model.yaml"), encoding="utf-8") as f:
            meta = yaml.safe_load(f)
        self.assertEqual(meta["training"]["steps"], 1)
        self.assertEqual(meta["training"]["init"]["steps"], 20)
        self.assertIn("--steps 20", meta["training"]["init"]["command"])
        self.assertEqual(meta["training"]["init"]["checkpoint"],
                         os.path.basename(checkpoint.latest_checkpoint(os.path.join(self.dir,
                                                                                    "stage1"))))
        self.assertFalse(os.path.isabs(meta["training"]["data"]))  # no machine's paths

        other = self.argv("stage2-wider", "--steps", "1", "--d_model", "64", "--init",
                          os.path.join(self.dir, "stage1"))
        with self.assertRaisesRegex(SystemExit, "architecture"):
            quiet(train.train, train.parse_args(other))

    def test_reinforce_steps_run(self):
        argv = self.argv("rl", "--steps", "10", "--rl_steps", "10", "--rl_samples", "4",
                         "--eval_every", "20", "--log_every", "5")
        state = quiet(train.train, train.parse_args(argv))
        self.assertEqual(state["step"], 20)
        ratios = [h["cost/label"] for h in state["history"] if "cost/label" in h]
        self.assertTrue(ratios and all(r >= 1.0 - 1e-9 for r in ratios))  # labels are optimal

    def test_export_refuses_another_torch(self):
        with mock.patch.object(torch, "__version__", "2.3.0"):
            with self.assertRaises(export_lib.TorchVersionError):
                export_lib.check_torch(allow_newer=False)
            with contextlib.redirect_stderr(io.StringIO()):
                export_lib.check_torch(allow_newer=True)
        with mock.patch.object(torch, "__version__", "1.13.1+cpu"):
            export_lib.check_torch(allow_newer=False)


if __name__ == "__main__":
    unittest.main()
