"""cost.py against hand-computed figures (tests/routing/evaluator_test.cc's ThreeStops), and its
vectorised form against the plain reference on random problems and orders."""

import os
import random
import sys
import unittest

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
import fixtures  # noqa: E402
import synthetic  # noqa: E402
import cost  # noqa: E402
import features  # noqa: E402


def weights(lateness, waiting):
    return features.Objective(lateness_weight=lateness, waiting_weight=waiting)


def instance_of(request, objective=features.DEFAULT_OBJECTIVE):
    return features.build_instance(features.parse_request(request), objective)


class ReferenceTest(unittest.TestCase):
    def test_etas_waiting_and_load_along_a_route(self):
        result = cost.evaluate(instance_of(fixtures.three_stops_request(), weights(10, 0.5)),
                               [0, 1, 2])
        self.assertTrue(result.feasible)
        p, d, v = result.steps
        self.assertEqual((p.arrival, p.waiting_s, p.service_start, p.departure, p.load_after),
                         (50, 50, 100, 120, 2))
        self.assertEqual((d.arrival, d.lateness_s, d.departure, d.load_after), (180, 0, 190, 0))
        self.assertEqual((v.arrival, v.departure), (260, 290))
        self.assertEqual(result.travel_time_s, 180)
        self.assertEqual(result.waiting_s, 50)
        self.assertEqual(result.end_time, 290)
        self.assertEqual(result.cost, 205)  # 180 + 0.5 x 50

    def test_a_better_order_avoids_the_wait(self):
        result = cost.evaluate(instance_of(fixtures.three_stops_request(), weights(10, 0.5)),
                               [2, 0, 1])
        self.assertTrue(result.feasible)
        self.assertEqual(result.steps[1].arrival, 100)
        self.assertEqual(result.cost, 130)

    def test_lateness_is_weighed(self):
        request = fixtures.three_stops_request()
        request["stops"][1]["time_window"]["latest"] = str(fixtures.NOW + 150)
        result = cost.evaluate(instance_of(request, weights(10, 0.5)), [0, 1, 2])
        self.assertEqual(result.steps[1].lateness_s, 30)
        self.assertEqual(result.cost, 505)  # 180 + 10 x 30 + 0.5 x 50

    def test_end_position_adds_the_last_leg(self):
        result = cost.evaluate(
            instance_of(fixtures.three_stops_with_end_request(), weights(10, 0)), [2, 0, 1])
        self.assertTrue(result.feasible)
        self.assertEqual(result.travel_time_s, 152)
        self.assertEqual(result.end_time, 212)
        self.assertEqual(result.cost, 152)

    def test_on_board_order_counts_from_the_start(self):
        request = fixtures.three_stops_request()
        request["stops"][2] = {"id": "b", "position": {}, "kind": "STOP_KIND_DROPOFF",
                               "order_id": "B", "load": "2"}
        instance = instance_of(request)
        self.assertEqual(instance.initial_load, 2)
        fine = cost.evaluate(instance, [2, 0, 1])
        self.assertTrue(fine.feasible)
        self.assertEqual([s.load_after for s in fine.steps], [0, 2, 0])
        over = cost.evaluate(instance, [0, 2, 1])
        self.assertEqual((over.infeasibility, over.infeasible_stop), (cost.OVER_CAPACITY, 0))
        self.assertEqual(over.steps[0].load_after, 4)

    def test_each_reason_a_route_is_infeasible(self):
        instance = instance_of(fixtures.three_stops_request())
        cases = [([1, 0, 2], cost.DROPOFF_BEFORE_PICKUP, 1),
                 ([0, 1], cost.STOP_MISSING, 2),
                 ([0, 1, 2, 2], cost.STOP_REPEATED, 2),
                 ([0, 1, 7], cost.STOP_REPEATED, 7)]
        for order, reason, stop in cases:
            result = cost.evaluate(instance, order)
            self.assertEqual((result.infeasibility, result.infeasible_stop), (reason, stop),
                             msg=str(order))


class BatchTest(unittest.TestCase):
    def test_hand_figures(self):
        problems = [features.parse_request(fixtures.three_stops_request())] * 3
        late = fixtures.three_stops_request()
        late["stops"][1]["time_window"]["latest"] = str(fixtures.NOW + 150)
        problems[2] = features.parse_request(late)
        batch = cost.CostBatch.from_problems(problems, 4, weights(10, 0.5))
        orders = torch.tensor([[0, 1, 2, 3], [2, 0, 1, 3], [0, 1, 2, 3]])
        costs, feasible = batch.evaluate(orders)
        self.assertEqual(costs.tolist(), [205, 130, 505])
        self.assertTrue(feasible.all())
        end = features.parse_request(fixtures.three_stops_with_end_request())
        costs, feasible = cost.CostBatch.from_problems([end], 3, weights(10, 0)).evaluate(
            torch.tensor([[[2, 0, 1], [0, 1, 2]]]))
        self.assertEqual(costs.tolist(), [[152, 180 + 33]])  # 2nd: travel 180, then v -> end

    def test_agrees_with_the_reference_on_random_orders(self):
        rng = random.Random(5)
        problems = [features.parse_request(synthetic.random_request(rng, rng.randint(1, 9)))
                    for _ in range(60)]
        N = 16
        objective = weights(10, 0.3)
        batch = cost.CostBatch.from_problems(problems, N, objective)
        K = 6
        orders = np.zeros((len(problems), K, N), dtype=np.int64)
        for b, problem in enumerate(problems):
            n = problem.num_stops
            for k in range(K):
                order = list(range(n))
                rng.shuffle(order)
                if k == K - 1 and n > 1:
                    order[-1] = order[0]  # a repeat and a missing stop
                orders[b, k] = order + list(range(n, N))
        costs, feasible = batch.evaluate(torch.from_numpy(orders))
        infeasible_seen = feasible_seen = 0
        for b, problem in enumerate(problems):
            instance = features.build_instance(problem, objective)
            for k in range(K):
                order = [i for i in orders[b, k] if i < problem.num_stops]
                reference = cost.evaluate(instance, order)
                self.assertEqual(bool(feasible[b, k]), reference.feasible, msg=f"{b} {k}")
                if reference.feasible:
                    feasible_seen += 1
                    self.assertAlmostEqual(float(costs[b, k]), reference.cost, places=6)
                else:
                    infeasible_seen += 1
        self.assertGreater(feasible_seen, 20)
        self.assertGreater(infeasible_seen, 20)


if __name__ == "__main__":
    unittest.main()
