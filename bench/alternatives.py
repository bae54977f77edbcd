#!/usr/bin/python3
"""How good the alternatives are that options.num_alternatives asks for: each alternative's cost
relative to the answer's own route, on generated requests, through a fresh build/routeserve
(shipped config and model, and the --set overrides).

    bench/alternatives.py [--requests 30] [--alternatives 3] [--cases 20:tight,20:loose,50:tight]
                          [--set K=V]...

For each case (stops:windows), --requests requests made by build/routeserve-cli's generator
(seeds 1, 2, ...) with options.num_alternatives set, sent one at a time; prints how many
alternatives came back of those asked and the median, p90 and largest cost ratio.
Only the standard library is needed.
"""
import argparse
import json
import os
import statistics
import subprocess

from servers import ROOT, start_routeserve

CLI = os.environ.get("ROUTESERVE_CLI") or os.path.join(ROOT, "build", "routeserve-cli")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--alternatives", type=int, default=3)
    parser.add_argument("--cases", default="20:tight,20:loose,50:tight",
                        help="stops:windows pairs, windows none, loose or tight")
    parser.add_argument("--set", action="append", default=[], dest="overrides",
                        metavar="KEY=VALUE")
    return parser.parse_args(argv)


def generated_request(stops, windows, seed, alternatives):
    printed = subprocess.run([CLI, "--generate", str(stops), "--seed", str(seed), "--windows",
                              windows, "--print-request"], capture_output=True, text=True,
                             check=True)
    request = json.loads(printed.stdout)
    request.setdefault("options", {})["num_alternatives"] = alternatives
    return request


def cost_ratios(target, request):
    answer = subprocess.run([CLI, "--target", target, "--request", "-"], input=json.dumps(request),
                            capture_output=True, text=True, check=True)
    response = json.loads(answer.stdout)
    best = response["route"]["summary"]["cost"]
    return [alternative["summary"]["cost"] / best for alternative in response["alternatives"]]


def main(argv=None):
    args = parse_args(argv)
    server = start_routeserve(args.overrides)
    try:
        print("| stops | windows | alternatives / asked | cost ratio median | p90 | max |")
        print("|---|---|---|---|---|---|")
        for case in args.cases.split(","):
            stops, windows = case.split(":")
            ratios = []
            for seed in range(1, args.requests + 1):
                request = generated_request(int(stops), windows, seed, args.alternatives)
                ratios += cost_ratios(server.target, request)
            ratios.sort()
            asked = args.requests * args.alternatives
            if not ratios:
                print(f"| {stops} | {windows} | 0 / {asked} | | | |")
                continue
            print(f"| {stops} | {windows} | {len(ratios)} / {asked} | "
                  f"{statistics.median(ratios):.3f} | {ratios[int(0.9 * len(ratios))]:.3f} | "
                  f"{ratios[-1]:.3f} |", flush=True)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
