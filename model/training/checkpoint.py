"""Training checkpoints: where a run keeps them, how they are written and read back.

A run directory holds ckpt-NNNNNNN.pt files, one per checkpoint, named by step: the latest is
the one to resume or export from. A checkpoint is a dict: step, model and optimizer state, the
architecture, the run's arguments and command, its data, seed, wall time, history and last
evaluation (train.py writes it; evaluate.py and export.py read it).
"""

import glob
import os
from typing import Dict, Optional, Tuple

import torch

from torch import nn

from edge_model import build_edge_model
from model import build_model


def checkpoint_path(run_dir: str, step: int) -> str:
    return os.path.join(run_dir, f"ckpt-{step:07d}.pt")


def is_checkpoint(path: str) -> bool:
    """True for a checkpoint's file name (a scripted model.pt is not one)."""
    return os.path.basename(path).startswith("ckpt-")


def latest_checkpoint(run_dir: str) -> Optional[str]:
    paths = sorted(glob.glob(os.path.join(run_dir, "ckpt-*.pt")))
    return paths[-1] if paths else None


def save_checkpoint(run_dir: str, state: Dict, keep: int) -> str:
    """Writes `state` as the checkpoint of its step, keeping the last `keep` (at least one)."""
    path = checkpoint_path(run_dir, state["step"])
    torch.save(state, path + ".tmp")
    os.replace(path + ".tmp", path)  # never a half-written checkpoint
    for old in sorted(glob.glob(os.path.join(run_dir, "ckpt-*.pt")))[:-max(1, keep)]:
        os.remove(old)
    return path


def is_model_dir(path: str) -> bool:
    """True for an exported model's directory (model.pt and model.yaml, export.py's output)."""
    return all(os.path.isfile(os.path.join(path, name)) for name in ("model.pt", "model.yaml"))


def weights_to_start_from(path: str, device: torch.device) -> Dict:
    """What train.py --init starts from: a checkpoint file, a run directory's latest, or an
    exported model's directory (a served one: models/route-v2, a repository's version), whose
    scripted module holds the same parameters as the trained one. A dict with the architecture,
    the model's state and the earlier run's record (command, data, seed, steps, wall time,
    init), as a checkpoint has them; "checkpoint" names where they came from."""
    if is_model_dir(path):
        import yaml  # only here: checkpoints need no YAML
        with open(os.path.join(path, "model.yaml"), encoding="utf-8") as f:
            training = yaml.safe_load(f).get("training") or {}
        if "architecture" not in training:
            raise SystemExit(f"init: {path}/model.yaml has no training.architecture")
        scripted = torch.jit.load(os.path.join(path, "model.pt"), map_location=device)
        return {"checkpoint": path, "architecture": training["architecture"],
                "model": scripted.state_dict(), "command": training.get("command"),
                "data": training.get("data"), "seed": training.get("seed"),
                "step": training.get("steps"), "wall_time": training.get("wall_time_s"),
                "init": training.get("init")}
    resolved = resolve_checkpoint(path)
    state = torch.load(resolved, map_location=device)
    state["checkpoint"] = resolved
    return state


def resolve_checkpoint(path: str) -> str:
    """A checkpoint file, or a run directory's latest checkpoint."""
    if os.path.isdir(path):
        latest = latest_checkpoint(path)
        if latest is None:
            raise SystemExit(f"{path}: no checkpoint in this run directory")
        return latest
    return path


def portable_path(path: str) -> str:
    """`path` as the run's records keep it: relative to the working directory (the repository,
    as the README runs the recipe), or only its name when it lies elsewhere."""
    relative = os.path.relpath(path)
    return os.path.basename(path) if relative.startswith("..") else relative


def build_any(architecture: Dict) -> nn.Module:
    """The model an architecture describes: route-v2's edge model when its family says so
    (train.py --family edges), else route-v1's pointer model."""
    if architecture.get("family") == "edges":
        return build_edge_model(architecture)
    return build_model(architecture)


def model_from_checkpoint(path: str, device: torch.device) -> Tuple[nn.Module, Dict]:
    """The eager model of the checkpoint at `path`, in eval mode, and the checkpoint itself."""
    state = torch.load(path, map_location=device)
    model = build_any(state["architecture"]).to(device)
    model.load_state_dict(state["model"])
    model.eval()
    return model, state
