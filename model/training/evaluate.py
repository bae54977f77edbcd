"""Route quality of a model on held-out problems: gaps to the data's costs, feasibility.

    evaluate.py --model DIR/model.pt|RUN/ckpt-N.pt --data heldout.jsonl [--decodings 16]
                [--device cpu|cuda] [--threads T] [--limit M] [--json OUT]

Greedy gap and best-of-K gap (the greedy decoding and K - 1 sampled ones) against the cost in
the data (exact optima up to the datagen's --exact_up_to, the classical solver's above): mean,
p95, max, share within 1e-6 of the label, per regime too; share of feasible orders (every
order the model returns is checked, the vectorised twin on all, the plain reference on the
best). A feasible share below 100% is a failure (exit status 1).
"""

import argparse
import json
import sys
import time
from typing import Callable, Dict, List, Optional

import numpy as np
import torch

import checkpoint
import cost as cost_lib
import data as data_lib
import features
import runtime

Forward = Callable[..., tuple]


def _stats(gaps: np.ndarray) -> Dict[str, float]:
    if len(gaps) == 0:
        return {"mean": float("nan"), "p95": float("nan"), "max": float("nan"), "optimal": 0.0}
    return {"mean": float(gaps.mean()), "p95": float(np.percentile(gaps, 95)),
            "max": float(gaps.max()), "optimal": float((gaps <= 1e-6).mean())}


def noise_for(problems: List[features.Problem], rows: np.ndarray, size: int, decodings: int,
              seed: int) -> torch.Tensor:
    """Per-problem Gumbel noise [B, K, N] (zero for decoding 0 and padding), keyed by the
    problem's seed, so that a problem gets the same decodings in any batch."""
    out = np.zeros((len(rows), decodings, size), dtype=np.float32)
    for j, problem in enumerate(problems):
        key = problem.seed if problem.seed is not None else int(rows[j])
        noise = features.gumbel_noise(seed * 1_000_003 + key, decodings, size)
        out[j, 1:, :problem.num_stops] = noise[1:, :problem.num_stops]
    return torch.from_numpy(out)


@torch.no_grad()
def evaluate(forward: Forward, data: data_lib.BucketedData, decodings: int = 1,
             device: torch.device = torch.device("cpu"), batch_size: int = 256,
             noise_seed: int = 0, reference_check: bool = False) -> Dict:
    """The quality summary of `forward` (a model or a scripted module) on `data`."""
    start = time.time()
    greedy_gaps, best_gaps, regimes = [], [], []
    orders_checked = feasible_orders = 0
    reference_failures = 0
    for size, rows in data.chunks(batch_size):
        bucket = data.buckets[size]
        batch = data.batch(size, rows, device)
        problems = [data.problems[bucket.indices[r]] for r in rows]
        noise = noise_for(problems, rows, size, decodings, noise_seed).to(device)
        orders, _ = forward(batch["nodes"], batch["pairs"], batch["padding"], batch["courier"],
                            batch["travel"], noise)
        costs, feasible = data.cost_batch(size, rows, device).evaluate(orders)
        costs, feasible = costs.cpu().numpy(), feasible.cpu().numpy()
        orders_checked += feasible.size
        feasible_orders += int(feasible.sum())
        label = np.maximum(bucket.costs[rows], 1e-9)
        masked = np.where(feasible, costs, np.inf)
        greedy_gaps.append(masked[:, 0] / label - 1)
        best = masked.min(axis=1)
        best_gaps.append(best / label - 1)
        regimes += [p.regime or "all" for p in problems]
        if reference_check:
            best_k = masked.argmin(axis=1)
            for j, problem in enumerate(problems):
                order = [i for i in orders[j, best_k[j]].tolist() if i < problem.num_stops]
                result = cost_lib.evaluate(bucket.instances[rows[j]], order)
                if not result.feasible or abs(result.cost - best[j]) > 1e-6 * max(1, best[j]):
                    reference_failures += 1
    greedy = np.concatenate(greedy_gaps) if greedy_gaps else np.zeros(0)
    best = np.concatenate(best_gaps) if best_gaps else np.zeros(0)
    regimes = np.asarray(regimes)
    summary = {
        "problems": int(len(greedy)),
        "stops": [int(min(p.num_stops for p in data.problems)),
                  int(max(p.num_stops for p in data.problems))],
        "decodings": decodings,
        "feasible": feasible_orders / max(orders_checked, 1),
        "greedy_gap": _stats(greedy[np.isfinite(greedy)]),
        "best_gap": _stats(best[np.isfinite(best)]),
        "seconds": time.time() - start,
    }
    if reference_check:
        summary["reference_mismatches"] = reference_failures
    if len(set(regimes.tolist())) > 1:
        summary["by_regime"] = {
            r: {"problems": int((regimes == r).sum()),
                "greedy_gap_mean": float(greedy[regimes == r].mean()),
                "best_gap_mean": float(best[regimes == r].mean())}
            for r in sorted(set(regimes.tolist()))}
    return summary


def format_summary(summary: Dict) -> str:
    g, b = summary["greedy_gap"], summary["best_gap"]
    return (f"{summary['problems']} problems ({summary['stops'][0]}-{summary['stops'][1]} "
            f"stops): feasible {100 * summary['feasible']:.2f}%; greedy gap mean "
            f"{100 * g['mean']:.2f}% p95 {100 * g['p95']:.2f}% max {100 * g['max']:.2f}% "
            f"optimal {100 * g['optimal']:.0f}%; best of {summary['decodings']} mean "
            f"{100 * b['mean']:.2f}% p95 {100 * b['p95']:.2f}% max {100 * b['max']:.2f}% "
            f"optimal {100 * b['optimal']:.0f}%")


def load_forward(path: str, device: torch.device) -> Forward:
    """A scripted model.pt, or the model of a training checkpoint."""
    if path.endswith(".pt") and not checkpoint.is_checkpoint(path):
        module = torch.jit.load(path, map_location=device)
        module.eval()
        return module
    model, _ = checkpoint.model_from_checkpoint(path, device)
    return model


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="model.pt or a training checkpoint")
    parser.add_argument("--data", required=True, help="held-out JSONL from routeserve-datagen")
    parser.add_argument("--decodings", type=int, default=16, help="K: greedy + K - 1 samples")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--threads", type=int, default=0, help="cores to use (0: the defaults)")
    parser.add_argument("--batch_size", type=int, default=256)
    parser.add_argument("--limit", type=int, default=None, help="first M problems only")
    parser.add_argument("--seed", type=int, default=0, help="noise seed")
    parser.add_argument("--json", default=None, help="also write the summary here")
    args = parser.parse_args(argv)
    runtime.set_threads(args.threads)
    device = torch.device(args.device)
    forward = load_forward(args.model, device)
    data = data_lib.BucketedData(data_lib.load_data(args.data, args.limit))
    summary = evaluate(forward, data, args.decodings, device, args.batch_size, args.seed,
                       reference_check=True)
    print(format_summary(summary))
    print(json.dumps(summary, indent=2))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(summary, out, indent=2)
    ok = summary["feasible"] == 1.0 and summary["reference_mismatches"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
