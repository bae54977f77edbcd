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
import sys

from servers import run_bench, start_routeserve


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
            server = start_routeserve(overrides)
            try:
                report = run_bench(server.target, ["--concurrency", concurrency], args)
            finally:
                server.stop()
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
