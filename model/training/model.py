"""The route model: a Transformer encoder over the stops and a pointer decoder with masks.

`RouteModel.forward(nodes, pairs, padding, courier, travel, noise) -> (orders, scores)` is the
TorchScript contract of docs/MODEL.md (feature version 1): orders int64 [B, K, N] (the real
stops, each once, in visiting order, then the padding rows ascending), scores float32 [B, K]
(each decoding's log-probability). Decoding 0 is greedy; decodings 1..K-1 add the caller's
Gumbel noise to the logits, so that they are seeded samples.

Architecture:
- Embedding: each stop's 16 features, plus a projection of its partner's embedding (pickup <->
  dropoff, via `pairs`); the courier's 8 features make a start token, node 0 as in `travel`.
- Encoder: Transformer layers (batch_first, post-norm, ReLU, so that inference takes PyTorch's
  fused path) over the start token and the stops; optionally a learned per-head bias of
  -scale x travel time on the attention logits (which gives up the fused path).
- Decoder: one step per stop. A context (the mean of the encoded stops, the current node, the
  current time, the load on board, the share of stops left, the legs to the end position) makes
  a query; a multi-head glimpse over the encoded stops refines it; the logits are
  C tanh(q.k / sqrt(d) + w(q) . dynamic), where `dynamic` are each candidate's leg from the
  current node, slack to its promised time, waiting and lateness at arrival, tracked along the
  route in float32. Masks: visited, a dropoff whose pickup is still to come, a pickup that
  would exceed the capacity, padding until the real stops are done.
"""

import math
from typing import Dict, Optional, Tuple

import torch
from torch import Tensor, nn

from features import COURIER_FEATURES, NODE_FEATURES

CAPACITY_TOLERANCE = 1e-6  # loads are fractions of the capacity (docs/MODEL.md)
STEP_FEATURES = 6  # time, load, spare capacity, share of stops left, leg to the end, has an end
DYNAMIC_FEATURES = 4  # per candidate: leg, slack to latest, waiting, lateness


class Encoder(nn.Module):
    """Transformer layers over [start token, stops]; padded keys are masked."""

    travel_bias: torch.jit.Final[bool]
    heads: torch.jit.Final[int]

    def __init__(self, d_model: int, layers: int, heads: int, d_ff: int, dropout: float,
                 travel_bias: bool):
        super().__init__()
        self.travel_bias = travel_bias
        self.heads = heads
        self.layers = nn.ModuleList([
            nn.TransformerEncoderLayer(d_model, heads, d_ff, dropout, batch_first=True)
            for _ in range(layers)])
        # Per head: how strongly attention prefers nodes that are near in travel time. Starts
        # at a mild preference; only used with travel_bias.
        self.bias_scale = nn.Parameter(torch.full((heads,), 0.5))

    def forward(self, x: Tensor, key_padding: Tensor, travel: Tensor) -> Tensor:
        if self.travel_bias:
            B, S = key_padding.shape
            # One additive mask [B * heads, S, S]: the travel bias, -inf on padded keys (a
            # float mask and a key padding mask together are not merged by every version).
            bias = -self.bias_scale.view(1, self.heads, 1, 1) * travel.unsqueeze(1)
            bias = bias.masked_fill(key_padding.view(B, 1, 1, S), float("-inf"))
            mask = bias.reshape(B * self.heads, S, S)
            for layer in self.layers:
                x = layer(x, src_mask=mask)
        else:
            for layer in self.layers:
                x = layer(x, src_key_padding_mask=key_padding)
        return x


class PointerDecoder(nn.Module):
    """Decodes K orders per problem at once (a batch of B x K), greedy, sampled or forced."""

    heads: torch.jit.Final[int]
    tanh_clip: torch.jit.Final[float]
    capacity_limit: torch.jit.Final[float]

    def __init__(self, d_model: int, heads: int, tanh_clip: float):
        super().__init__()
        self.heads = heads
        self.tanh_clip = tanh_clip
        self.capacity_limit = 1.0 + CAPACITY_TOLERANCE
        self.project_nodes = nn.Linear(d_model, 3 * d_model, bias=False)  # glimpse k, v; logit k
        self.project_graph = nn.Linear(d_model, d_model, bias=False)
        self.project_step = nn.Linear(d_model + STEP_FEATURES, d_model, bias=False)
        self.project_glimpse = nn.Linear(d_model, d_model, bias=False)
        self.project_dynamic = nn.Linear(d_model, DYNAMIC_FEATURES, bias=False)

    def forward(self, memory: Tensor, nodes: Tensor, pairs: Tensor, padding: Tensor,
                courier: Tensor, travel: Tensor, noise: Tensor,
                target: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
        """memory [B, N + 1, d] (start token first; padded rows zero); noise [B, K, N] (the
        caller's: its values over the real stops, rotated by one stop per step) or
        [B, K, N, N] (one draw per step, for training); target [B, K, N] forces the choices
        (teacher forcing) and the scores are then its log-probabilities."""
        B, N = padding.shape
        K = noise.shape[1]
        d = memory.shape[2]
        H = self.heads
        stops = memory[:, 1:]

        # Per problem, computed once and broadcast over the K decodings.
        glimpse_k, glimpse_v, logit_k = self.project_nodes(stops).chunk(3, dim=-1)
        # Laid out so that each step's products are one matrix product per problem (and head),
        # over its K decodings at once: broadcasting over K instead would run B * K * H tiny
        # products and copy the keys K times (4x slower on the CPU at B = 64, K = 8).
        glimpse_k = glimpse_k.reshape(B, N, H, d // H).permute(0, 2, 3, 1)  # [B, H, d/H, N]
        glimpse_v = glimpse_v.reshape(B, N, H, d // H).permute(0, 2, 1, 3)  # [B, H, N, d/H]
        logit_k = logit_k.transpose(1, 2)  # [B, d, N]
        real = (~padding).unsqueeze(-1).to(stops.dtype)
        count = real.sum(1).clamp(min=1.0)
        graph = self.project_graph(stops.mul(real).sum(1) / count).unsqueeze(1)  # [B, 1, d]

        # The route's quantities in float32, whatever the autocast: fractions of capacity for
        # the masks, normalised times for the context and the candidates' features.
        nodes = nodes.float()
        travel = travel.float()
        has_earliest = nodes[:, :, 3].unsqueeze(1) > 0.5
        earliest = nodes[:, :, 4].unsqueeze(1)
        has_latest = nodes[:, :, 5].unsqueeze(1) > 0.5
        latest = nodes[:, :, 6].unsqueeze(1)
        service = nodes[:, :, 7].unsqueeze(1)
        is_pickup = nodes[:, :, 8].unsqueeze(1) > 0.5
        is_dropoff = nodes[:, :, 9].unsqueeze(1) > 0.5
        load = nodes[:, :, 12].unsqueeze(1)
        load_delta = load * (nodes[:, :, 8] - nodes[:, :, 9]).unsqueeze(1)
        needs_pickup = (is_dropoff & (pairs >= 0).unsqueeze(1)).expand(B, K, N)
        partner = pairs.clamp(min=0).unsqueeze(1).expand(B, K, N)
        pad = padding.unsqueeze(1)
        end_leg = torch.cat([courier[:, 3:4].float(), nodes[:, :, 15]], dim=1)  # by node
        has_end = courier[:, 0:1].float().expand(B, K)
        num_real = (~padding).sum(1).view(B, 1)  # int64
        sampled = (torch.arange(K, device=noise.device) > 0).view(1, K, 1).to(noise.dtype)
        positions = torch.arange(N, device=nodes.device).view(1, N)

        current = torch.zeros(B, K, dtype=torch.long, device=nodes.device)  # node; 0 the start
        time = torch.zeros(B, K, dtype=torch.float32, device=nodes.device)
        on_board = courier[:, 4:5].float().expand(B, K).contiguous()
        visited = torch.zeros(B, K, N, dtype=torch.bool, device=nodes.device)
        orders = torch.zeros(B, K, N, dtype=torch.long, device=nodes.device)
        scores = torch.zeros(B, K, dtype=torch.float32, device=nodes.device)
        for step in range(N):
            done = (num_real <= step).expand(B, K)
            left = (num_real - step).clamp(min=0).to(torch.float32) / num_real.clamp(min=1)
            leg_end = end_leg.gather(1, current)
            context = torch.stack([time, on_board, 1.0 - on_board, left.expand(B, K),
                                   leg_end, has_end], dim=-1)
            here = memory.gather(1, current.unsqueeze(-1).expand(B, K, d))
            query = graph + self.project_step(torch.cat([here, context.to(here.dtype)], -1))

            blocked_dropoff = needs_pickup & ~visited.gather(2, partner)
            over_capacity = is_pickup & (on_board.unsqueeze(-1) + load > self.capacity_limit)
            held_padding = pad & ~done.unsqueeze(-1)
            mask = visited | blocked_dropoff | over_capacity | held_padding
            # Never a row with nothing allowed (an ill-formed problem): then any stop not yet
            # visited may come, and the server's check of the order catches it.
            mask = torch.where(mask.all(-1, keepdim=True), visited | held_padding, mask)

            # Glimpse: multi-head attention of the query over the allowed stops.
            q = query.view(B, K, H, d // H).transpose(1, 2)  # [B, H, K, d/H]
            attention = torch.matmul(q, glimpse_k) / math.sqrt(d // H)  # [B, H, K, N]
            attention = attention.masked_fill(mask.unsqueeze(1), float("-inf"))
            glimpse = torch.matmul(torch.softmax(attention, dim=-1), glimpse_v)  # [B, H, K, d/H]
            glimpse = self.project_glimpse(glimpse.transpose(1, 2).reshape(B, K, d))

            # Candidates' dynamic features: where the route stands if it goes there next.
            leg = travel.gather(1, current.unsqueeze(-1).expand(B, K, N + 1))[:, :, 1:]
            arrival = time.unsqueeze(-1) + leg
            slack = torch.where(has_latest, (latest - arrival).clamp(-10.0, 10.0),
                                torch.zeros_like(arrival))
            waiting = torch.where(has_earliest, (earliest - arrival).clamp(0.0, 10.0),
                                  torch.zeros_like(arrival))
            lateness = torch.where(has_latest, (arrival - latest).clamp(0.0, 10.0),
                                   torch.zeros_like(arrival))
            dynamic = torch.stack([leg, slack, waiting, lateness], dim=-1)  # [B, K, N, 4]

            compat = torch.matmul(glimpse, logit_k) / math.sqrt(d)  # [B, K, N]
            weights = self.project_dynamic(glimpse).float()
            compat = compat.float() + (dynamic * weights.unsqueeze(-2)).sum(-1)
            logits = self.tanh_clip * torch.tanh(compat)
            log_p = torch.log_softmax(logits.masked_fill(mask, float("-inf")), dim=-1)

            if target is not None:
                choice = target[:, :, step]
            else:
                if noise.dim() == 4:
                    gumbel = noise[:, :, step]
                else:
                    # Stop i takes the noise of real stop (i + step) mod n: each step sees
                    # the decoding's values in another arrangement, nearly fresh samples.
                    gumbel = noise.gather(2, ((positions + step) % num_real.clamp(min=1))
                                          .view(B, 1, N).expand(B, K, N))
                perturbed = logits + (gumbel * sampled).float()
                choice = perturbed.masked_fill(mask, float("-inf")).argmax(-1)
            # Once the real stops are done, the padding rows follow in ascending order.
            choice = torch.where(done, torch.full_like(choice, step), choice)
            picked = log_p.gather(2, choice.unsqueeze(-1)).squeeze(-1)
            scores = scores + torch.where(done, torch.zeros_like(picked), picked)
            orders[:, :, step] = choice

            chosen = choice.unsqueeze(-1)
            visited = visited.scatter(2, chosen, torch.ones_like(chosen, dtype=torch.bool))
            arrive = time + leg.gather(2, chosen).squeeze(-1)
            start = torch.where(has_earliest.expand(B, K, N).gather(2, chosen).squeeze(-1),
                                torch.maximum(arrive, earliest.expand(B, K, N)
                                              .gather(2, chosen).squeeze(-1)), arrive)
            new_time = start + service.expand(B, K, N).gather(2, chosen).squeeze(-1)
            new_load = on_board + load_delta.expand(B, K, N).gather(2, chosen).squeeze(-1)
            time = torch.where(done, time, new_time)
            on_board = torch.where(done, on_board, new_load)
            current = torch.where(done, current, choice + 1)
        return orders, scores


class NodeEncoding(nn.Module):
    """What both model families do first (route-v1's RouteModel, route-v2's EdgeModel): embed
    each stop with its partner's embedding, put a start token built from `start_features`
    courier features first, and run the Encoder. The layers are attributes of the model itself,
    so that its parameters keep their names (embed_nodes.weight, encoder.layers.0...)."""

    start_features: torch.jit.Final[int]

    def __init__(self, d_model: int, layers: int, heads: int, d_ff: int, dropout: float,
                 travel_bias: bool, start_features: int):
        super().__init__()
        if d_model % heads != 0:
            raise ValueError(f"d_model {d_model} is not a multiple of heads {heads}")
        self.start_features = start_features
        self.embed_nodes = nn.Linear(NODE_FEATURES, d_model)
        self.embed_partner = nn.Linear(d_model, d_model, bias=False)
        self.embed_start = nn.Linear(start_features, d_model)
        self.encoder = Encoder(d_model, layers, heads, d_ff, dropout, travel_bias)

    @torch.jit.export
    def encode(self, nodes: Tensor, pairs: Tensor, padding: Tensor, courier: Tensor,
               travel: Tensor) -> Tensor:
        """[B, N + 1, d]: the start token and the stops, encoded; padded rows zero."""
        B, N = padding.shape
        h = self.embed_nodes(nodes)
        partner = h.gather(1, pairs.clamp(min=0).unsqueeze(-1).expand(B, N, h.shape[2]))
        h = h + self.embed_partner(partner * (pairs >= 0).unsqueeze(-1).to(partner.dtype))
        start = self.embed_start(courier[:, :self.start_features])
        x = torch.cat([start.unsqueeze(1), h], dim=1)
        key_padding = torch.cat([torch.zeros_like(padding[:, :1]), padding], dim=1)
        x = self.encoder(x, key_padding, travel)
        # Padded rows may hold anything (even NaN on the fused path); zero them so that later
        # masked products never multiply a NaN by a zero weight.
        return x.masked_fill(key_padding.unsqueeze(-1), 0.0)


class RouteModel(NodeEncoding):
    """The exported module: forward(nodes, pairs, padding, courier, travel, noise)."""

    def __init__(self, d_model: int = 128, layers: int = 3, heads: int = 8, d_ff: int = 512,
                 dropout: float = 0.0, travel_bias: bool = False, tanh_clip: float = 10.0):
        super().__init__(d_model, layers, heads, d_ff, dropout, travel_bias, COURIER_FEATURES)
        self.decoder = PointerDecoder(d_model, heads, tanh_clip)

    def forward(self, nodes: Tensor, pairs: Tensor, padding: Tensor, courier: Tensor,
                travel: Tensor, noise: Tensor) -> Tuple[Tensor, Tensor]:
        memory = self.encode(nodes, pairs, padding, courier, travel)
        return self.decoder(memory, nodes, pairs, padding, courier, travel, noise, None)

    def teacher_forced(self, inputs: Dict[str, Tensor], target: Tensor) -> Tensor:
        """Log-probabilities [B] of the target orders [B, N] (training, eager only)."""
        memory = self.encode(inputs["nodes"], inputs["pairs"], inputs["padding"],
                             inputs["courier"], inputs["travel"])
        B, N = inputs["padding"].shape
        noise = torch.zeros(B, 1, N, device=memory.device)
        _, scores = self.decoder(memory, inputs["nodes"], inputs["pairs"], inputs["padding"],
                                 inputs["courier"], inputs["travel"], noise,
                                 target.view(B, 1, N))
        return scores.squeeze(1)


ARCHITECTURE_KEYS = ("d_model", "layers", "heads", "d_ff", "dropout", "travel_bias", "tanh_clip")


def build_model(architecture: Dict) -> RouteModel:
    return RouteModel(**{k: architecture[k] for k in ARCHITECTURE_KEYS if k in architecture})
