"""Exports a trained model for the server: DIR/model.pt (TorchScript) and DIR/model.yaml.

    export.py --checkpoint RUN_DIR|RUN_DIR/ckpt-N.pt --out models/route-v1
              [--eval_data heldout.jsonl [--decodings 16] [--limit M]] [--max_stops N]
              [--allow-newer-torch]

model.pt is the scripted RouteModel saved with torch.jit.save. LibTorch 1.13 (the server's)
need not load a file saved by a newer PyTorch, so export refuses any torch but 1.13.x unless
--allow-newer-torch. model.yaml holds the metadata of docs/MODEL.md: the feature contract, the
largest N, the objective, how the model was trained (command, data, seed, steps, architecture,
wall time, torch) and the held-out evaluation (measured here with --eval_data, else the last
one of the training run).
"""

import argparse
import copy
import datetime
import os
import sys
from typing import Dict, List, Optional

import torch
import yaml

import data as data_lib
import evaluate as evaluate_lib
import features
import runtime
from model import RouteModel

REQUIRED_TORCH = "1.13"


class TorchVersionError(RuntimeError):
    pass


def check_torch(allow_newer: bool) -> None:
    version = torch.__version__
    if version.split("+")[0].startswith(REQUIRED_TORCH + "."):
        return
    if allow_newer:
        print(f"warning: exporting with torch {version}; LibTorch {REQUIRED_TORCH} may not load "
              f"the file", file=sys.stderr)
        return
    raise TorchVersionError(
        f"torch {version} is not {REQUIRED_TORCH}.x: the server's LibTorch {REQUIRED_TORCH} need "
        f"not load its files. Export with Debian's python3-torch (/usr/bin/python3), or pass "
        f"--allow-newer-torch to do it anyway.")


def metadata(state: Dict, max_stops: int, evaluation: Optional[Dict],
             objective: features.Objective = features.DEFAULT_OBJECTIVE) -> Dict:
    data = state.get("data", {})
    training = {
        "command": "train.py " + " ".join(state.get("command", [])),
        "data": _portable(data.get("path")),
        "problems": data.get("problems"),
        "max_stops_in_data": data.get("max_stops"),
        "eval_data": _portable(data.get("eval_data")),
        "seed": state.get("seed"),
        "steps": state.get("step"),
        "architecture": state.get("architecture"),
        "wall_time_s": round(float(state.get("wall_time", 0.0)), 1),
        "torch": state.get("torch"),
        "exported_with_torch": str(torch.__version__),
        "exported_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    if state.get("init"):
        training["init"] = _earlier_run(state["init"])
    args = state.get("args", {})
    for key in ("steps", "rl_steps", "batch_size", "lr", "device", "amp"):
        if key in args:
            training.setdefault("settings", {})[key] = args[key]
    return {
        "feature_version": features.FEATURE_VERSION,
        "node_features": features.NODE_FEATURES,
        "courier_features": features.COURIER_FEATURES,
        "max_stops": int(max_stops),
        "objective": objective.as_dict(),
        "training": training,
        "evaluation": evaluation or {},
    }


def _earlier_run(init: Dict) -> Dict:
    """The run a fine-tuning started from (train.py --init), and the one before it, if any."""
    data = init.get("data", {})
    earlier = {
        "checkpoint": init.get("checkpoint"),
        "command": "train.py " + " ".join(init.get("command", [])),
        "data": _portable(data.get("path")),
        "problems": data.get("problems"),
        "max_stops_in_data": data.get("max_stops"),
        "seed": init.get("seed"),
        "steps": init.get("steps"),
        "wall_time_s": round(float(init.get("wall_time", 0.0)), 1),
    }
    if init.get("init"):
        earlier["init"] = _earlier_run(init["init"])
    return earlier


def export(model: RouteModel, state: Dict, out_dir: str, allow_newer_torch: bool = False,
           max_stops: Optional[int] = None, evaluation: Optional[Dict] = None) -> Dict:
    """Scripts `model` into out_dir/model.pt and writes out_dir/model.yaml; returns the
    metadata written."""
    check_torch(allow_newer_torch)
    os.makedirs(out_dir, exist_ok=True)
    was_training = model.training
    model.eval()
    # Saved from the CPU, so that the file loads on any device (the server moves it).
    scripted = torch.jit.script(copy.deepcopy(model).cpu())
    torch.jit.save(scripted, os.path.join(out_dir, "model.pt"))
    model.train(was_training)
    if max_stops is None:
        max_stops = state.get("data", {}).get("max_bucket") or max(features.BUCKETS)
    meta = metadata(state, max_stops, evaluation if evaluation is not None
                    else state.get("evaluation"))
    with open(os.path.join(out_dir, "model.yaml"), "w", encoding="utf-8") as out:
        out.write("# The route model's metadata (docs/MODEL.md), written by "
                  "model/training/export.py.\n")
        yaml.safe_dump(_plain(meta), out, sort_keys=False, default_flow_style=False)
    return meta


def _portable(path: Optional[str]) -> Optional[str]:
    """A recorded path as the metadata keeps it: never a machine's absolute path (a run
    recorded before train.py kept its paths relative keeps only the file's name)."""
    return os.path.basename(path) if path and os.path.isabs(path) else path


def _plain(value):
    """Plain YAML types (numpy scalars and tuples become floats, ints and lists)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        return str(value)  # also torch's TorchVersion
    if hasattr(value, "item"):
        return value.item()
    return value


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", required=True, help="a run directory or a checkpoint")
    parser.add_argument("--out", required=True, help="the model directory to write")
    parser.add_argument("--eval_data", default=None, help="held-out JSONL to evaluate on")
    parser.add_argument("--decodings", type=int, default=16)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--max_stops", type=int, default=None,
                        help="the largest N (default: the largest bucket trained on)")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--allow-newer-torch", dest="allow_newer_torch", action="store_true")
    args = parser.parse_args(argv)
    try:
        check_torch(args.allow_newer_torch)
    except TorchVersionError as error:
        print(f"export: {error}", file=sys.stderr)
        return 2
    runtime.set_threads(args.threads)
    import train
    path = args.checkpoint
    if os.path.isdir(path):
        path = train.latest_checkpoint(path)
        if path is None:
            print(f"export: no checkpoint in {args.checkpoint}", file=sys.stderr)
            return 2
    model, state = train.model_from_checkpoint(path, torch.device("cpu"))
    evaluation = None
    if args.eval_data:
        heldout = data_lib.BucketedData(data_lib.load_data(args.eval_data, args.limit))
        evaluation = evaluate_lib.evaluate(model, heldout, args.decodings,
                                           reference_check=True)
        evaluation["data"] = train.portable_path(args.eval_data)
        print(evaluate_lib.format_summary(evaluation))
    export(model, state, args.out, args.allow_newer_torch, args.max_stops, evaluation)
    print(f"export: wrote {args.out}/model.pt and {args.out}/model.yaml from {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
