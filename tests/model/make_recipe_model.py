#!/usr/bin/python3
"""The training recipe end to end, as a CTest fixture for the C++ tests: solved problems from
routeserve-datagen, a few training steps at the tiny preset, the export (model.pt, model.yaml,
selftest.json, sealed), and the greedy orders Python's torch gives the exported file on other
problems, for the C++ side to reproduce with the project's LibTorch.

Usage: make_recipe_model.py --datagen build/routeserve-datagen --out DIR. Writes DIR/model/
(the exported model), DIR/check_requests.jsonl (one SuggestRequest as proto JSON per line),
DIR/check_greedy.txt (the greedy order of each, stop indices separated by spaces) and
DIR/nan_weights/: the exported model with every weight NaN, its checksum re-recorded in
model.yaml (seal.record_checksums) so that the checksum matches and only the self-test and the
finite-output check can tell. And the same for route-v2's edge model (--family edges) under
DIR/edges/: model/, nan_weights/, check_greedy.txt (the route its scores lead to greedily,
edge_model.greedy_order) and check_scores.txt (each request's (n + 1) x (n + 1) scores,
row-major, as float reprs).
"""
import argparse
import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import warnings

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "model", "training"))
import edge_model  # noqa: E402
import features  # noqa: E402
import seal  # noqa: E402
import train  # noqa: E402

warnings.filterwarnings("ignore", message=".*batch_first.*")
CHECK_STOPS = 8  # every check problem fits the bucket N = 8


def datagen(tool: str, path: str, count: int, stops: str, seed: int) -> None:
    subprocess.run([tool, "--count", str(count), "--stops", stops, "--seed", str(seed),
                    "--exact_up_to", "8", "--threads", "2", "--out", path],
                   check=True, capture_output=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datagen", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(1)
    data = os.path.join(args.out, "train.jsonl")
    check = os.path.join(args.out, "check.jsonl")
    datagen(args.datagen, data, 300, "3-8", seed=31)
    datagen(args.datagen, check, 24, f"1-{CHECK_STOPS}", seed=32)

    argv = ["--data", data, "--run_dir", os.path.join(args.out, "run"), "--preset", "tiny",
            "--steps", "60", "--heldout", "20", "--export", os.path.join(args.out, "model"),
            "--datagen", args.datagen]
    with contextlib.redirect_stdout(io.StringIO()):
        train.train(train.parse_args(argv), argv)

    scripted = torch.jit.load(os.path.join(args.out, "model", "model.pt"))
    problems = features.load_jsonl(check)
    inputs = [torch.from_numpy(v) for v in features.encode_batch(problems, CHECK_STOPS).values()]
    noise = torch.zeros(len(problems), 1, CHECK_STOPS)  # decoding 0 is greedy: noise unused
    with torch.no_grad():
        orders, _ = scripted(*inputs, noise)
    with open(check, encoding="utf-8") as lines, \
            open(os.path.join(args.out, "check_requests.jsonl"), "w", encoding="utf-8") as out:
        for line in lines:
            out.write(json.dumps(json.loads(line)["request"]) + "\n")
    with open(os.path.join(args.out, "check_greedy.txt"), "w", encoding="utf-8") as out:
        for b, problem in enumerate(problems):
            out.write(" ".join(str(int(i)) for i in orders[b, 0, :problem.num_stops]) + "\n")
    write_nan_copy(os.path.join(args.out, "model"), os.path.join(args.out, "nan_weights"))
    write_edge_model(args, data, problems)
    return 0


def write_edge_model(args: argparse.Namespace, data: str, problems) -> None:
    out = os.path.join(args.out, "edges")
    argv = ["--family", "edges", "--data", data, "--run_dir", os.path.join(out, "run"),
            "--preset", "tiny", "--steps", "60", "--heldout", "20",
            "--export", os.path.join(out, "model"), "--datagen", args.datagen]
    with contextlib.redirect_stdout(io.StringIO()):
        train.train(train.parse_args(argv), argv)
    scripted = torch.jit.load(os.path.join(out, "model", "model.pt"))
    inputs = [torch.from_numpy(v) for v in features.encode_batch(problems, CHECK_STOPS).values()]
    with torch.no_grad():
        scores = scripted(*inputs)
    with open(os.path.join(out, "check_greedy.txt"), "w", encoding="utf-8") as greedy, \
            open(os.path.join(out, "check_scores.txt"), "w", encoding="utf-8") as values:
        for b, problem in enumerate(problems):
            n = problem.num_stops
            block = scores[b, :n + 1, :n + 1].numpy()
            order = edge_model.greedy_order(block, features.build_instance(problem))
            greedy.write(" ".join(str(i) for i in order) + "\n")
            values.write(" ".join(repr(float(v)) for v in block.reshape(-1)) + "\n")
    write_nan_copy(os.path.join(out, "model"), os.path.join(out, "nan_weights"))


def write_nan_copy(model_dir: str, out_dir: str) -> None:
    """The model in `model_dir` with every parameter NaN, its zip intact, its checksum matching."""
    shutil.rmtree(out_dir, ignore_errors=True)
    shutil.copytree(model_dir, out_dir)
    module = torch.jit.load(os.path.join(model_dir, "model.pt"))
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.fill_(float("nan"))
    torch.jit.save(module, os.path.join(out_dir, "model.pt"))
    seal.record_checksums(out_dir)


if __name__ == "__main__":
    sys.exit(main())
