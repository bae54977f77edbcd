"""route-v2's model: one forward pass scores every directed pair of nodes (i -> j: how likely j
follows i in a good route), for the search to build its starts and candidate lists from.

`EdgeModel.forward(nodes, pairs, padding, courier, travel) -> scores` takes feature version 1's
inputs (docs/MODEL.md) but for `noise`, and ignores courier feature 7 (real stops / N): the
scores must not depend on the bucket a request is padded to. `scores` float32 [B, N + 1, N + 1]
over the nodes of `travel` (0 the courier's start, i + 1 stop i): row i holds the
log-probabilities of each node following node i, a softmax over the allowed successors; entries
that cannot be an edge of a route hold NOT_AN_EDGE: into the start, a node to itself, to or from
padding, a dropoff to its own pickup, and the start to a dropoff whose pickup is in the problem.
A real stop's row with no allowed successor (the problem's only stop) is all NOT_AN_EDGE. One
static-shape pass, no loop over the stops: batched, autocast and graph-captured as a whole.

Architecture: the embedding and the Transformer encoder of route-v1 (model.py), with the
travel-time bias on the attention (so that the encoder sees the caller's matrix, in both
directions); then a bilinear score of each pair of encoded nodes plus a small network of the
pair's travel times both ways (the nearest-neighbour prior the encoder refines).

Training (train.py --family edges): cross-entropy of each node's successor in the label route
(the start's first stop, each stop's next; the last stop's successor, the end or nothing, is
not scored): n labels per problem, each a choice among n, instead of one order step by step.
"""

from typing import Dict, List

import numpy as np
import torch
from torch import Tensor, nn

from features import COURIER_FEATURES, Instance
from model import NodeEncoding

NOT_AN_EDGE = -1.0e4  # finite, so that fp16 holds it and checks for NaN/inf stay meaningful
IGNORED = -100  # a successor target that is not scored (cross_entropy's ignore_index)
PAIR_FEATURES = 2  # travel i -> j, travel j -> i


def edge_mask(pairs: Tensor, padding: Tensor, nodes: Tensor) -> Tensor:
    """bool [B, N + 1, N + 1]: true where i -> j cannot be an edge of a route."""
    B, N = padding.shape
    device = padding.device
    pad = torch.cat([torch.zeros_like(padding[:, :1]), padding], dim=1)  # by node
    index = torch.arange(N + 1, device=device)
    mask = pad.unsqueeze(2) | pad.unsqueeze(1)  # from or to padding
    mask = mask | (index.view(1, 1, N + 1) == 0)  # into the start
    mask = mask | (index.view(1, N + 1, 1) == index.view(1, 1, N + 1))  # to itself
    # A dropoff whose pickup is in the problem: never first, never straight before its pickup.
    dropoff = (nodes[:, :, 9] > 0.5) & (pairs >= 0)  # [B, N]
    partner_node = pairs.clamp(min=0) + 1
    to_own_pickup = torch.zeros(B, N + 1, N + 1, dtype=torch.bool, device=device)
    to_own_pickup[:, 1:] = (partner_node.unsqueeze(-1) == index.view(1, 1, N + 1)) \
        & dropoff.unsqueeze(-1)
    mask = mask | to_own_pickup
    first_dropoff = torch.zeros_like(mask)
    first_dropoff[:, 0, 1:] = dropoff
    return mask | first_dropoff


class EdgeModel(NodeEncoding):
    """The exported module: forward(nodes, pairs, padding, courier, travel) -> scores."""

    not_an_edge: torch.jit.Final[float]

    def __init__(self, d_model: int = 64, layers: int = 3, heads: int = 4, d_ff: int = 256,
                 dropout: float = 0.0, pair_hidden: int = 16):
        # Courier feature 7 (stops / N) depends on the bucket: left out of the start token.
        super().__init__(d_model, layers, heads, d_ff, dropout, travel_bias=True,
                         start_features=COURIER_FEATURES - 1)
        self.query = nn.Linear(d_model, d_model, bias=False)
        self.key = nn.Linear(d_model, d_model, bias=False)
        self.pair = nn.Sequential(nn.Linear(PAIR_FEATURES, pair_hidden), nn.ReLU(),
                                  nn.Linear(pair_hidden, 1))
        self.scale = d_model ** -0.5
        self.not_an_edge = NOT_AN_EDGE

    def logits(self, nodes: Tensor, pairs: Tensor, padding: Tensor, courier: Tensor,
               travel: Tensor) -> Tensor:
        """float32 [B, N + 1, N + 1], unmasked."""
        x = self.encode(nodes, pairs, padding, courier, travel)
        bilinear = torch.matmul(self.query(x), self.key(x).transpose(1, 2)) * self.scale
        pair = self.pair(torch.stack([travel, travel.transpose(1, 2)], dim=-1)).squeeze(-1)
        return bilinear.float() + pair.float()

    def forward(self, nodes: Tensor, pairs: Tensor, padding: Tensor, courier: Tensor,
                travel: Tensor) -> Tensor:
        mask = edge_mask(pairs, padding, nodes)
        logits = self.logits(nodes, pairs, padding, courier, travel).masked_fill(
            mask, float("-inf"))
        scores = torch.log_softmax(logits, dim=-1)
        # A row with nothing allowed (padding, or a lone stop) is NaN after the softmax.
        return scores.masked_fill(mask, self.not_an_edge)


def greedy_order(scores: np.ndarray, instance: Instance) -> List[int]:
    """The route the scores lead to greedily, as the server builds its first start
    (routing::ScoredStarts, start 0): from the start, each time the best-scored stop among those
    that may come next (a dropoff after its pickup, a pickup within the capacity), the lower
    stop on a tie. `scores` [>= n + 1, >= n + 1] (a problem's padded block will do). The
    self-test's route (seal.py)."""
    n = len(instance.partner)
    visited = [False] * n
    load = int(instance.initial_load)
    node = 0
    order: List[int] = []
    for _ in range(n):
        best, best_value = -1, -float("inf")
        for stop in range(n):
            if visited[stop]:
                continue
            partner = int(instance.partner[stop])
            if instance.is_pickup[stop]:
                if load + int(instance.load_delta[stop]) > instance.capacity:
                    continue
            elif partner >= 0 and not visited[partner]:
                continue
            value = float(scores[node, stop + 1])
            if best < 0 or value > best_value:
                best, best_value = stop, value
        if best < 0:
            raise ValueError("greedy_order: no stop may come next (a problem not well formed)")
        visited[best] = True
        order.append(best)
        load += int(instance.load_delta[best])
        node = best + 1
    return order


def successor_targets(target: Tensor, padding: Tensor) -> Tensor:
    """int64 [B, N + 1]: for each node, the node that follows it in the label order `target`
    [B, N] (real stops first); IGNORED for the last stop, padding, and nodes of no label."""
    B, N = padding.shape
    n = (~padding).sum(1, keepdim=True)  # [B, 1]
    order_nodes = target + 1  # [B, N]
    previous = torch.cat([torch.zeros_like(order_nodes[:, :1]), order_nodes[:, :-1]], dim=1)
    real = torch.arange(N, device=target.device).view(1, N) < n
    # Writes beyond the real stops go to a spare column N + 1, dropped after.
    rows = torch.where(real, previous, torch.full_like(previous, N + 1))
    successors = torch.full((B, N + 2), IGNORED, dtype=torch.long, device=target.device)
    successors.scatter_(1, rows, torch.where(real, order_nodes, torch.full_like(rows, IGNORED)))
    return successors[:, :N + 1]


def edge_loss(model: EdgeModel, batch: Dict[str, Tensor]) -> Tensor:
    """Mean cross-entropy of each scored node's successor in the label route."""
    scores = model(batch["nodes"], batch["pairs"], batch["padding"], batch["courier"],
                   batch["travel"])
    successors = successor_targets(batch["target"], batch["padding"])
    return nn.functional.nll_loss(scores.reshape(-1, scores.shape[-1]).float(),
                                  successors.reshape(-1), ignore_index=IGNORED)


def edge_recall(scores: Tensor, successors: Tensor, k: int) -> Tensor:
    """float [B]: each problem's share of label edges whose successor is among its row's k
    best-scored nodes (nan for a problem with no scored edge)."""
    scored = successors != IGNORED
    top = scores.topk(min(k, scores.shape[-1]), dim=-1).indices  # [B, N + 1, k]
    hit = (top == successors.clamp(min=0).unsqueeze(-1)).any(-1) & scored
    return hit.sum(1).float() / scored.sum(1).float()


def nearest_scores(batch: Dict[str, Tensor]) -> Tensor:
    """The travel-time baseline as scores: -travel(i -> j), masked as the model's."""
    mask = edge_mask(batch["pairs"], batch["padding"], batch["nodes"])
    return (-batch["travel"].float()).masked_fill(mask, NOT_AN_EDGE)


RECALLS = (1, 5, 8)  # the candidate-list sizes the held-out evaluation reports


def evaluate_edges(model: EdgeModel, data, device: torch.device, batch_size: int) -> Dict:
    """Held-out: the loss, and each k of RECALLS' recall of the label edges among each node's k
    best-scored successors, the model's and the travel-time baseline's (mean over problems)."""
    was_training = model.training
    model.eval()
    recalls: Dict[str, List[Tensor]] = {f"{who}_recall@{k}": [] for who in ("model", "nearest")
                                         for k in RECALLS}
    losses: List[float] = []
    with torch.no_grad():
        for size in sorted(data.buckets):
            count = len(data.buckets[size].indices)
            for begin in range(0, count, batch_size):
                rows = np.arange(begin, min(count, begin + batch_size))
                batch = data.batch(size, rows, device)
                scores = model(batch["nodes"], batch["pairs"], batch["padding"],
                               batch["courier"], batch["travel"]).float()
                successors = successor_targets(batch["target"], batch["padding"])
                losses.append(nn.functional.nll_loss(
                    scores.reshape(-1, scores.shape[-1]), successors.reshape(-1),
                    ignore_index=IGNORED, reduction="sum").item())
                nearest = nearest_scores(batch)
                for k in RECALLS:
                    recalls[f"model_recall@{k}"].append(edge_recall(scores, successors, k))
                    recalls[f"nearest_recall@{k}"].append(edge_recall(nearest, successors, k))
    model.train(was_training)
    edges = sum(problem.num_stops for problem in data.problems)  # n scored per problem
    summary = {name: torch.cat(values).nanmean().item() for name, values in recalls.items()}
    summary["loss"] = sum(losses) / max(1, edges)
    return summary


ARCHITECTURE_KEYS = ("d_model", "layers", "heads", "d_ff", "dropout", "pair_hidden")


def build_edge_model(architecture: Dict) -> EdgeModel:
    return EdgeModel(**{k: architecture[k] for k in ARCHITECTURE_KEYS if k in architecture})
