"""Trains the route model: imitation of the data's orders, then optionally REINFORCE.

    train.py --data train.jsonl --run_dir runs/cpu --preset cpu [--threads 2]
             [--eval_data heldout.jsonl] [--resume] [--export models/route-v1] [--key value ...]

Imitation (teacher forcing): the cross-entropy of the label's next stop at each step, under the
decoder's own masks. REINFORCE (--rl_steps > 0, after the imitation steps): K sampled orders per
problem, costed by the cost twin (cost.py), with a shared baseline (the greedy decoding's cost,
or the mean of the samples), advantages relative to the baseline. Each batch is drawn from one
bucket (8, 16, 32, ... stops: the features are those the server encodes) and, with --same_size
(the default), from problems of one stop count, cut to it: the model masks padding, so only the
time spent on padding rows is saved. Problems are rotated/reflected at random (--augment).

Adam; cosine (or step) learning rate after a linear warm-up, a pure function of the step.
Everything random is drawn from generators keyed by (--seed, step), so a run is deterministic
given its seed (on the CPU) and a resumed run continues exactly where it stopped. A checkpoint
every --checkpoint_every steps (the last --keep kept) in --run_dir; --resume continues from the
latest. Progress lines give step, loss, learning rate, the held-out greedy gap vs the data's
costs, samples/s and the time left.

Presets (every option can still be given): `tiny` (tests: seconds), `cpu` (the shipped model's
recipe on 2 cores, ~30 min), `gpu` (more data, steps and REINFORCE; --device cuda); route-v2's
`edges-cpu` and `edges-gpu`.

--family edges trains route-v2's edge model instead (edge_model.py): the cross-entropy of each
node's successor in the label route, one forward pass a batch; its held-out evaluation is the
recall of the label edges among each node's best-scored successors, beside the travel-time
baseline's.
"""

import argparse
import contextlib
import math
import os
import sys
import time
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch

import data as data_lib
import evaluate as evaluate_lib
import export as export_lib
import runtime
import edge_model
from checkpoint import (build_any, latest_checkpoint, portable_path, save_checkpoint,
                        weights_to_start_from)
from model import ARCHITECTURE_KEYS, RouteModel

PRESETS: Dict[str, Dict] = {
    # Seconds on one core: a small model on a few hundred small problems.
    "tiny": dict(d_model=32, layers=1, heads=4, d_ff=64, batch_size=32, steps=200, lr=2e-3,
                 warmup=10, log_every=50, eval_every=100, checkpoint_every=100, heldout=48,
                 eval_batch_size=64),
    # The shipped model's first stage on 2 cores (README.md): problems of 3-14 stops.
    "cpu": dict(d_model=128, layers=3, heads=8, d_ff=512, batch_size=128, steps=12000, lr=1e-3,
                warmup=200, log_every=100, eval_every=1000, checkpoint_every=1000, heldout=300,
                eval_batch_size=300),
    # A GPU: larger batches, longer, then REINFORCE; bf16 autocast.
    "gpu": dict(d_model=128, layers=3, heads=8, d_ff=512, batch_size=512, steps=60000, lr=1e-3,
                warmup=1000, rl_steps=10000, rl_lr=1e-4, rl_samples=16, log_every=200,
                eval_every=2000, checkpoint_every=2000, heldout=1000, eval_batch_size=500,
                amp="bf16"),
    # route-v2's edge model on 2 cores: small enough for >= 2,000 problems/s a core at batch 64.
    "edges-cpu": dict(family="edges", d_model=64, layers=3, heads=4, d_ff=256, batch_size=64,
                      steps=20000, lr=1e-3, warmup=200, log_every=100, eval_every=1000,
                      checkpoint_every=500, heldout=600, eval_batch_size=200),
    # route-v2 on a GPU (--device cuda): twice the width, a layer more, bf16 autocast.
    "edges-gpu": dict(family="edges", d_model=128, layers=4, heads=8, d_ff=512, batch_size=512,
                      steps=60000, lr=1e-3, warmup=1000, log_every=200, eval_every=2000,
                      checkpoint_every=2000, heldout=1000, eval_batch_size=500, amp="bf16"),
}

DEFAULTS: Dict = dict(
    family="pointer", pair_hidden=16, d_model=128, layers=3, heads=8, d_ff=512, dropout=0.0, travel_bias=False, tanh_clip=10.0,
    batch_size=128, steps=1000, lr=1e-3, lr_schedule="cosine", min_lr_ratio=0.05, warmup=100,
    lr_step_every=0, lr_step_gamma=0.5, weight_decay=0.0, grad_clip=1.0,
    rl_steps=0, rl_lr=1e-4, rl_samples=8, rl_baseline="greedy",
    augment=True, same_size=True, log_every=100, eval_every=1000, checkpoint_every=1000, keep=3,
    heldout=300, eval_batch_size=256, eval_decodings=1, amp="none", max_stops=0)


CHOICES = {"amp": ("none", "bf16", "fp16"), "lr_schedule": ("cosine", "step"),
           "rl_baseline": ("greedy", "mean"), "family": ("pointer", "edges")}


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True, help="training JSONL from routeserve-datagen")
    p.add_argument("--eval_data", default=None,
                   help="held-out JSONL (other seeds); without it the last --heldout problems "
                        "of --data are held out")
    p.add_argument("--run_dir", required=True, help="checkpoints and the run's log go here")
    p.add_argument("--preset", choices=sorted(PRESETS), default=None)
    p.add_argument("--resume", action="store_true", help="continue from the latest checkpoint")
    p.add_argument("--init", default=None, metavar="CHECKPOINT",
                   help="start from these weights (a checkpoint file, a run directory's "
                        "latest, or an exported model's directory such as models/route-v2): a "
                        "new run, with its own steps and learning rate, that fine-tunes an "
                        "earlier one (e.g. on larger problems, or on captured traffic)")
    p.add_argument("--export", default=None, metavar="DIR",
                   help="at the end, write DIR/model.pt, DIR/model.yaml and DIR/selftest.json")
    p.add_argument("--datagen", default=None,
                   help="routeserve-datagen, for the export's self-test (default: "
                        "$ROUTESERVE_DATAGEN, else build/routeserve-datagen)")
    p.add_argument("--allow-newer-torch", dest="allow_newer_torch", action="store_true")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--threads", type=int, default=0,
                   help="cores to use (0: the defaults); see runtime.py")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--limit", type=int, default=None, help="read at most this many problems")
    p.add_argument("--max_steps_this_run", type=int, default=0,
                   help="stop after this many steps of this process (0: run to the end)")
    for key, value in DEFAULTS.items():
        if isinstance(value, bool):
            p.add_argument(f"--{key}", type=lambda s: s.lower() in ("1", "true", "yes"),
                           default=None, metavar="BOOL")
        else:
            p.add_argument(f"--{key}", type=type(value), default=None)
    args = p.parse_args(argv)
    preset = PRESETS.get(args.preset, {})
    for key, value in DEFAULTS.items():
        if getattr(args, key) is None:
            setattr(args, key, preset.get(key, value))
    for key, allowed in CHOICES.items():
        if getattr(args, key) not in allowed:
            p.error(f"--{key}: {getattr(args, key)!r} is not one of {', '.join(allowed)}")
    if args.family == "edges" and args.rl_steps:
        p.error("--rl_steps: REINFORCE trains the pointer model only")
    return args


def architecture_of(args: argparse.Namespace) -> Dict:
    """The model's shape, as checkpoints record it; route-v1's records no family."""
    if args.family == "edges":
        return {"family": "edges", **{k: getattr(args, k) for k in edge_model.ARCHITECTURE_KEYS}}
    return {k: getattr(args, k) for k in ARCHITECTURE_KEYS}


def learning_rate(args: argparse.Namespace, step: int) -> float:
    """The learning rate at `step`: warm-up, then cosine or step decay; REINFORCE's is flat."""
    if step >= args.steps:
        return args.rl_lr
    warm = min(1.0, (step + 1) / max(1, args.warmup))
    if args.lr_schedule == "step" and args.lr_step_every > 0:
        return args.lr * warm * args.lr_step_gamma ** (step // args.lr_step_every)
    progress = step / max(1, args.steps)
    cosine = 0.5 * (1 + math.cos(math.pi * progress))
    return args.lr * warm * (args.min_lr_ratio + (1 - args.min_lr_ratio) * cosine)


def step_generator(seed: int, step: int, stream: int) -> torch.Generator:
    g = torch.Generator()
    g.manual_seed((seed * 1_000_003 + step) * 8 + stream)
    return g


# ---- Training ----------------------------------------------------------------------------------

def imitation_loss(model: RouteModel, batch: Dict[str, torch.Tensor]) -> torch.Tensor:
    """Mean over problems of the mean cross-entropy per step of the label's order."""
    log_p = model.teacher_forced(batch, batch["target"])
    steps = (~batch["padding"]).sum(1).clamp(min=1).to(log_p.dtype)
    return -(log_p / steps).mean()


def reinforce_loss(model: RouteModel, batch: Dict[str, torch.Tensor], costs, samples: int,
                   baseline: str, generator: torch.Generator) -> Tuple[torch.Tensor, float]:
    """REINFORCE with a shared baseline. Decoding 0 is greedy (the "greedy" baseline), 1..K
    are samples with fresh noise at each step. Returns (loss, mean sampled cost / label)."""
    B, N = batch["padding"].shape
    memory = model.encode(batch["nodes"], batch["pairs"], batch["padding"], batch["courier"],
                          batch["travel"])
    noise = data_lib.gumbel((B, samples + 1, N, N), generator, memory.device)
    orders, log_p = model.decoder(memory, batch["nodes"], batch["pairs"], batch["padding"],
                                  batch["courier"], batch["travel"], noise, None)
    cost, feasible = costs.evaluate(orders)
    cost = torch.where(feasible, cost, cost.max())  # masks make this moot; never reward it
    sampled = cost[:, 1:]
    base = cost[:, :1] if baseline == "greedy" else sampled.mean(1, keepdim=True)
    advantage = ((sampled - base) / base.clamp(min=1.0)).to(log_p.dtype)
    loss = (advantage.detach() * log_p[:, 1:]).mean()
    ratio = (sampled.mean(1) / batch["cost"].clamp(min=1e-9)).mean().item()
    return loss, ratio


def evaluate_heldout(model, heldout: data_lib.BucketedData, args, device: torch.device) -> Dict:
    if args.family == "edges":
        return edge_model.evaluate_edges(model, heldout, device, args.eval_batch_size)
    was_training = model.training
    model.eval()
    summary = evaluate_lib.evaluate(model, heldout, args.eval_decodings, device,
                                    args.eval_batch_size, noise_seed=args.seed)
    model.train(was_training)
    return summary


def held_out_line(evaluation: Dict) -> str:
    if "greedy_gap" not in evaluation:  # the edge model's
        recalls = " ".join(f"@{k} {100 * evaluation[f'model_recall@{k}']:.1f}% "
                           f"(nearest {100 * evaluation[f'nearest_recall@{k}']:.1f}%)"
                           for k in edge_model.RECALLS)
        return f" | held-out loss {evaluation['loss']:.4f} edge recall {recalls}"
    g = evaluation["greedy_gap"]
    return (f" | held-out greedy gap {100 * g['mean']:.2f}% p95 {100 * g['p95']:.2f}% "
            f"feasible {100 * evaluation['feasible']:.1f}%")


def format_duration(seconds: float) -> str:
    seconds = int(max(0, seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s"


def train(args: argparse.Namespace, argv: Optional[List[str]] = None) -> Dict:
    """Runs (or resumes) the training; returns the last state (as in a checkpoint)."""
    device = torch.device(args.device)
    os.makedirs(args.run_dir, exist_ok=True)
    log = open(os.path.join(args.run_dir, "train.log"), "a", encoding="utf-8")

    def say(line: str) -> None:
        print(line, flush=True)
        log.write(line + "\n")
        log.flush()

    say(runtime.set_threads(args.threads))

    problems = data_lib.load_data(args.data, args.limit)
    if args.eval_data:
        train_problems = problems
        heldout_problems = data_lib.load_data(args.eval_data)[:args.heldout]
    else:
        train_problems, heldout_problems = data_lib.split_heldout(problems, args.heldout)
    loaded = time.time()
    train_data = data_lib.BucketedData(train_problems)
    heldout = data_lib.BucketedData(heldout_problems) if heldout_problems else None
    say(f"data: {len(train_data)} training problems ({min(p.num_stops for p in train_problems)}"
        f"-{train_data.max_stops} stops, buckets {sorted(train_data.buckets)}), "
        f"{len(heldout_problems)} held out; encoded in {time.time() - loaded:.1f}s")

    torch.manual_seed(args.seed)
    architecture = architecture_of(args)
    model = build_any(architecture).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    step = 0
    wall_time = 0.0
    history: List[Dict] = []
    last_eval: Optional[Dict] = None
    command = argv if argv is not None else sys.argv[1:]
    init: Optional[Dict] = None
    if args.init and not (args.resume and latest_checkpoint(args.run_dir)):
        state = weights_to_start_from(args.init, device)
        path = state["checkpoint"]
        if state["architecture"] != architecture:
            raise SystemExit(f"init: {path} has architecture {state['architecture']}, "
                             f"this run asks for {architecture}")
        model.load_state_dict(state["model"])
        # The earlier run, as export.py records it: how the weights started.
        init = {"checkpoint": portable_path(path), "command": state["command"],
                "data": state["data"], "seed": state["seed"], "steps": state["step"],
                "wall_time": state["wall_time"], "init": state.get("init")}
        say(f"init: weights of {path} (step {state['step']})")
    if args.resume:
        path = latest_checkpoint(args.run_dir)
        if path is None:
            say("resume: no checkpoint yet, starting afresh")
        else:
            state = torch.load(path, map_location=device)
            if state["architecture"] != architecture:
                raise SystemExit(f"resume: {path} has architecture {state['architecture']}, "
                                 f"this run asks for {architecture}")
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            step, wall_time = state["step"], state["wall_time"]
            history, last_eval = state["history"], state.get("evaluation")
            init = state.get("init")
            command = state["command"]  # how the run was started
            say(f"resume: {path} at step {step}")

    total = args.steps + args.rl_steps
    amp_dtype = {"none": None, "bf16": torch.bfloat16, "fp16": torch.float16}[args.amp]
    # fp16 needs its gradients scaled (bf16 has float32's range); a no-op otherwise.
    scaler = torch.cuda.amp.GradScaler(enabled=args.amp == "fp16" and device.type == "cuda")

    def state_now() -> Dict:
        return {"step": step, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "architecture": architecture, "args": vars(args), "command": command,
                "data": {"path": portable_path(args.data), "problems": len(train_data),
                         "max_stops": train_data.max_stops, "max_bucket": train_data.max_bucket,
                         "eval_data": portable_path(args.eval_data) if args.eval_data else None,
                         "heldout": len(heldout_problems)},
                "init": init,
                "seed": args.seed, "wall_time": wall_time, "history": history,
                "evaluation": last_eval, "torch": str(torch.__version__)}

    model.train()
    started = time.time()
    steps_this_run = 0
    samples_since, time_since = 0, time.time()
    losses: List[float] = []
    while step < total:
        if args.max_steps_this_run and steps_this_run >= args.max_steps_this_run:
            break
        step_start = time.time()
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(args, step)
        # Everything random in this step comes from (seed, step): resumable and deterministic.
        rng = np.random.default_rng([args.seed, step])
        torch.manual_seed(args.seed * 1_000_003 + step)  # dropout, if any
        reinforce = step >= args.steps
        size, rows, length = train_data.sample(rng, args.batch_size, args.same_size)
        batch = train_data.batch(size, rows, device, length)
        if args.augment:
            batch = data_lib.augment(batch, step_generator(args.seed, step, 0))
        autocast = torch.autocast(device.type, dtype=amp_dtype) if amp_dtype is not None \
            else contextlib.nullcontext()
        with autocast:
            if reinforce:
                costs = train_data.cost_batch(size, rows, device, length)
                loss, ratio = reinforce_loss(model, batch, costs, args.rl_samples,
                                             args.rl_baseline, step_generator(args.seed, step, 1))
            elif args.family == "edges":
                loss = edge_model.edge_loss(model, batch)
            else:
                loss = imitation_loss(model, batch)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        if args.grad_clip > 0:
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), args.grad_clip)
        scaler.step(optimizer)
        scaler.update()
        step += 1
        steps_this_run += 1
        wall_time += time.time() - step_start
        samples_since += len(rows)
        losses.append(ratio if reinforce else loss.item())

        evaluation_line = ""
        if heldout is not None and (step % args.eval_every == 0 or step == total):
            last_eval = evaluate_heldout(model, heldout, args, device)
            evaluation_line = held_out_line(last_eval)
        if step % args.log_every == 0 or step == total or evaluation_line:
            now = time.time()
            rate = samples_since / max(now - time_since, 1e-9)
            per_step = (now - started) / steps_this_run
            mean_loss = float(np.mean(losses)) if losses else float("nan")
            what = "cost/label" if reinforce else "loss"
            history.append({"step": step, what: mean_loss, "lr": learning_rate(args, step - 1),
                            "samples_per_s": rate})
            if evaluation_line and "greedy_gap" in last_eval:
                history[-1]["greedy_gap"] = last_eval["greedy_gap"]["mean"]
            elif evaluation_line:
                history[-1].update(last_eval)
            say(f"step {step}/{total} {what} {mean_loss:.4f} lr {learning_rate(args, step - 1):.2e}"
                f" {rate:.0f} samples/s eta {format_duration(per_step * (total - step))}"
                f"{evaluation_line}")
            losses, samples_since, time_since = [], 0, now
        if step % args.checkpoint_every == 0 or step == total:
            save_checkpoint(args.run_dir, state_now(), args.keep)
    final = state_now()
    if step < total:  # stopped early (--max_steps_this_run): keep where it stands
        save_checkpoint(args.run_dir, final, args.keep)
    elif args.export:
        export_lib.export(model, final, args.export, allow_newer_torch=args.allow_newer_torch,
                          max_stops=args.max_stops or None, datagen=args.datagen)
        say(f"exported {args.export}/model.pt, model.yaml and selftest.json (sealed)")
    log.close()
    return final


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    train(args, argv if argv is not None else sys.argv[1:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
