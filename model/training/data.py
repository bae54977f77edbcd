"""Training and evaluation data: problems from routeserve-datagen, encoded once, batched by bucket.

A `BucketedData` holds each problem encoded at its bucket's size (the smallest of 8, 16, 32, 64,
128 that holds it, as the server pads), stacked per bucket, with its target order (the label's
stops, then the padding rows ascending), its label cost and its instance for the cost twin.
Batches are drawn within one bucket; `augment` rotates and reflects the plane.
"""

import dataclasses
import math
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import torch

import cost as cost_lib
import features
from features import BUCKETS, DEFAULT_OBJECTIVE, INPUT_KEYS, Objective, Problem


@dataclasses.dataclass
class Bucket:
    size: int  # N
    indices: np.ndarray  # into the data's problem list
    arrays: Dict[str, np.ndarray]  # the model's inputs, stacked: nodes [M, N, 16], ...
    targets: np.ndarray  # [M, N] int64: the label's order, then padding rows ascending
    costs: np.ndarray  # [M] float64: the label's cost (nan without one)
    instances: List[features.Instance]
    stops: np.ndarray  # [M] int64: each problem's stop count


class BucketedData:
    def __init__(self, problems: Sequence[Problem], objective: Objective = DEFAULT_OBJECTIVE,
                 buckets: Sequence[int] = BUCKETS, check_labels: bool = True):
        self.problems = list(problems)
        self.objective = objective
        self.buckets: Dict[int, Bucket] = {}
        by_size: Dict[int, List[int]] = {}
        for i, problem in enumerate(self.problems):
            by_size.setdefault(features.bucket_of(problem.num_stops, buckets), []).append(i)
        for size in sorted(by_size):
            indices = by_size[size]
            encoded, targets, costs, instances = [], [], [], []
            for i in indices:
                problem = self.problems[i]
                instance = features.build_instance(problem, objective)
                encoded.append(features.encode(problem, size, objective, instance))
                target = np.arange(size, dtype=np.int64)
                if problem.order is not None:
                    if check_labels:
                        check = cost_lib.evaluate(instance, problem.order)
                        if not check.feasible:
                            raise ValueError(f"problem {i} (seed {problem.seed}): its label is "
                                             f"infeasible ({check.infeasibility})")
                    target[:problem.num_stops] = problem.order
                targets.append(target)
                costs.append(problem.cost if problem.cost is not None else math.nan)
                instances.append(instance)
            self.buckets[size] = Bucket(
                size=size, indices=np.asarray(indices),
                arrays={k: np.stack([e[k] for e in encoded]) for k in INPUT_KEYS},
                targets=np.stack(targets), costs=np.asarray(costs, dtype=np.float64),
                instances=instances,
                stops=np.asarray([self.problems[i].num_stops for i in indices], dtype=np.int64))

    def __len__(self) -> int:
        return len(self.problems)

    @property
    def max_stops(self) -> int:
        return max(p.num_stops for p in self.problems)

    @property
    def max_bucket(self) -> int:
        return max(self.buckets)

    def sample(self, rng: np.random.Generator, batch_size: int,
               same_size: bool = True) -> Tuple[int, np.ndarray, int]:
        """(bucket size, rows, length): a batch drawn from one bucket, chosen in proportion to
        its problems. With `same_size`, all rows have the stop count of a problem drawn at
        random and `length` is that count, else `length` is the bucket's size."""
        sizes = sorted(self.buckets)
        counts = np.array([len(self.buckets[s].indices) for s in sizes], dtype=np.float64)
        size = sizes[int(rng.choice(len(sizes), p=counts / counts.sum()))]
        bucket = self.buckets[size]
        if not same_size:
            rows = rng.choice(len(bucket.indices), size=min(batch_size, len(bucket.indices)),
                              replace=False)
            return size, np.sort(rows), size
        length = int(bucket.stops[rng.integers(len(bucket.stops))])
        candidates = np.flatnonzero(bucket.stops == length)
        rows = rng.choice(candidates, size=min(batch_size, len(candidates)), replace=False)
        return size, np.sort(rows), length

    def batch(self, size: int, rows: np.ndarray, device: torch.device,
              length: Optional[int] = None) -> Dict[str, torch.Tensor]:
        """The model's inputs, "target" [B, N] and "cost" [B] of the given rows of a bucket.

        With `length` (>= the rows' stop counts), the padding rows past it are cut off: the
        features are still those of the bucket (courier feature 7 is n / bucket size), and the
        model, which masks padding, gives the same orders for the real stops; only the
        encoder and the decoder's steps over padding are saved (training only).
        """
        bucket = self.buckets[size]
        L = size if length is None else length
        arrays = {k: bucket.arrays[k][rows] for k in INPUT_KEYS}
        arrays["nodes"] = arrays["nodes"][:, :L]
        arrays["pairs"] = arrays["pairs"][:, :L]
        arrays["padding"] = arrays["padding"][:, :L]
        arrays["travel"] = arrays["travel"][:, :L + 1, :L + 1]
        out = {k: torch.from_numpy(np.ascontiguousarray(v)).to(device) for k, v in arrays.items()}
        out["target"] = torch.from_numpy(np.ascontiguousarray(bucket.targets[rows][:, :L])).to(device)
        out["cost"] = torch.from_numpy(bucket.costs[rows]).to(device)
        return out

    def cost_batch(self, size: int, rows: np.ndarray, device: torch.device,
                   length: Optional[int] = None) -> cost_lib.CostBatch:
        bucket = self.buckets[size]
        return cost_lib.CostBatch([bucket.instances[r] for r in rows],
                                  size if length is None else length, device)

    def chunks(self, batch_size: int) -> Iterator[Tuple[int, np.ndarray]]:
        """Every problem once: (bucket size, rows) in order, for evaluation."""
        for size in sorted(self.buckets):
            count = len(self.buckets[size].indices)
            for start in range(0, count, batch_size):
                yield size, np.arange(start, min(count, start + batch_size))


# Features that are east/north coordinates of the plane, as (east, north) column pairs.
NODE_PLANE_PAIRS = ((0, 1), (13, 14))
COURIER_PLANE_PAIRS = ((1, 2),)


def augment(batch: Dict[str, torch.Tensor], generator: torch.Generator) -> Dict[str, torch.Tensor]:
    """A random rotation of the plane, and a reflection half of the time, per problem.

    Distances, travel times and everything else are unchanged; padding rows stay zero.
    """
    nodes, courier = batch["nodes"].clone(), batch["courier"].clone()
    B = nodes.shape[0]
    angle = torch.rand(B, generator=generator) * (2 * math.pi)
    flip = torch.where(torch.rand(B, generator=generator) < 0.5, -1.0, 1.0)
    cos, sin = torch.cos(angle).to(nodes.device), torch.sin(angle).to(nodes.device)
    flip = flip.to(nodes.device)

    def turn(east: torch.Tensor, north: torch.Tensor, shape) -> Tuple[torch.Tensor, torch.Tensor]:
        c, s, f = cos.view(shape), sin.view(shape), flip.view(shape)
        east = east * f
        return c * east - s * north, s * east + c * north

    for e, n in NODE_PLANE_PAIRS:
        nodes[:, :, e], nodes[:, :, n] = turn(nodes[:, :, e], nodes[:, :, n], (B, 1))
    for e, n in COURIER_PLANE_PAIRS:
        courier[:, e], courier[:, n] = turn(courier[:, e], courier[:, n], (B,))
    out = dict(batch)
    out["nodes"], out["courier"] = nodes, courier
    return out


def gumbel(shape: Sequence[int], generator: torch.Generator, device: torch.device) -> torch.Tensor:
    """Gumbel noise -ln(-ln(u)), u uniform in (0, 1), drawn on the CPU for determinism."""
    u = torch.rand(*shape, generator=generator, dtype=torch.float64).clamp(1e-12, 1 - 1e-12)
    return (-torch.log(-torch.log(u))).to(torch.float32).to(device)


def split_heldout(problems: List[Problem], count: int) -> Tuple[List[Problem], List[Problem]]:
    """The last `count` problems are held out (the datagen's seeds increase along the file)."""
    count = min(count, len(problems) // 2)
    if count <= 0:
        return problems, []
    return problems[:-count], problems[-count:]


def load_data(path: str, limit: Optional[int] = None) -> List[Problem]:
    return features.load_jsonl(path, limit)
