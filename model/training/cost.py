"""The cost twin of routing::Evaluate (routing/evaluator.cc).

`evaluate(instance, order)` is the plain reference: it follows an order of stop indices from the
courier's position and time, exactly as the C++ evaluator, and reports feasibility (each stop
once, pickup before dropoff, load within capacity from the load on board), ETAs and the
objective: travel + lateness_weight x lateness + waiting_weight x waiting, lateness at arrival
against the latest time, waiting until the earliest, service after.

`CostBatch` holds the same quantities as padded float64 tensors and `CostBatch.evaluate(orders)`
scores a batch of orders [B, K, N] (padding rows anywhere after the real stops are skipped) at
once, on any device, for REINFORCE and evaluation. Tests hold the two to agree.
"""

from __future__ import annotations

import dataclasses
import math
from typing import List, Optional, Sequence

import numpy as np
import torch

from features import DEFAULT_OBJECTIVE, Instance, Objective, Problem, build_instance

NONE = "none"
STOP_MISSING = "stop_missing"
STOP_REPEATED = "stop_repeated"
DROPOFF_BEFORE_PICKUP = "dropoff_before_pickup"
OVER_CAPACITY = "over_capacity"


@dataclasses.dataclass
class Step:
    stop: int
    arrival: float
    service_start: float
    departure: float
    waiting_s: float
    lateness_s: float
    load_after: int


@dataclasses.dataclass
class Evaluation:
    steps: List[Step]
    travel_time_s: float = 0.0
    lateness_s: float = 0.0
    waiting_s: float = 0.0
    cost: float = 0.0
    end_time: float = 0.0
    infeasibility: str = NONE
    infeasible_stop: int = -1

    @property
    def feasible(self) -> bool:
        return self.infeasibility == NONE


def evaluate(instance: Instance, order: Sequence[int]) -> Evaluation:
    """The reference evaluation of `order` (stop indices), step by step as routing::Evaluate."""
    n = instance.num_stops
    params = instance.objective
    result = Evaluation(steps=[])

    def flag(reason: str, stop: int) -> None:
        if result.feasible:
            result.infeasibility = reason
            result.infeasible_stop = stop

    visited = [False] * n
    time = 0.0
    node = 0
    load = instance.initial_load
    for stop in order:
        stop = int(stop)
        if stop < 0 or stop >= n or visited[stop]:
            flag(STOP_REPEATED, stop)
            continue
        visited[stop] = True
        partner = int(instance.partner[stop])
        if partner >= 0 and not instance.is_pickup[stop] and not visited[partner]:
            flag(DROPOFF_BEFORE_PICKUP, stop)
        # Instance::VisitStop
        travel = float(instance.travel_s[node, stop + 1])
        arrival = time + travel
        service_start = max(arrival, float(instance.earliest[stop]))
        departure = service_start + float(instance.service_s[stop])
        lateness = max(0.0, arrival - float(instance.latest[stop]))
        load += int(instance.load_delta[stop])
        if load > instance.capacity:
            flag(OVER_CAPACITY, stop)
        result.steps.append(Step(stop, arrival, service_start, departure,
                                 service_start - arrival, lateness, load))
        result.travel_time_s += travel
        result.lateness_s += lateness
        result.waiting_s += service_start - arrival
        time = departure
        node = stop + 1
    for stop in range(n):
        if not visited[stop]:
            flag(STOP_MISSING, stop)
    if instance.has_end:
        leg = float(instance.travel_s[node, n + 1])
        result.travel_time_s += leg
        time += leg
    result.end_time = time
    result.cost = (result.travel_time_s + params.lateness_weight * result.lateness_s +
                   params.waiting_weight * result.waiting_s)
    return result


def order_cost(problem: Problem, order: Sequence[int],
               objective: Objective = DEFAULT_OBJECTIVE) -> Evaluation:
    return evaluate(build_instance(problem, objective), order)


class CostBatch:
    """A batch of instances padded to N stops as float64 tensors, for vectorised evaluation.

    Node indices as in the instance: 0 the courier, i + 1 stop i; index N + 1 is the end
    position (its legs are 0 for problems without one, which adds nothing).
    """

    def __init__(self, instances: Sequence[Instance], padded_size: int,
                 device: torch.device = torch.device("cpu")):
        B, N = len(instances), padded_size
        travel = np.zeros((B, N + 2, N + 2))
        earliest = np.full((B, N), -math.inf)
        latest = np.full((B, N), math.inf)
        service = np.zeros((B, N))
        delta = np.zeros((B, N), dtype=np.int64)
        partner = np.full((B, N), -1, dtype=np.int64)
        is_pickup = np.zeros((B, N), dtype=bool)
        initial = np.zeros(B, dtype=np.int64)
        capacity = np.zeros(B, dtype=np.int64)
        count = np.zeros(B, dtype=np.int64)
        for b, inst in enumerate(instances):
            n = inst.num_stops
            travel[b, :n + 1, :n + 1] = inst.travel_s[:n + 1, :n + 1]
            if inst.has_end:
                travel[b, :n + 1, N + 1] = inst.travel_s[:n + 1, n + 1]
            earliest[b, :n] = inst.earliest
            latest[b, :n] = inst.latest
            service[b, :n] = inst.service_s
            delta[b, :n] = inst.load_delta
            partner[b, :n] = inst.partner
            is_pickup[b, :n] = inst.is_pickup
            initial[b] = inst.initial_load
            capacity[b] = inst.capacity
            count[b] = n
        params = instances[0].objective if instances else DEFAULT_OBJECTIVE
        self.lateness_weight = params.lateness_weight
        self.waiting_weight = params.waiting_weight
        self.padded_size = N
        as_tensor = lambda a: torch.as_tensor(a, device=device)  # noqa: E731
        self.travel = as_tensor(travel)
        self.earliest = as_tensor(earliest)
        self.latest = as_tensor(latest)
        self.service = as_tensor(service)
        self.delta = as_tensor(delta)
        self.partner = as_tensor(partner)
        self.is_pickup = as_tensor(is_pickup)
        self.initial = as_tensor(initial)
        self.capacity = as_tensor(capacity)
        self.count = as_tensor(count)

    @staticmethod
    def from_problems(problems: Sequence[Problem], padded_size: int,
                      objective: Objective = DEFAULT_OBJECTIVE,
                      device: torch.device = torch.device("cpu")) -> "CostBatch":
        return CostBatch([build_instance(p, objective) for p in problems], padded_size, device)

    def select(self, rows: torch.Tensor) -> "CostBatch":
        """The sub-batch of the given rows."""
        out = CostBatch.__new__(CostBatch)
        out.__dict__.update(self.__dict__)
        for name in ("travel", "earliest", "latest", "service", "delta", "partner", "is_pickup",
                     "initial", "capacity", "count"):
            setattr(out, name, getattr(self, name)[rows])
        return out

    def evaluate(self, orders: torch.Tensor):
        """(cost [B, K] float64, feasible [B, K] bool) of orders [B, K, N] (or [B, N]).

        Indices at or past a problem's stop count are padding and skipped; feasibility asks
        for every real stop exactly once, each dropoff after its pickup, load within capacity.
        """
        squeeze = orders.dim() == 2
        if squeeze:
            orders = orders.unsqueeze(1)
        orders = orders.to(self.travel.device)
        B, K, T = orders.shape
        N = self.padded_size
        rows = torch.arange(B, device=orders.device).view(B, 1).expand(B, K)
        count = self.count.view(B, 1)
        visited = torch.zeros(B, K, N + 1, dtype=torch.bool, device=orders.device)
        feasible = torch.ones(B, K, dtype=torch.bool, device=orders.device)
        time = torch.zeros(B, K, dtype=torch.float64, device=orders.device)
        cost = torch.zeros(B, K, dtype=torch.float64, device=orders.device)
        node = torch.zeros(B, K, dtype=torch.long, device=orders.device)
        load = self.initial.view(B, 1).expand(B, K).clone()
        for t in range(T):
            stop = orders[:, :, t]
            real = (stop >= 0) & (stop < count)
            s = torch.where(real, stop, torch.zeros_like(stop))
            repeated = real & visited.gather(2, s.unsqueeze(-1)).squeeze(-1)
            feasible &= ~repeated
            step = real & ~repeated  # a repeat is flagged and otherwise skipped, as in C++
            visited.scatter_(2, torch.where(step, s, torch.full_like(s, N)).unsqueeze(-1), True)
            partner = self.partner[rows, s]
            has_partner = partner >= 0
            partner_seen = visited.gather(2, partner.clamp(min=0).unsqueeze(-1)).squeeze(-1)
            early_dropoff = step & has_partner & ~self.is_pickup[rows, s] & ~partner_seen
            feasible &= ~early_dropoff
            leg = self.travel[rows, node, s + 1]
            arrival = time + leg
            start = torch.maximum(arrival, self.earliest[rows, s])
            lateness = torch.clamp(arrival - self.latest[rows, s], min=0.0)
            step_cost = leg + self.lateness_weight * lateness + \
                self.waiting_weight * (start - arrival)
            cost = torch.where(step, cost + step_cost, cost)
            time = torch.where(step, start + self.service[rows, s], time)
            load = torch.where(step, load + self.delta[rows, s], load)
            feasible &= ~(step & (load > self.capacity.view(B, 1)))
            node = torch.where(step, s + 1, node)
        index = torch.arange(N, device=orders.device).view(1, 1, N)
        missing = (~visited[:, :, :N] & (index < count.view(B, 1, 1))).any(-1)
        feasible &= ~missing
        cost = cost + self.travel[rows, node, N + 1]  # zero without an end position
        if squeeze:
            return cost.squeeze(1), feasible.squeeze(1)
        return cost, feasible


def costs_of(problems: Sequence[Problem], orders: Sequence[Sequence[int]],
             objective: Objective = DEFAULT_OBJECTIVE) -> List[Optional[float]]:
    """Reference costs of one order per problem; None where the order is infeasible."""
    out = []
    for problem, order in zip(problems, orders):
        result = order_cost(problem, order, objective)
        out.append(result.cost if result.feasible else None)
    return out
