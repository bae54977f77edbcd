"""Seals an exported model for the server's start-up checks (docs/MODEL.md, Integrity).

A sealed model directory holds, beside model.pt:
- selftest.json: a fixed self-test, problems from the project's generator (routeserve-datagen)
  of every regime and of sizes up to the model's max_stops, each with the cost of the route the
  model gives it, run as the server runs it (padded to its bucket), under model.yaml's
  objective: for route-v1 (family `pointer`) the best of its `decodings` decodings with the
  server's noise, before refinement; for route-v2 (family `edges`) the route its scores lead to
  greedily (edge_model.greedy_order, the server's first start);
- in model.yaml, a `seal` section: the SHA-256 of model.pt and of selftest.json.

Sealing never writes model.pt: an exported model keeps its bytes. It refuses a model whose
outputs are not finite, whose decodings are not feasible orders of the stops, or whose own
`contract` (the attribute export writes on the module) disagrees with model.yaml.

    seal(model_dir, problems=None, datagen=None, decodings=8)   # export.py --seal DIR
    script(module, max_stops)    # the TorchScript module with its contract, for export
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import os
import subprocess
import tempfile
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
import yaml

import cost
import edge_model
import features

SELFTEST_FILE = "selftest.json"
SELFTEST_FORMAT = 1
SELFTEST_PROBLEMS = 14  # two of each of the generator's seven regimes
SELFTEST_SEED = 9001  # routeserve-datagen --seed: problems no training or evaluation set uses
DEFAULT_DECODINGS = 8  # the server's default model.decodings
CONTRACT_ATTRIBUTE = "contract"
CONTRACT_KEYS = ("feature_version", "node_features", "courier_features", "max_stops")
SEAL_KEY = "seal"
# model.yaml's `family`: what forward() returns. Absent means pointer (models exported before
# route-v2 say nothing).
FAMILIES = ("pointer", "edges")


def family_of(meta: Dict) -> str:
    return meta.get("family", "pointer")


class SealError(RuntimeError):
    pass


# ---- The module's own contract ----------------------------------------------------------------

def contract(max_stops: int) -> Dict[str, int]:
    """What the module says of itself: the feature contract it was made for and its max_stops."""
    return {"feature_version": features.FEATURE_VERSION, "node_features": features.NODE_FEATURES,
            "courier_features": features.COURIER_FEATURES, "max_stops": int(max_stops)}


def script(module: torch.nn.Module, max_stops: int) -> torch.jit.ScriptModule:
    """`module` scripted from a CPU copy (so that the file loads on any device), with its
    contract as the attribute `contract` (Dict[str, int]), which the server checks against
    model.yaml."""
    exported = copy.deepcopy(module).cpu()
    setattr(exported, CONTRACT_ATTRIBUTE, contract(max_stops))
    return torch.jit.script(exported)


def check_contract(module: torch.jit.ScriptModule, meta: Dict, where: str) -> None:
    """model.yaml's feature contract must be the recipe's, and the module's contract (when it
    has one) must agree with model.yaml."""
    ours = contract(meta.get("max_stops", 0))
    for key in CONTRACT_KEYS[:3]:
        if meta.get(key) != ours[key]:
            raise SealError(f"{where}/model.yaml: {key}: {meta.get(key)!r}, but the recipe "
                            f"encodes {key} {ours[key]}")
    if not isinstance(meta.get("max_stops"), int) or meta["max_stops"] < 1:
        raise SealError(f"{where}/model.yaml: max_stops: expected an integer >= 1, got "
                        f"{meta.get('max_stops')!r}")
    if family_of(meta) not in FAMILIES:
        raise SealError(f"{where}/model.yaml: family: {meta.get('family')!r}, expected one of "
                        f"{', '.join(FAMILIES)}")
    if not isinstance(meta.get("objective"), dict):
        raise SealError(f"{where}/model.yaml: objective: expected a map, got "
                        f"{meta.get('objective')!r}")
    if not hasattr(module, CONTRACT_ATTRIBUTE):
        return
    said = dict(getattr(module, CONTRACT_ATTRIBUTE))
    for key in CONTRACT_KEYS:
        if key in said and said[key] != meta[key]:
            raise SealError(f"{where}/model.pt: the module's contract says {key} {said[key]}, "
                            f"model.yaml says {meta[key]}")


# ---- The self-test's problems -----------------------------------------------------------------

def selftest_sizes(max_stops: int, count: int = SELFTEST_PROBLEMS) -> List[int]:
    """Stop counts from 3 (or max_stops, if smaller) up to max_stops, spread geometrically:
    the last is max_stops itself, so that the self-test runs the model at its largest N."""
    low = min(3, max_stops)
    if count == 1:
        return [max_stops]
    return [max(low, min(max_stops, round(low * (max_stops / low) ** (i / (count - 1)))))
            for i in range(count)]


def find_datagen(explicit: Optional[str] = None) -> str:
    """The routeserve-datagen binary: `explicit`, else $ROUTESERVE_DATAGEN, else the build's."""
    repository = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    for candidate in (explicit, os.environ.get("ROUTESERVE_DATAGEN"),
                      os.path.join(repository, "build", "routeserve-datagen")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise SealError("the self-test's problems come from routeserve-datagen: build it (make "
                    "build) or name it (--datagen PATH, or ROUTESERVE_DATAGEN)")


def selftest_problems(max_stops: int, datagen: Optional[str] = None) -> List[features.Problem]:
    """SELFTEST_PROBLEMS problems from the generator, of every regime, of selftest_sizes()."""
    sizes = selftest_sizes(max_stops)
    with tempfile.TemporaryDirectory(prefix="routeserve-selftest-") as scratch:
        path = os.path.join(scratch, "problems.jsonl")
        # No solving beyond the insertion route and one descent: the labels are not used.
        run = subprocess.run([find_datagen(datagen), "--count", str(len(sizes)),
                              "--stops", ",".join(str(s) for s in sizes),
                              "--seed", str(SELFTEST_SEED), "--exact_up_to", "0",
                              "--rounds", "0", "--threads", "1", "--out", path],
                             capture_output=True, text=True)
        if run.returncode != 0:
            raise SealError(f"routeserve-datagen failed: {run.stderr.strip()}")
        return features.load_jsonl(path)


def padded_size(num_stops: int, max_stops: int) -> int:
    """The N the server runs a problem at with the default buckets: its bucket, capped at
    max_stops."""
    larger = [b for b in features.BUCKETS if b >= num_stops]
    return min(larger[0] if larger else max_stops, max_stops)


# ---- Running a case as the server does --------------------------------------------------------

def _check_order(order: Sequence[int], n: int, N: int) -> Optional[str]:
    """What is wrong with a decoding's order (its stops each once, then padding ascending)."""
    if sorted(order[:n]) != list(range(n)):
        return f"its first {n} positions are not the stops each once: {list(order[:n])}"
    if list(order[n:]) != list(range(n, N)):
        return "its padding rows are not in ascending order"
    return None


def _inputs(problem: features.Problem, N: int, objective: features.Objective):
    """`problem`'s instance and its batch of one at N: the inputs both families take."""
    instance = features.build_instance(problem, objective)
    inputs = features.encode(problem, N, objective, instance)
    return instance, [torch.from_numpy(inputs[key]).unsqueeze(0) for key in features.INPUT_KEYS]


def run_case(module: torch.jit.ScriptModule, problem: features.Problem, N: int, decodings: int,
             objective: features.Objective, name: str) -> Dict:
    """The best of the model's `decodings` on `problem` at N: its cost, decoding and order."""
    instance, tensors = _inputs(problem, N, objective)
    noise = torch.from_numpy(features.decoding_noise(problem, decodings, N, instance))
    with torch.inference_mode():
        orders, scores = module(*tensors, noise.unsqueeze(0))
    if tuple(orders.shape) != (1, decodings, N) or tuple(scores.shape) != (1, decodings):
        raise SealError(f"{name}: outputs of shapes {tuple(orders.shape)} and "
                        f"{tuple(scores.shape)}, expected (1, {decodings}, {N}) and "
                        f"(1, {decodings})")
    best = None
    n = problem.num_stops
    for k in range(decodings):
        score = float(scores[0, k])
        if not math.isfinite(score):
            raise SealError(f"{name}: decoding {k}: score {score} (the outputs must be finite)")
        order = [int(i) for i in orders[0, k]]
        wrong = _check_order(order, n, N)
        if wrong:
            raise SealError(f"{name}: decoding {k}: {wrong}")
        evaluation = cost.evaluate(instance, order[:n])
        if not evaluation.feasible:
            raise SealError(f"{name}: decoding {k}: infeasible ({evaluation.infeasibility} at "
                            f"stop {evaluation.infeasible_stop})")
        if best is None or evaluation.cost < best["cost"]:  # the earliest on a tie
            best = {"cost": evaluation.cost, "decoding": k, "order": order[:n]}
    return best


def run_edges_case(module: torch.jit.ScriptModule, problem: features.Problem, N: int,
                   objective: features.Objective, name: str) -> Dict:
    """The route an edge model's scores lead `problem` to greedily at N: its cost and order."""
    instance, tensors = _inputs(problem, N, objective)
    with torch.inference_mode():
        scores = module(*tensors)
    if not isinstance(scores, torch.Tensor) or tuple(scores.shape) != (1, N + 1, N + 1):
        shape = tuple(scores.shape) if isinstance(scores, torch.Tensor) else type(scores).__name__
        raise SealError(f"{name}: scores of shape {shape}, expected (1, {N + 1}, {N + 1})")
    n = problem.num_stops
    block = scores[0, :n + 1, :n + 1].float().numpy()
    if not np.isfinite(block).all():
        raise SealError(f"{name}: a score is not finite (the outputs must be finite)")
    order = edge_model.greedy_order(block, instance)
    evaluation = cost.evaluate(instance, order)
    if not evaluation.feasible:
        raise SealError(f"{name}: the greedy route is infeasible ({evaluation.infeasibility} at "
                        f"stop {evaluation.infeasible_stop})")
    return {"cost": evaluation.cost, "decoding": 0, "order": order}


def problem_json(problem: features.Problem) -> Dict:
    """A problem as selftest.json holds it (docs/MODEL.md): routing::RouteProblem's fields."""
    courier = {"lat_deg": problem.lat, "lng_deg": problem.lng, "now": problem.now,
               "vehicle": problem.vehicle, "capacity": problem.capacity}
    if problem.speed_mps is not None:
        courier["speed_mps"] = problem.speed_mps
    stops = []
    for stop in problem.stops:
        entry = {"id": stop.id, "lat_deg": stop.lat, "lng_deg": stop.lng,
                 "kind": ("pickup", "dropoff", "visit")[stop.kind]}
        if stop.order_id:
            entry["order_id"] = stop.order_id
        if stop.earliest is not None:
            entry["earliest"] = stop.earliest
        if stop.latest is not None:
            entry["latest"] = stop.latest
        entry["service_s"] = stop.service_s
        entry["load"] = stop.load
        stops.append(entry)
    result = {"courier": courier, "stops": stops}
    if problem.end is not None:
        result["end_position"] = {"lat_deg": problem.end[0], "lng_deg": problem.end[1]}
    if problem.matrix is not None:
        result["travel_times_s"] = list(problem.matrix)
    return result


def _case_name(problem: features.Problem, index: int) -> str:
    origin = f"{problem.regime}, seed {problem.seed}" if problem.regime else "given"
    return f"case {index}: {problem.num_stops} stops ({origin})"


def make_selftest(module: torch.jit.ScriptModule, meta: Dict,
                  problems: Sequence[features.Problem], decodings: int) -> Dict:
    objective = features.Objective(**meta["objective"])
    max_stops = meta["max_stops"]
    edges = family_of(meta) == "edges"
    if edges:
        decodings = 1  # the greedy route: samples would test the same scores again
    cases = []
    for index, problem in enumerate(problems):
        name = _case_name(problem, index)
        if problem.num_stops > max_stops:
            raise SealError(f"{name}: more stops than max_stops {max_stops}")
        N = padded_size(problem.num_stops, max_stops)
        best = run_edges_case(module, problem, N, objective, name) if edges else \
            run_case(module, problem, N, decodings, objective, name)
        cases.append({"name": name, "padded_size": N, "cost": best["cost"],
                      "decoding": best["decoding"], "order": best["order"],
                      "problem": problem_json(problem)})
    if not cases or max(case["padded_size"] for case in cases) != max_stops:
        raise SealError(f"the self-test must run the model at its max_stops, N {max_stops}")
    return {"format": SELFTEST_FORMAT,
            "about": "The route model's self-test (docs/MODEL.md), written by "
                     "model/training/seal.py: the server runs these problems at start-up and "
                     "expects these costs.",
            "decodings": decodings, "cases": cases}


def write_selftest(path: str, selftest: Dict) -> None:
    """JSON, one case per line (floats as repr: they round-trip exactly)."""
    head = {key: value for key, value in selftest.items() if key != "cases"}
    text = json.dumps(head)[:-1] + ', "cases": [\n'
    text += ",\n".join(json.dumps(case, allow_nan=False) for case in selftest["cases"])
    with open(path, "w", encoding="utf-8") as out:
        out.write(text + "\n]}\n")


# ---- Checksums in model.yaml ------------------------------------------------------------------

def sha256_of(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _without_seal(text: str) -> str:
    """model.yaml's text without its top-level `seal` section (the rest kept as written)."""
    kept, inside = [], False
    for line in text.splitlines(keepends=True):
        if line.startswith(SEAL_KEY + ":"):
            inside = True
            continue
        if inside and (line[:1] in (" ", "\t") or not line.strip()):
            continue
        inside = False
        kept.append(line)
    result = "".join(kept).rstrip("\n")
    return result + "\n" if result else ""


def record_checksums(model_dir: str) -> Dict[str, str]:
    """Writes model.yaml's `seal` section from the files as they are now; returns it."""
    sealed = {"model_sha256": sha256_of(os.path.join(model_dir, "model.pt")),
              "selftest_sha256": sha256_of(os.path.join(model_dir, SELFTEST_FILE))}
    path = os.path.join(model_dir, "model.yaml")
    with open(path, encoding="utf-8") as file:
        text = _without_seal(file.read())
    text += (f"{SEAL_KEY}:  # checked at start-up (docs/MODEL.md); written by "
             f"model/training/seal.py\n")
    text += "".join(f"  {key}: {value}\n" for key, value in sealed.items())
    if yaml.safe_load(text).get(SEAL_KEY) != sealed:
        raise SealError(f"{path}: the seal did not read back as written")
    with open(path, "w", encoding="utf-8") as out:
        out.write(text)
    return sealed


# ---- Sealing ----------------------------------------------------------------------------------

def seal(model_dir: str, problems: Optional[Sequence[features.Problem]] = None,
         datagen: Optional[str] = None, decodings: int = DEFAULT_DECODINGS) -> Dict:
    """Writes model_dir/selftest.json and model.yaml's seal for the model.pt there (left as it
    is); returns the self-test. `problems` default to selftest_problems(max_stops)."""
    with open(os.path.join(model_dir, "model.yaml"), encoding="utf-8") as file:
        meta = yaml.safe_load(file)
    if not isinstance(meta, dict):
        raise SealError(f"{model_dir}/model.yaml: expected a map of keys")
    module = torch.jit.load(os.path.join(model_dir, "model.pt"), map_location="cpu")
    module.eval()
    check_contract(module, meta, model_dir)
    if problems is None:
        problems = selftest_problems(meta["max_stops"], datagen)
    selftest = make_selftest(module, meta, problems, decodings)
    write_selftest(os.path.join(model_dir, SELFTEST_FILE), selftest)
    record_checksums(model_dir)
    return selftest
