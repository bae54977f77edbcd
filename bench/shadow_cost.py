#!/usr/bin/python3
"""What shadow runs cost the served traffic (docs/MODEL.md, Models in production).

    bench/shadow_cost.py [--model models/route-v2] [--ratio 0.1] [--concurrency 8]
                         [--rate 60] [--duration 20] [--stops 20] [--set K=V]... [--out DIR]

A model repository in a temporary directory holds --model as versions 1 and 2 of "couriers".
Two build/routeserve servers in turn (the shipped config, model.repository, the --set
overrides): one serving version 1 alone, one serving it with version 2 in the shadow at
--ratio. Each gets a closed-loop routeserve-bench run (--concurrency calls outstanding: the
throughput) and an open-loop one (--rate calls/s: the latency at a load that leaves idle
moments), --duration counted seconds each; then the shadow's counters from /metrics. Writes
DIR/shadow_cost.json and prints a Markdown table. Only the standard library is needed.
"""
import argparse
import datetime
import json
import os
import tempfile

from servers import ROOT, metric_samples, put_version, run_bench, start_routeserve


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=os.path.join(ROOT, "models", "route-v2"))
    parser.add_argument("--ratio", type=float, default=0.1)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rate", type=float, default=60)
    parser.add_argument("--duration", type=float, default=20)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--stops", default="20")
    parser.add_argument("--set", action="append", default=[], dest="overrides", metavar="K=V")
    parser.add_argument("--out", default=os.path.join(ROOT, "build", "bench", "shadow"))
    return parser.parse_args(argv)


def shadow_counts(server):
    """Shadow runs by result (all versions) and the drops, from /metrics."""
    counts = {}
    for labels, value in metric_samples(server.metrics_port, "routeserve_shadow_routes_total"):
        counts[labels["result"]] = counts.get(labels["result"], 0) + value
    dropped = metric_samples(server.metrics_port, "routeserve_shadow_dropped_total")
    counts["dropped"] = dropped[0][1] if dropped else 0
    return counts


def measure(name, repository, shadow, args):
    overrides = ["model.path=", f"model.repository={repository}", "model.name=couriers",
                 "model.version=1", *args.overrides]
    if shadow:
        overrides += ["model.shadow_version=2", f"model.shadow_ratio={args.ratio}"]
    bench_args = argparse.Namespace(duration=args.duration, warmup=args.warmup, stops=args.stops)
    server = start_routeserve(overrides)
    try:
        closed = run_bench(server.target, ["--concurrency", args.concurrency], bench_args)
        after_closed = shadow_counts(server)
        opened = run_bench(server.target, ["--rate", args.rate], bench_args)
        after_open = shadow_counts(server)
    finally:
        server.stop()
    summary = lambda report: {"answers": report["answers"], "codes": report["codes"],
                              "ok_per_s": report["ok_per_s"],
                              "ok_latency_ms": report["latency_ms"]}
    return {"name": name, "closed_loop": summary(closed), "open_loop": summary(opened),
            "shadow_after_closed_loop": after_closed, "shadow_after_open_loop": after_open}


def main():
    args = parse_args()
    results = {"date": datetime.date.today().isoformat(), "model": args.model,
               "ratio": args.ratio, "concurrency": args.concurrency, "rate_per_s": args.rate,
               "stops": args.stops, "duration_s": args.duration, "overrides": args.overrides}
    with tempfile.TemporaryDirectory(prefix="routeserve-repository-") as repository:
        for version in (1, 2):
            put_version(args.model, repository, version)
        results["runs"] = [measure("no shadow", repository, False, args),
                           measure(f"shadow at {args.ratio:g}", repository, True, args)]
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "shadow_cost.json"), "w") as f:
        json.dump(results, f, indent=2)
    print(f"{args.stops} stops; closed loop {args.concurrency} outstanding, open loop "
          f"{args.rate:g}/s; {args.duration:g} s each")
    print("| server | closed: OK/s | p99 ms | open: p50 ms | p99 ms | shadow runs "
          "(closed + open) | dropped |")
    print("|---|---|---|---|---|---|---|")
    for run in results["runs"]:
        closed, opened = run["closed_loop"], run["open_loop"]
        shadow = run["shadow_after_open_loop"]
        runs = sum(v for k, v in shadow.items() if k != "dropped")
        print(f"| {run['name']} | {closed['ok_per_s']:.1f} | {closed['ok_latency_ms']['p99']:.1f}"
              f" | {opened['ok_latency_ms']['p50']:.1f} | {opened['ok_latency_ms']['p99']:.1f} | "
              f"{runs:g} | {shadow['dropped']:g} |")


if __name__ == "__main__":
    main()
