#!/usr/bin/python3
"""Latency while a model reload swaps a new version in, against the same load without one
(docs/MODEL.md, Models in production).

    bench/reload_under_load.py [--model models/route-v2] [--rate 60] [--duration 20]
                               [--reload_at 5] [--stops 20] [--set K=V]... [--out DIR]

Makes a model repository in a temporary directory with --model as version 1 of "couriers" and
starts build/routeserve on it (shipped config, model.repository, and the --set overrides). Then
two open-loop routeserve-bench runs at --rate calls/s for --duration counted seconds: "steady",
and "reload", during which version 2 (another copy of --model: a new version, so it is loaded,
checked and warmed up) is put in the repository and the server gets SIGHUP --reload_at seconds
into the counted part. Both runs report their answers, codes and OK latency percentiles; the
reload run also the time from SIGHUP to the server's "swapped in" line. Writes
DIR/reload_under_load.json and prints a Markdown table. Only the standard library is needed.
"""
import argparse
import datetime
import json
import os
import signal
import tempfile
import threading
import time

from servers import ROOT, metric_samples, put_version, run_bench, start_routeserve


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=os.path.join(ROOT, "models", "route-v2"))
    parser.add_argument("--rate", type=float, default=60)
    parser.add_argument("--duration", type=float, default=20)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--reload_at", type=float, default=5)
    parser.add_argument("--stops", default="20")
    parser.add_argument("--set", action="append", default=[], dest="overrides", metavar="K=V")
    parser.add_argument("--out", default=os.path.join(ROOT, "build", "bench", "reload"))
    return parser.parse_args(argv)


def summarize(report):
    return {"answers": report["answers"], "codes": report["codes"],
            "ok_latency_ms": report["latency_ms"], "ok_per_s": report["ok_per_s"]}


def main():
    args = parse_args()
    bench_args = argparse.Namespace(duration=args.duration, warmup=args.warmup, stops=args.stops)
    results = {"date": datetime.date.today().isoformat(), "model": args.model,
               "rate_per_s": args.rate, "stops": args.stops, "overrides": args.overrides}
    with tempfile.TemporaryDirectory(prefix="routeserve-repository-") as repository:
        put_version(args.model, repository, 1)
        server = start_routeserve(["model.path=", f"model.repository={repository}",
                                   "model.name=couriers", *args.overrides])
        try:
            results["steady"] = summarize(run_bench(server.target, ["--rate", args.rate],
                                                    bench_args))

            def reload():
                time.sleep(args.warmup + args.reload_at)
                put_version(args.model, repository, 2)
                sighup_at = time.monotonic()
                server.process.send_signal(signal.SIGHUP)
                results["reloads"] = reload_counts(server)
                results["sighup_to_reloaded_s"] = round(time.monotonic() - sighup_at, 2)

            thread = threading.Thread(target=reload)
            thread.start()
            results["reload"] = summarize(run_bench(server.target, ["--rate", args.rate],
                                                    bench_args))
            thread.join()
        finally:
            server.stop()
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "reload_under_load.json"), "w") as f:
        json.dump(results, f, indent=2)
    print(f"{args.rate:g} calls/s of {args.stops} stops, {args.duration:g} s counted; "
          f"reloads: {results['reloads']}, {results['sighup_to_reloaded_s']} s from SIGHUP")
    print("| run | answers | codes | OK p50 ms | OK p99 ms | OK max ms |")
    print("|---|---|---|---|---|---|")
    for name in ("steady", "reload"):
        run = results[name]
        latency = run["ok_latency_ms"]
        codes = ", ".join(f"{code} {count}" for code, count in sorted(run["codes"].items()))
        print(f"| {name} | {run['answers']} | {codes} | {latency['p50']:.1f} | "
              f"{latency['p99']:.1f} | {latency['max']:.1f} |")


def reload_counts(server):
    """model_reloads_total by result, once the reload asked for has ended (or 60 s passed)."""
    until = time.monotonic() + 60
    while True:
        counts = {labels["result"]: value
                  for labels, value in metric_samples(server.metrics_port,
                                                      "routeserve_model_reloads_total")}
        if sum(counts.values()) >= 1 or time.monotonic() > until:
            return counts
        time.sleep(0.1)


if __name__ == "__main__":
    main()
