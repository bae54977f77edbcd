#!/usr/bin/python3
"""Batching on vs off: throughput and latency at several concurrencies, side by side.

Starts build/routeserve twice per concurrency level, once with the default batching config and
once with batching.max_batch_size=1 (every request its own batch), runs build/routeserve-bench
in closed loop against each in turn, and prints a Markdown table with the ratios.

    bench/batching_sweep.py [--concurrency 1,8,64,256] [--duration 10] [--stops 20] [--set K=V]...

--set passes config overrides to both servers (e.g. --set batching.executors=1). Run from the
repository root after `make build`. Only the standard library is needed.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SERVER = os.path.join(ROOT, "build", "routeserve")
BENCH = os.path.join(ROOT, "build", "routeserve-bench")
CONFIG = os.path.join(ROOT, "config", "routeserve.yaml")


def start_server(overrides):
    args = [SERVER, "--config", CONFIG, "--set", "server.address=127.0.0.1:0",
            "--set", "metrics.address=127.0.0.1:0", "--set", "shutdown.drain_delay_s=0"]
    for override in overrides:
        args += ["--set", override]
    server = subprocess.Popen(args, stderr=subprocess.PIPE, text=True)
    for line in server.stderr:
        match = re.search(r"listening on [^ ;]*:(\d+)", line)
        if match:
            return server, int(match.group(1))
    raise RuntimeError("routeserve exited before listening")


def stop_server(server):
    server.terminate()
    server.communicate(timeout=60)


def run_bench(port, concurrency, args):
    with tempfile.NamedTemporaryFile(suffix=".json") as report:
        subprocess.run([BENCH, "--target", f"127.0.0.1:{port}", "--concurrency", str(concurrency),
                        "--duration", str(args.duration), "--warmup", str(args.warmup),
                        "--stops", args.stops, "--json", report.name, "--quiet"],
                       check=True, stdout=subprocess.DEVNULL)
        with open(report.name) as f:
            return json.load(f)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", default="1,8,64,256")
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--stops", default="20")
    parser.add_argument("--set", action="append", default=[], dest="overrides")
    args = parser.parse_args()

    configs = [("batching", args.overrides),
               ("batch 1", args.overrides + ["batching.max_batch_size=1"])]
    print(f"stops {args.stops}, {args.duration:g} s per run after {args.warmup:g} s warm-up; "
          f"overrides: {' '.join(args.overrides) or 'none'}")
    print()
    print("| concurrency | config | answers/s | p50 ms | p99 ms | mean batch | mean executor wait ms "
          "| errors | bad routes |")
    print("|---|---|---|---|---|---|---|---|---|")
    ratios = []
    for concurrency in [int(c) for c in args.concurrency.split(",")]:
        results = {}
        for name, overrides in configs:
            server, port = start_server(overrides)
            try:
                report = run_bench(port, concurrency, args)
            finally:
                stop_server(server)
            results[name] = report
            latency = report["latency_ms"]
            print(f"| {concurrency} | {name} | {report['ok_per_s']:.0f} | {latency['p50']:.2f} | "
                  f"{latency['p99']:.2f} | {report['server']['mean_batch_size']:.2f} | "
                  f"{report['server']['mean_executor_wait_s'] * 1e3:.3f} | "
                  f"{report['non_ok']} | {report['bad_routes']} |", flush=True)
        on, off = results["batching"], results["batch 1"]
        ratios.append((concurrency, on["ok_per_s"] / off["ok_per_s"],
                       on["latency_ms"]["p50"] / off["latency_ms"]["p50"],
                       on["latency_ms"]["p99"] / off["latency_ms"]["p99"]))
    print()
    print("| concurrency | throughput batching / batch 1 | p50 ratio | p99 ratio |")
    print("|---|---|---|---|")
    for concurrency, throughput, p50, p99 in ratios:
        print(f"| {concurrency} | {throughput:.2f} | {p50:.2f} | {p99:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
