"""route-v2's edge model (edge_model.py): its scores' contract (shape, masks, a softmax per
row), the scripted module equal to the eager one, scores that do not depend on the bucket or
the batch, the label's successors, and a tiny training run through train.py --family edges
whose loss falls, whose edge recall is measured against the travel-time baseline, and which
resumes step for step.
"""

import contextlib
import io
import json
import os
import random
import shutil
import sys
import tempfile
import unittest

import torch
import yaml

sys.path.insert(0, os.path.dirname(__file__))
import synthetic  # noqa: E402
import test_train  # noqa: E402  (its make_data; its test case is not collected here)
import checkpoint  # noqa: E402
import cost  # noqa: E402
import data as data_lib  # noqa: E402
import features  # noqa: E402
import edge_model  # noqa: E402
import seal  # noqa: E402
import train  # noqa: E402
from edge_model import (IGNORED, NOT_AN_EDGE, EdgeModel, edge_mask,  # noqa: E402
                        successor_targets)


def problems(count: int, seed: int):
    """Requests of 1 to 8 stops of every kind, with and without a matrix or an end."""
    rng = random.Random(seed)
    return [features.parse_request(synthetic.random_request(rng, 1 + i % 8))
            for i in range(count)]


def scores_of(model, batch_problems, size):
    inputs = [torch.from_numpy(v) for v in features.encode_batch(batch_problems, size).values()]
    with torch.no_grad():
        return model(*inputs), inputs


class EdgeModelTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        torch.set_num_threads(1)
        torch.manual_seed(0)
        cls.model = EdgeModel(d_model=32, layers=2, heads=4, d_ff=64).eval()
        cls.problems = problems(12, seed=5)

    def test_contract_masks_and_softmax(self):
        size = 16
        scores, inputs = scores_of(self.model, self.problems, size)
        nodes, pairs, padding = inputs[0], inputs[1], inputs[2]
        self.assertEqual(scores.shape, (len(self.problems), size + 1, size + 1))
        self.assertEqual(scores.dtype, torch.float32)
        mask = edge_mask(pairs, padding, nodes)
        self.assertTrue(torch.all(scores[mask] == NOT_AN_EDGE))
        self.assertTrue(torch.all(torch.isfinite(scores)))
        for b, problem in enumerate(self.problems):
            n = problem.num_stops
            instance = features.build_instance(problem)
            for i in range(n + 1):
                allowed = ~mask[b, i]
                # Never into the start, to itself or to padding.
                self.assertFalse(allowed[0])
                self.assertFalse(allowed[i])
                self.assertFalse(allowed[n + 1:].any())
                if allowed.any():
                    self.assertAlmostEqual(scores[b, i][allowed].exp().sum().item(), 1.0, 5)
            for stop in range(n):
                partner = int(instance.partner[stop])
                if partner >= 0 and problem.stops[stop].kind == features.DROPOFF:
                    self.assertTrue(mask[b, stop + 1, partner + 1], "dropoff -> own pickup")
                    self.assertTrue(mask[b, 0, stop + 1], "start -> dropoff of a pickup")
            self.assertTrue(mask[b, n + 1:].all() and mask[b, :, n + 1:].all())

    def test_scripted_equals_eager(self):
        scripted = torch.jit.script(self.model)
        inputs = [torch.from_numpy(v) for v in features.encode_batch(self.problems, 16).values()]
        with torch.no_grad():
            torch.testing.assert_close(scripted(*inputs), self.model(*inputs), rtol=0, atol=1e-6)

    def test_scores_do_not_depend_on_the_bucket_or_the_batch(self):
        alone = [scores_of(self.model, [p], 8)[0][0] for p in self.problems]
        for size in (8, 16, 64):
            together, _ = scores_of(self.model, self.problems, size)
            for b, problem in enumerate(self.problems):
                n = problem.num_stops
                torch.testing.assert_close(together[b, :n + 1, :n + 1],
                                           alone[b][:n + 1, :n + 1], rtol=0, atol=1e-5)

    def test_successors_of_the_label(self):
        # Two problems at N = 4: stops 2, 0, 1 (3 stops) and 1, 0 (2 stops).
        target = torch.tensor([[2, 0, 1, 3], [1, 0, 2, 3]])
        padding = torch.tensor([[False, False, False, True], [False, False, True, True]])
        self.assertEqual(successor_targets(target, padding).tolist(),
                         [[3, 2, IGNORED, 1, IGNORED], [2, IGNORED, 1, IGNORED, IGNORED]])


def quiet(function, *args, **kwargs):
    with contextlib.redirect_stdout(io.StringIO()):
        return function(*args, **kwargs)


class EdgeTrainingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        torch.set_num_threads(1)
        cls.dir = tempfile.mkdtemp(prefix="routeserve-edges-")
        cls.data = test_train.make_data(cls.dir, "train.jsonl", 360, seed=21)
        cls.heldout = test_train.make_data(cls.dir, "heldout.jsonl", 60, seed=22)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def argv(self, run, *extra):
        return ["--family", "edges", "--data", self.data, "--eval_data", self.heldout,
                "--run_dir", os.path.join(self.dir, run), "--preset", "tiny", "--seed", "4",
                "--steps", "200", *extra]

    def test_held_out_loss_falls_and_the_model_beats_the_nearest_stop(self):
        argv = self.argv("full")
        args = train.parse_args(argv)
        heldout = data_lib.BucketedData(features.load_jsonl(self.heldout))
        torch.manual_seed(args.seed)  # as train.py starts its model
        untrained = edge_model.evaluate_edges(checkpoint.build_any(train.architecture_of(args)),
                                              heldout, torch.device("cpu"), 64)
        state = quiet(train.train, args, argv)
        self.assertEqual(state["step"], 200)
        evaluation = state["evaluation"]
        print(f"\ntiny edge run: held-out loss {untrained['loss']:.3f} -> "
              f"{evaluation['loss']:.3f}, recall@1 {100 * evaluation['model_recall@1']:.1f}% "
              f"(nearest {100 * evaluation['nearest_recall@1']:.1f}%)", file=sys.stderr)
        self.assertLess(evaluation["loss"], 0.9 * untrained["loss"])
        self.assertGreater(evaluation["model_recall@1"], evaluation["nearest_recall@1"])
        for k in edge_model.RECALLS:
            for who in ("model", "nearest"):
                self.assertTrue(0.0 <= evaluation[f"{who}_recall@{k}"] <= 1.0)
        model, saved = checkpoint.model_from_checkpoint(
            checkpoint.latest_checkpoint(os.path.join(self.dir, "full")), torch.device("cpu"))
        self.assertIsInstance(model, EdgeModel)
        self.assertEqual(saved["architecture"]["family"], "edges")
        self.assertNotIn("tanh_clip", saved["architecture"])

    def test_resumed_run_gives_the_same_model(self):
        whole = quiet(train.train, train.parse_args(self.argv("whole")), self.argv("whole"))
        first = self.argv("parts", "--max_steps_this_run", "120")
        quiet(train.train, train.parse_args(first), first)
        rest = self.argv("parts", "--resume")
        resumed = quiet(train.train, train.parse_args(rest), rest)
        self.assertEqual(resumed["step"], 200)
        for name, tensor in whole["model"].items():
            torch.testing.assert_close(resumed["model"][name], tensor, rtol=0, atol=0)

    @unittest.skipUnless(os.environ.get("ROUTESERVE_DATAGEN"), "needs routeserve-datagen")
    def test_init_from_an_exported_model_starts_from_its_weights(self):
        # What fine-tuning the served model on captured traffic does: --init MODEL_DIR.
        out = os.path.join(self.dir, "served")
        argv = self.argv("served", "--steps", "10", "--export", out)
        exported = quiet(train.train, train.parse_args(argv), argv)
        again = self.argv("fine-tuned", "--steps", "1", "--lr", "0", "--init", out)
        tuned = quiet(train.train, train.parse_args(again), again)
        for name, tensor in exported["model"].items():
            torch.testing.assert_close(tuned["model"][name], tensor, rtol=0, atol=0)
        self.assertEqual(tuned["init"]["steps"], 10)
        wider = self.argv("wider", "--steps", "1", "--d_model", "64", "--init", out)
        with self.assertRaises(SystemExit):
            quiet(train.train, train.parse_args(wider), wider)

    def test_reinforce_is_refused(self):
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr), self.assertRaises(SystemExit):
            train.parse_args(self.argv("refused", "--rl_steps", "10"))
        self.assertIn("--rl_steps", stderr.getvalue())

    @unittest.skipUnless(os.environ.get("ROUTESERVE_DATAGEN"), "needs routeserve-datagen")
    def test_export_seals_the_greedy_routes_of_the_scores(self):
        out = os.path.join(self.dir, "exported")
        argv = self.argv("exported", "--steps", "20", "--export", out)
        quiet(train.train, train.parse_args(argv), argv)
        with open(os.path.join(out, "model.yaml"), encoding="utf-8") as f:
            meta = yaml.safe_load(f)
        self.assertEqual(meta["family"], "edges")
        self.assertEqual(meta["max_stops"], 8)  # the largest bucket of 3..8 stops
        with open(os.path.join(out, seal.SELFTEST_FILE), encoding="utf-8") as f:
            selftest = json.load(f)
        self.assertEqual(selftest["decodings"], 1)
        module = torch.jit.load(os.path.join(out, "model.pt"))
        objective = features.Objective(**meta["objective"])
        problems_sealed = seal.selftest_problems(meta["max_stops"])
        self.assertEqual(len(problems_sealed), len(selftest["cases"]))
        for case, problem in zip(selftest["cases"], problems_sealed):
            instance = features.build_instance(problem, objective)
            scores, _ = scores_of(module, [problem], case["padded_size"])
            order = edge_model.greedy_order(scores[0].numpy(), instance)
            self.assertEqual(order, case["order"], case["name"])
            self.assertEqual(cost.evaluate(instance, order).cost, case["cost"], case["name"])


class GreedyOrderTest(unittest.TestCase):
    def test_each_step_takes_the_best_stop_that_may_come_next(self):
        rng = random.Random(8)
        for problem in problems(60, seed=9):
            instance = features.build_instance(problem)
            n = problem.num_stops
            scores = [[rng.choice([0.0, -1.0, rng.uniform(-5, 0)]) for _ in range(n + 1)]
                      for _ in range(n + 1)]  # ties on purpose
            order = edge_model.greedy_order(torch.tensor(scores).numpy(), instance)
            self.assertEqual(sorted(order), list(range(n)))
            self.assertTrue(cost.evaluate(instance, order).feasible, order)
            node, load, done = 0, instance.initial_load, set()
            for stop in order:
                allowed = [s for s in range(n) if s not in done and (
                    load + instance.load_delta[s] <= instance.capacity if instance.is_pickup[s]
                    else instance.partner[s] < 0 or instance.partner[s] in done)]
                best = max(scores[node][s + 1] for s in allowed)
                self.assertEqual(stop, min(s for s in allowed if scores[node][s + 1] == best))
                done.add(stop)
                load += instance.load_delta[stop]
                node = stop + 1


if __name__ == "__main__":
    unittest.main()
