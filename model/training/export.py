"""Exports a trained model for the server: DIR/model.pt (TorchScript), DIR/model.yaml and
DIR/selftest.json, sealed (seal.py).

    export.py --checkpoint RUN_DIR|RUN_DIR/ckpt-N.pt --out models/route-v1
              [--eval_data heldout.jsonl [--decodings 16] [--limit M]] [--max_stops N]
              [--datagen build/routeserve-datagen] [--allow-newer-torch]
    export.py --seal DIR [--datagen build/routeserve-datagen]

model.pt is the scripted model (route-v1's RouteModel or route-v2's EdgeModel) saved with
torch.jit.save, with its contract (feature version and counts, max_stops) as the module's
attribute `contract`. LibTorch 1.13 (the server's) need not load a file saved by a newer
PyTorch, so export refuses any torch but 1.13.x unless --allow-newer-torch. model.yaml holds
the metadata of docs/MODEL.md: the family (what forward() returns), the feature contract, the
largest N, the objective, how the model was trained (command, data, seed, steps,
architecture, wall time, torch), the held-out evaluation (measured here with --eval_data, else
the last one of the training run) and the seal: the SHA-256 of model.pt and of selftest.json,
the self-test the server runs at start-up (its problems come from routeserve-datagen).

--seal DIR seals a model exported earlier: it writes DIR/selftest.json and model.yaml's seal
(the rest of model.yaml as it was) and leaves model.pt's bytes as they are.
"""

import argparse
import datetime
import os
import sys
from typing import Dict, List, Optional

import torch
import yaml

import checkpoint
import data as data_lib
import edge_model
import evaluate as evaluate_lib
import features
import runtime
import seal as seal_lib

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
        # What forward() returns (seal.FAMILIES): route-v1's decodings or route-v2's scores.
        "family": state.get("architecture", {}).get("family", "pointer"),
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


def export(model: torch.nn.Module, state: Dict, out_dir: str, allow_newer_torch: bool = False,
           max_stops: Optional[int] = None, evaluation: Optional[Dict] = None,
           datagen: Optional[str] = None) -> Dict:
    """Scripts `model` (route-v1's RouteModel or route-v2's EdgeModel) into out_dir/model.pt,
    writes out_dir/model.yaml (its `family` from the run's architecture) and seals the
    directory (selftest.json, model.yaml's seal; `datagen` makes the self-test's problems, see
    seal.find_datagen); returns the metadata written."""
    check_torch(allow_newer_torch)
    os.makedirs(out_dir, exist_ok=True)
    if max_stops is None:
        max_stops = state.get("data", {}).get("max_bucket") or max(features.BUCKETS)
    was_training = model.training
    model.eval()
    # Saved from the CPU, so that the file loads on any device (the server moves it).
    torch.jit.save(seal_lib.script(model, max_stops), os.path.join(out_dir, "model.pt"))
    model.train(was_training)
    meta = metadata(state, max_stops, evaluation if evaluation is not None
                    else state.get("evaluation"))
    with open(os.path.join(out_dir, "model.yaml"), "w", encoding="utf-8") as out:
        out.write("# The route model's metadata (docs/MODEL.md), written by "
                  "model/training/export.py.\n")
        yaml.safe_dump(_plain(meta), out, sort_keys=False, default_flow_style=False)
    seal_lib.seal(out_dir, datagen=datagen)
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
    parser.add_argument("--checkpoint", help="a run directory or a checkpoint")
    parser.add_argument("--out", help="the model directory to write")
    parser.add_argument("--seal", metavar="DIR",
                        help="seal the model exported in DIR (model.pt is left as it is)")
    parser.add_argument("--datagen", default=None,
                        help="routeserve-datagen, for the self-test's problems (default: "
                             "$ROUTESERVE_DATAGEN, else build/routeserve-datagen)")
    parser.add_argument("--eval_data", default=None, help="held-out JSONL to evaluate on")
    parser.add_argument("--decodings", type=int, default=16)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--max_stops", type=int, default=None,
                        help="the largest N (default: the largest bucket trained on)")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--allow-newer-torch", dest="allow_newer_torch", action="store_true")
    args = parser.parse_args(argv)
    if args.seal and (args.checkpoint or args.out):
        parser.error("--seal DIR seals an exported model: no --checkpoint or --out with it")
    if not args.seal and not (args.checkpoint and args.out):
        parser.error("give --checkpoint and --out (export), or --seal DIR")
    try:
        check_torch(args.allow_newer_torch)
    except TorchVersionError as error:
        print(f"export: {error}", file=sys.stderr)
        return 2
    runtime.set_threads(args.threads)
    try:
        if args.seal:
            selftest = seal_lib.seal(args.seal, datagen=args.datagen)
            print(f"export: sealed {args.seal}: {len(selftest['cases'])} self-test problems "
                  f"in {args.seal}/{seal_lib.SELFTEST_FILE}, checksums in model.yaml")
            return 0
        return _export_checkpoint(args)
    except seal_lib.SealError as error:
        print(f"export: {error}", file=sys.stderr)
        return 2


def _export_checkpoint(args: argparse.Namespace) -> int:
    path = args.checkpoint
    if os.path.isdir(path):
        path = checkpoint.latest_checkpoint(path)
        if path is None:
            print(f"export: no checkpoint in {args.checkpoint}", file=sys.stderr)
            return 2
    model, state = checkpoint.model_from_checkpoint(path, torch.device("cpu"))
    evaluation = None
    if args.eval_data:
        heldout = data_lib.BucketedData(data_lib.load_data(args.eval_data, args.limit))
        if isinstance(model, edge_model.EdgeModel):
            evaluation = edge_model.evaluate_edges(model, heldout, torch.device("cpu"), 64)
        else:
            evaluation = evaluate_lib.evaluate(model, heldout, args.decodings,
                                               reference_check=True)
        evaluation["data"] = checkpoint.portable_path(args.eval_data)
        if "model_recall@1" not in evaluation:
            print(evaluate_lib.format_summary(evaluation))
    export(model, state, args.out, args.allow_newer_torch, args.max_stops, evaluation,
           args.datagen)
    print(f"export: wrote {args.out}/model.pt, model.yaml and {seal_lib.SELFTEST_FILE} from "
          f"{path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
