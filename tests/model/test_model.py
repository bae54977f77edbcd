"""model.py: the TorchScript contract of docs/MODEL.md (shapes, dtypes, padding rows last), masks
that never let an infeasible order through, scripted = eager, padding and batch-mates that do
not change a problem's decodings."""

import io
import os
import random
import sys
import unittest
import warnings

import torch

sys.path.insert(0, os.path.dirname(__file__))
import synthetic  # noqa: E402
import cost  # noqa: E402
import features  # noqa: E402
from model import RouteModel  # noqa: E402

warnings.filterwarnings("ignore", message=".*batch_first.*")  # torch 1.13's own, harmless


def small_model(seed=0, **kwargs):
    torch.manual_seed(seed)
    arch = dict(d_model=32, layers=2, heads=4, d_ff=64)
    arch.update(kwargs)
    return RouteModel(**arch).eval()


def inputs_of(problems, N):
    return [torch.from_numpy(v) for v in features.encode_batch(problems, N).values()]


def gumbel(B, K, N, seed):
    g = torch.Generator().manual_seed(seed)
    u = torch.rand(B, K, N, generator=g).clamp(1e-9, 1 - 1e-9)
    return -torch.log(-torch.log(u))


def random_problems(seed, count, max_stops):
    rng = random.Random(seed)
    return [features.parse_request(synthetic.random_request(rng, rng.randint(1, max_stops)))
            for _ in range(count)]


class ContractTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.model = small_model()
        cls.scripted = torch.jit.script(cls.model)
        cls.problems = random_problems(1, 12, 8)
        cls.inputs = inputs_of(cls.problems, 8)

    def test_shapes_dtypes_and_padding_rows_last(self):
        B, N, K = len(self.problems), 8, 3
        with torch.no_grad():
            orders, scores = self.scripted(*self.inputs, gumbel(B, K, N, 0))
        self.assertEqual((orders.shape, orders.dtype), ((B, K, N), torch.int64))
        self.assertEqual((scores.shape, scores.dtype), ((B, K), torch.float32))
        self.assertTrue(torch.isfinite(scores).all())
        self.assertTrue((scores <= 1e-5).all())
        for b, problem in enumerate(self.problems):
            n = problem.num_stops
            for k in range(K):
                order = orders[b, k].tolist()
                self.assertEqual(sorted(order[:n]), list(range(n)))
                self.assertEqual(order[n:], list(range(n, N)))

    def test_scripted_equals_eager_and_a_saved_file(self):
        B, N, K = len(self.problems), 8, 4
        noise = gumbel(B, K, N, 1)
        with torch.no_grad():
            eager = self.model(*self.inputs, noise)
            scripted = self.scripted(*self.inputs, noise)
            buffer = io.BytesIO()
            torch.jit.save(self.scripted, buffer)
            buffer.seek(0)
            loaded = torch.jit.load(buffer)(*self.inputs, noise)
        for other in (scripted, loaded):
            self.assertTrue(torch.equal(eager[0], other[0]))
            torch.testing.assert_close(eager[1], other[1], rtol=1e-5, atol=1e-5)

    def test_greedy_ignores_noise_and_samples_use_it(self):
        B, N, K = len(self.problems), 8, 6
        with torch.no_grad():
            a, _ = self.scripted(*self.inputs, gumbel(B, K, N, 2))
            b, _ = self.scripted(*self.inputs, gumbel(B, K, N, 3))
            c, _ = self.scripted(*self.inputs, gumbel(B, K, N, 2))
            greedy, _ = self.scripted(*self.inputs, torch.zeros(B, 1, N))
        self.assertTrue(torch.equal(a[:, 0], b[:, 0]))
        self.assertTrue(torch.equal(a[:, 0], greedy[:, 0]))
        self.assertTrue(torch.equal(a, c))  # same noise, same decodings
        self.assertFalse(torch.equal(a[:, 1:], b[:, 1:]))

    def test_padding_and_batch_mates_do_not_change_a_problem(self):
        problem = self.problems[0]
        n = problem.num_stops
        K = 3
        noise = gumbel(1, K, 8, 4)
        with torch.no_grad():
            alone = self.scripted(*inputs_of([problem], 8), noise)
            mates = random_problems(9, 5, 8)
            batch = self.scripted(*inputs_of(mates + [problem], 8),
                                  torch.cat([gumbel(5, K, 8, 5), noise]))
            # The same features with more padding rows (courier feature 7 kept as for N = 8).
            wide = inputs_of([problem], 16)
            wide[3][:, 7] = inputs_of([problem], 8)[3][:, 7]
            wide_noise = torch.zeros(1, K, 16)
            wide_noise[:, :, :8] = noise
            padded = self.scripted(*wide, wide_noise)
        self.assertTrue(torch.equal(alone[0][0], batch[0][5]))
        self.assertTrue(torch.equal(alone[0][0, :, :n], padded[0][0, :, :n]))
        torch.testing.assert_close(alone[1][0], padded[1][0], rtol=1e-4, atol=1e-4)

    def test_travel_bias_variant_scripts_and_agrees(self):
        model = small_model(seed=3, travel_bias=True)
        scripted = torch.jit.script(model)
        B, N = len(self.problems), 8
        noise = gumbel(B, 2, N, 6)
        with torch.no_grad():
            eager = model(*self.inputs, noise)
            script = scripted(*self.inputs, noise)
        self.assertTrue(torch.equal(eager[0], script[0]))

    def test_teacher_forcing_scores_the_target(self):
        model = small_model(seed=4)
        B, N = len(self.problems), 8
        inputs = dict(zip(features.INPUT_KEYS, self.inputs))
        with torch.no_grad():
            orders, scores = model(*self.inputs, torch.zeros(B, 1, N))
            forced = model.teacher_forced(inputs, orders[:, 0])
        torch.testing.assert_close(forced, scores[:, 0], rtol=1e-5, atol=1e-5)


class MaskTest(unittest.TestCase):
    """An untrained model, tight capacities, on-board orders, many seeds: every decoding of
    every problem must be feasible (cost.py's reference says so)."""

    def test_masks_never_produce_an_infeasible_order(self):
        K = 4
        checked = 0
        for seed in range(12):
            model = torch.jit.script(small_model(seed=seed))
            problems = random_problems(100 + seed, 24, 14)
            N = 16
            with torch.no_grad():
                orders, scores = model(*inputs_of(problems, N), gumbel(len(problems), K, N, seed))
            self.assertTrue(torch.isfinite(scores).all())
            batch_costs, batch_feasible = cost.CostBatch.from_problems(problems, N).evaluate(
                orders)
            self.assertTrue(batch_feasible.all())
            for b, problem in enumerate(problems):
                instance = features.build_instance(problem)
                for k in range(K):
                    order = orders[b, k].tolist()
                    n = problem.num_stops
                    self.assertEqual(order[n:], list(range(n, N)))
                    result = cost.evaluate(instance, order[:n])
                    self.assertTrue(result.feasible,
                                    msg=f"seed {seed} problem {b} decoding {k}: "
                                        f"{result.infeasibility} at {result.infeasible_stop}")
                    checked += 1
        self.assertGreater(checked, 1000)

    def test_capacity_at_its_limit(self):
        """Capacity 2 with 2 on board: no pickup until a dropoff, whatever the model likes."""
        request = {
            "courier": {"position": {"lat_deg": 10, "lng_deg": 10}, "now": "1700000000",
                        "vehicle_type": "VEHICLE_TYPE_CAR", "capacity": "2"},
            "stops": [
                {"id": "p1", "position": {"lat_deg": 10, "lng_deg": 10.001},
                 "kind": "STOP_KIND_PICKUP", "order_id": "x", "load": "1"},
                {"id": "d1", "position": {"lat_deg": 10.02, "lng_deg": 10},
                 "kind": "STOP_KIND_DROPOFF", "order_id": "x", "load": "1"},
                {"id": "b", "position": {"lat_deg": 10.03, "lng_deg": 10},
                 "kind": "STOP_KIND_DROPOFF", "order_id": "y", "load": "2"},
                {"id": "p2", "position": {"lat_deg": 10, "lng_deg": 10.002},
                 "kind": "STOP_KIND_PICKUP", "order_id": "z", "load": "2"},
                {"id": "d2", "position": {"lat_deg": 10.001, "lng_deg": 10.002},
                 "kind": "STOP_KIND_DROPOFF", "order_id": "z", "load": "2"},
            ],
        }
        problem = features.parse_request(request)
        K = 16
        for seed in range(5):
            model = small_model(seed=seed)
            with torch.no_grad():
                orders, _ = model(*inputs_of([problem], 8), gumbel(1, K, 8, seed) * 5)
            for k in range(K):
                order = orders[0, k].tolist()[:5]
                self.assertEqual(order[0], 2, msg=str(order))  # the on-board dropoff first
                self.assertTrue(cost.order_cost(problem, order).feasible, msg=str(order))


if __name__ == "__main__":
    unittest.main()
