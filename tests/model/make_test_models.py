#!/usr/bin/python3
"""Writes small TorchScript route models that follow docs/MODEL.md's contract, for the C++ tests
of model/ and server/ (tests/model/CMakeLists.txt runs this as a CTest fixture).

Hand-written, they behave as a trained model never would on purpose (invalid orders, errors, a
wrong version), and deterministically; the recipe's own exports are tested through
make_recipe_model.py and models/route-v1. Each is sealed as the recipe seals a model
(model/training/seal.py: its contract on the module, selftest.json, the checksums in
model.yaml), so that it passes the server's start-up checks; the broken ones fault only on calls
with at least 2 decodings (SAMPLED) and are sealed with a greedy-only self-test, so that they
load and fault where a test asks for it, as a model whose faults show only in serving:

  nearest/        a nearest-feasible-neighbour decoder: decoding 0 takes the nearest stop the
                  masks allow (visited, dropoff before its pickup, capacity, padding), decodings
                  k >= 1 add the caller's Gumbel noise to the same logits. Every order it returns
                  is feasible and depends on the problem's real rows only (padding invariant).
  nearest_max16/  the same decoder, exported and sealed for max_stops 16.
  wrong_version/  nearest/, its model.yaml edited after the seal to say feature_version 2.
  index_order/    with K >= 2, returns 0, 1, ..., N-1 for every decoding: shaped like the
                  contract, but infeasible wherever a dropoff comes before its pickup.
  garbage/        with K >= 2, returns zeros: stop 0 over and over.
  raises/         with K >= 2, forward() raises.
  nan_scores/     nearest/'s orders; with K >= 2, scores that are NaN.
  bad_contract/   nearest/'s decoder, self-test and metadata, over a module whose `contract`
                  attribute is a list, not a Dict[str, int] (its checksum re-recorded).
  nearest_edges/  a route-v2 (family edges) model: each node's scores are the log-softmax of
                  -travel / 0.1 over the successors edge_model's masks allow, so its best-scored
                  successors are the nearest by travel time.
  faulty/         with K >= 2, nearest/'s decoder except for batches holding a problem of
                  exactly 3, 4 or 5 real stops: 3 raises, 4 returns garbage (zeros), 5 hangs (a
                  scripted loop over ~4.6e18 steps, each a tensor addition: it never returns,
                  and cannot be interrupted). Warm-up batches hold N real stops, N >= 8 with the
                  default buckets, so the model loads and warms up like nearest/ and faults only
                  where a test asks for it, on a server already serving.

Usage: make_test_models.py --out DIR [--datagen build/routeserve-datagen] (the self-tests'
problems come from the project's generator). Export with Debian's python3-torch (1.13), whose
files load in the project's LibTorch.
"""
import argparse
import os
import shutil
import sys
from typing import Sequence, Tuple

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "model",
                                "training"))
import edge_model  # noqa: E402
import seal  # noqa: E402

# The broken models fault only when a call asks for at least this many decodings: sealed with
# a greedy-only self-test (K = 1), they pass it and load, and fault where a test asks for it.
SAMPLED = 2

class NearestFeasible(torch.nn.Module):
    # Feature indices (docs/MODEL.md): node features 8 pickup, 9 dropoff, 12 load; courier
    # feature 4 the load on board. Loads are fractions of the capacity, with a tolerance of 1e-6.
    # Logits are -travel / 0.1: a small temperature makes the noise a nudge, not a shuffle.
    def forward(self, nodes: torch.Tensor, pairs: torch.Tensor, padding: torch.Tensor,
                courier: torch.Tensor, travel: torch.Tensor,
                noise: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        B, N = nodes.shape[0], nodes.shape[1]
        K = noise.shape[1]
        is_pickup = (nodes[:, :, 8] > 0.5).unsqueeze(1).expand(B, K, N)
        is_dropoff = (nodes[:, :, 9] > 0.5).unsqueeze(1).expand(B, K, N)
        loads = nodes[:, :, 12].unsqueeze(1).expand(B, K, N)
        partner = pairs.clamp(min=0).unsqueeze(1).expand(B, K, N)
        has_partner = (pairs >= 0).unsqueeze(1).expand(B, K, N)
        pad = padding.unsqueeze(1).expand(B, K, N)
        real = (~padding).sum(dim=1).view(B, 1).expand(B, K)
        index = torch.arange(N, dtype=torch.float32).view(1, 1, N).expand(B, K, N)
        sampled = (torch.arange(K) > 0).view(1, K, 1).to(torch.float32)

        visited = torch.zeros(B, K, N, dtype=torch.bool)
        load = courier[:, 4].view(B, 1).expand(B, K).clone()
        current = torch.zeros(B, K, dtype=torch.long)  # node: 0 the courier, i + 1 stop i
        orders = torch.zeros(B, K, N, dtype=torch.long)
        scores = torch.zeros(B, K, dtype=torch.float32)
        legs = travel[:, :, 1:]  # [B, N + 1, N]: from every node to every stop
        for step in range(N):
            from_current = torch.gather(legs, 1, current.unsqueeze(2).expand(B, K, N))
            pickup_done = torch.gather(visited, 2, partner)
            allowed = ~visited & ~pad
            allowed = allowed & (~is_dropoff | ~has_partner | pickup_done)
            allowed = allowed & (~is_pickup | (load.unsqueeze(2) + loads <= 1 + 1e-6))
            done = (real <= step).unsqueeze(2)  # real stops all placed: padding, ascending
            allowed = torch.where(done, ~visited & pad, allowed)
            logits = torch.where(done, -index, -from_current / 0.1)
            logits = logits.masked_fill(~allowed, float("-inf"))
            choice = torch.argmax(logits + noise * sampled, dim=2)  # [B, K]
            log_p = torch.log_softmax(logits, dim=2)
            scores = scores + torch.where(
                done.squeeze(2), torch.zeros_like(scores),
                torch.gather(log_p, 2, choice.unsqueeze(2)).squeeze(2))
            orders[:, :, step] = choice
            visited = visited.scatter(2, choice.unsqueeze(2), torch.ones_like(visited))
            chosen_load = torch.gather(loads, 2, choice.unsqueeze(2)).squeeze(2)
            picked = torch.gather(is_pickup, 2, choice.unsqueeze(2)).squeeze(2)
            dropped = torch.gather(is_dropoff, 2, choice.unsqueeze(2)).squeeze(2)
            load = load + torch.where(picked, chosen_load, torch.zeros_like(load))
            load = load - torch.where(dropped, chosen_load, torch.zeros_like(load))
            current = choice + 1
        return orders, scores


class IndexOrder(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.nearest = NearestFeasible()
        self.sampled = SAMPLED

    def forward(self, nodes: torch.Tensor, pairs: torch.Tensor, padding: torch.Tensor,
                courier: torch.Tensor, travel: torch.Tensor,
                noise: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        B, K, N = noise.shape[0], noise.shape[1], noise.shape[2]
        if K < self.sampled:
            return self.nearest(nodes, pairs, padding, courier, travel, noise)
        orders = torch.arange(N, dtype=torch.long).view(1, 1, N).expand(B, K, N).contiguous()
        return orders, torch.zeros(B, K)


class Garbage(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.nearest = NearestFeasible()
        self.sampled = SAMPLED

    def forward(self, nodes: torch.Tensor, pairs: torch.Tensor, padding: torch.Tensor,
                courier: torch.Tensor, travel: torch.Tensor,
                noise: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        B, K, N = noise.shape[0], noise.shape[1], noise.shape[2]
        if K < self.sampled:
            return self.nearest(nodes, pairs, padding, courier, travel, noise)
        return torch.zeros(B, K, N, dtype=torch.long), torch.zeros(B, K)


class Raises(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.nearest = NearestFeasible()
        self.sampled = SAMPLED

    def forward(self, nodes: torch.Tensor, pairs: torch.Tensor, padding: torch.Tensor,
                courier: torch.Tensor, travel: torch.Tensor,
                noise: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        if noise.shape[1] >= self.sampled:
            raise RuntimeError("test model: forward always fails")
        return self.nearest(nodes, pairs, padding, courier, travel, noise)


class NanScores(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.nearest = NearestFeasible()
        self.sampled = SAMPLED

    def forward(self, nodes: torch.Tensor, pairs: torch.Tensor, padding: torch.Tensor,
                courier: torch.Tensor, travel: torch.Tensor,
                noise: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        orders, scores = self.nearest(nodes, pairs, padding, courier, travel, noise)
        if noise.shape[1] >= self.sampled:
            scores = scores + float("nan")
        return orders, scores


class Faulty(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.nearest = NearestFeasible()
        self.sampled = SAMPLED
        # The stop counts that trigger each fault, counted on the padding mask.
        self.raise_stops = 3
        self.garbage_stops = 4
        self.hang_stops = 5

    def forward(self, nodes: torch.Tensor, pairs: torch.Tensor, padding: torch.Tensor,
                courier: torch.Tensor, travel: torch.Tensor,
                noise: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        if noise.shape[1] < self.sampled:
            return self.nearest(nodes, pairs, padding, courier, travel, noise)
        real = (~padding).sum(dim=1)
        if bool((real == self.hang_stops).any()):
            # The trip count comes from the input, so no pass can fold the loop away, and the
            # accumulator feeds the output, so none can drop it as dead code.
            steps = int(real.max()) * (1 << 60)
            spin = torch.zeros(1)
            i = 0
            while i < steps:
                spin = spin + 1.0
                i += 1
            orders, scores = self.nearest(nodes, pairs, padding, courier, travel, noise)
            return orders, scores + spin
        if bool((real == self.raise_stops).any()):
            raise RuntimeError("test model: forward fails on a problem of 3 stops")
        if bool((real == self.garbage_stops).any()):
            B, K, N = noise.shape[0], noise.shape[1], noise.shape[2]
            return torch.zeros(B, K, N, dtype=torch.long), torch.zeros(B, K)
        return self.nearest(nodes, pairs, padding, courier, travel, noise)


class NearestEdges(torch.nn.Module):
    def forward(self, nodes: torch.Tensor, pairs: torch.Tensor, padding: torch.Tensor,
                courier: torch.Tensor, travel: torch.Tensor) -> torch.Tensor:
        mask = edge_model.edge_mask(pairs, padding, nodes)
        scores = torch.log_softmax((-travel / 0.1).masked_fill(mask, float("-inf")), dim=-1)
        return scores.masked_fill(mask, edge_model.NOT_AN_EDGE)


def metadata(name: str, max_stops: int, family: str = "pointer") -> str:
    return f"""# Test model {name}, written by tests/model/make_test_models.py.
family: {family}
feature_version: 1
node_features: 16
courier_features: 8
max_stops: {max_stops}
objective:
  lateness_weight: 10
  waiting_weight: 0
  detour_factor: 1.3
  speed_mps: {{bike: 4.5, scooter: 6.5, car: 8.0, van: 7.0}}
training:
  command: tests/model/make_test_models.py
  note: a hand-written decoder, not trained
"""


def write(out: str, name: str, module: torch.nn.Module, problems: Sequence,
          max_stops: int = 128, decodings: int = seal.DEFAULT_DECODINGS,
          family: str = "pointer") -> None:
    """The module scripted with its contract, its metadata, and the seal: the self-test on
    `problems` with `decodings` decodings (1 for the models whose faults need K >= 2)."""
    directory = os.path.join(out, name)
    os.makedirs(directory, exist_ok=True)
    seal.script(module, max_stops).save(os.path.join(directory, "model.pt"))
    with open(os.path.join(directory, "model.yaml"), "w") as f:
        f.write(metadata(name, max_stops=max_stops, family=family))
    seal.seal(directory, problems=problems, decodings=decodings)


def copy_edited(out: str, source: str, name: str, old: str, new: str) -> None:
    """A copy of a sealed model whose model.yaml says `new` for `old` after the seal."""
    directory = os.path.join(out, name)
    shutil.rmtree(directory, ignore_errors=True)
    shutil.copytree(os.path.join(out, source), directory)
    path = os.path.join(directory, "model.yaml")
    with open(path) as f:
        text = f.read()
    assert old in text, f"{source}/model.yaml has no {old!r}"
    with open(path, "w") as f:
        f.write(text.replace(old, new, 1))


def write_bad_contract(out: str, name: str) -> None:
    """nearest/ with a module whose contract is malformed, under a matching checksum."""
    directory = os.path.join(out, name)
    shutil.rmtree(directory, ignore_errors=True)
    shutil.copytree(os.path.join(out, "nearest"), directory)
    module = NearestFeasible()
    module.contract = [1, 16, 8, 128]
    torch.jit.script(module).save(os.path.join(directory, "model.pt"))
    seal.record_checksums(directory)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="directory to write the models into")
    parser.add_argument("--datagen", default=None,
                        help="routeserve-datagen, for the self-tests' problems")
    args = parser.parse_args()
    out = args.out
    torch.set_num_threads(1)
    problems = seal.selftest_problems(128, args.datagen)
    write(out, "nearest", NearestFeasible(), problems)
    write(out, "nearest_max16", NearestFeasible(), seal.selftest_problems(16, args.datagen),
          max_stops=16)
    write(out, "nearest_edges", NearestEdges(), problems, family="edges")
    copy_edited(out, "nearest", "wrong_version", "feature_version: 1", "feature_version: 2")
    write_bad_contract(out, "bad_contract")
    for name, module in (("index_order", IndexOrder()), ("garbage", Garbage()),
                         ("raises", Raises()), ("nan_scores", NanScores()),
                         ("faulty", Faulty())):
        write(out, name, module, problems, decodings=1)


if __name__ == "__main__":
    main()
