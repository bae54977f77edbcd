"""seal.py and export.py --seal: what a sealed model directory holds, that sealing never touches
model.pt, and what it refuses (a model.yaml that contradicts the module, outputs that are not
finite, decodings that are not feasible orders).

The self-test's problems come from build/routeserve-datagen when the environment names it
(ROUTESERVE_DATAGEN, set by ctest), else from tests/model/synthetic.py. The server's side of the
seal (the C++ checks at start-up) is tested in tests/model/model_integrity_test.cc.
"""

import contextlib
import io
import json
import os
import shutil
import sys
import tempfile
import unittest
import warnings

import torch
import yaml

sys.path.insert(0, os.path.dirname(__file__))
import synthetic  # noqa: E402
import export as export_lib  # noqa: E402
import features  # noqa: E402
import seal  # noqa: E402
from model import build_model  # noqa: E402

warnings.filterwarnings("ignore", message=".*batch_first.*")
DATAGEN = os.environ.get("ROUTESERVE_DATAGEN")
TINY = {"d_model": 16, "layers": 1, "heads": 2, "d_ff": 32}
MAX_STOPS = 16


def problems(max_stops):
    if DATAGEN:
        return seal.selftest_problems(max_stops, DATAGEN)
    return synthetic.selftest_problems(max_stops)


def read(path, mode="r"):
    with open(path, mode) as file:
        return file.read()


class SealTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        torch.set_num_threads(1)
        torch.manual_seed(4)
        cls.dir = tempfile.mkdtemp(prefix="routeserve-seal-")
        cls.model = build_model(TINY)
        cls.problems = problems(MAX_STOPS)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def exported(self, name):
        """The tiny model exported unsealed (model.pt with its contract, model.yaml), as a model
        exported before the seal existed."""
        out = os.path.join(self.dir, name)
        os.makedirs(out, exist_ok=True)
        torch.jit.save(seal.script(self.model, MAX_STOPS), os.path.join(out, "model.pt"))
        meta = export_lib.metadata({"step": 1}, MAX_STOPS, {})
        with open(os.path.join(out, "model.yaml"), "w", encoding="utf-8") as file:
            file.write("# written by the test\n")
            yaml.safe_dump(meta, file, sort_keys=False)
        return out

    def test_a_sealed_directory(self):
        out = self.exported("sealed")
        model_pt = read(os.path.join(out, "model.pt"), "rb")
        yaml_before = read(os.path.join(out, "model.yaml"))
        selftest = seal.seal(out, problems=self.problems)

        self.assertEqual(read(os.path.join(out, "model.pt"), "rb"), model_pt)
        yaml_after = read(os.path.join(out, "model.yaml"))
        self.assertTrue(yaml_after.startswith(yaml_before))  # the seal is added, nothing else
        meta = yaml.safe_load(yaml_after)
        self.assertEqual(meta["seal"], {
            "model_sha256": seal.sha256_of(os.path.join(out, "model.pt")),
            "selftest_sha256": seal.sha256_of(os.path.join(out, "selftest.json"))})

        written = json.loads(read(os.path.join(out, "selftest.json")))
        self.assertEqual(written, json.loads(json.dumps(selftest)))
        self.assertEqual((written["format"], written["decodings"]), (1, 8))
        self.assertEqual(len(written["cases"]), len(self.problems))
        self.assertEqual(max(case["padded_size"] for case in written["cases"]), MAX_STOPS)
        objective = features.Objective(**meta["objective"])
        module = torch.jit.load(os.path.join(out, "model.pt"))
        for case, problem in zip(written["cases"], self.problems):
            with self.subTest(case=case["name"]):
                self.assertEqual(len(case["problem"]["stops"]), problem.num_stops)
                # The recorded cost is the best decoding's, and running it again gives it.
                again = seal.run_case(module, problem, case["padded_size"], 8, objective, "again")
                self.assertEqual((again["cost"], again["order"]), (case["cost"], case["order"]))

        # Sealing again gives the same files: the self-test is fixed.
        seal.seal(out, problems=self.problems)
        self.assertEqual(read(os.path.join(out, "model.yaml")), yaml_after)

    def test_export_seal_mode_leaves_model_pt_as_it_is(self):
        if not DATAGEN:
            self.skipTest("export.py --seal draws its problems from routeserve-datagen")
        out = self.exported("cli")
        model_pt = read(os.path.join(out, "model.pt"), "rb")
        with contextlib.redirect_stdout(io.StringIO()) as printed:
            self.assertEqual(export_lib.main(["--seal", out, "--datagen", DATAGEN]), 0)
        self.assertIn("sealed", printed.getvalue())
        self.assertEqual(read(os.path.join(out, "model.pt"), "rb"), model_pt)
        self.assertIn("seal", yaml.safe_load(read(os.path.join(out, "model.yaml"))))
        with contextlib.redirect_stderr(io.StringIO()):
            with self.assertRaises(SystemExit):  # --seal with --out: one or the other
                export_lib.main(["--seal", out, "--out", out])

    def test_a_model_yaml_that_contradicts_the_module_is_refused(self):
        out = self.exported("contradicts")
        path = os.path.join(out, "model.yaml")
        text = read(path)
        for old, new, message in (("max_stops: 16", "max_stops: 100000",
                                   "module's contract says max_stops 16, model.yaml says 100000"),
                                  ("feature_version: 1", "feature_version: 2",
                                   "feature_version: 2, but the recipe encodes")):
            with self.subTest(key=old):
                with open(path, "w", encoding="utf-8") as file:
                    file.write(text.replace(old, new, 1))
                with self.assertRaisesRegex(seal.SealError, message):
                    seal.seal(out, problems=self.problems)
        self.assertFalse(os.path.exists(os.path.join(out, "selftest.json")))

    def test_outputs_that_are_not_finite_are_refused(self):
        out = self.exported("nan")
        module = torch.jit.load(os.path.join(out, "model.pt"))
        with torch.no_grad():
            for parameter in module.parameters():
                parameter.fill_(float("nan"))
        torch.jit.save(module, os.path.join(out, "model.pt"))
        with self.assertRaisesRegex(seal.SealError, r"decoding 0: score nan .*must be finite"):
            seal.seal(out, problems=self.problems)

    def test_sizes_reach_max_stops(self):
        for max_stops in (1, 2, 8, 16, 50, 64, 128):
            sizes = seal.selftest_sizes(max_stops)
            self.assertEqual(len(sizes), seal.SELFTEST_PROBLEMS)
            self.assertEqual(sizes[-1], max_stops)
            self.assertEqual(sizes, sorted(sizes))
            self.assertGreaterEqual(min(sizes), 1)
            self.assertEqual(seal.padded_size(sizes[-1], max_stops), max_stops)


if __name__ == "__main__":
    unittest.main()
