#!/usr/bin/python3
"""Latency against throughput in open loop, and the highest rate each configuration serves within
the latency objective (p99 <= 50 ms, docs/ARCHITECTURE.md, Targets), with the ratios between configurations.

    bench/open_loop_sweep.py [--configs batching,batch1,python] [--rates 25,50,100,200,400,800]
        [--duration 10] [--warmup 2] [--stops 20] [--windows loose] [--seed 1] [--slo_ms 50]
        [--bisect 2] [--set K=V]... [--variant NAME:K=V[,K=V...]]... [--out DIR]

Configurations: `batching` is routeserve with the shipped config; `batch1` adds
batching.max_batch_size=1 (every request its own batch); `python` is bench/python_server.py,
the plain Python gRPC server with the same model, config and threads; `--variant NAME:K=V,...`
adds a routeserve configuration with those overrides (e.g. a batch-1 configuration tuned
otherwise: `--variant batch1-4exec:batching.max_batch_size=1,batching.executors=4`). --set
passes config overrides to every configuration, the Python server included.

For each configuration and each rate, lowest first, it starts the server afresh, runs
build/routeserve-bench --rate R (Poisson arrivals, the same request pool, seed and arrivals for
every configuration; --warmup seconds answered but not counted, then --duration counted), and
stops it. A rate meets the objective when p99 <= --slo_ms, at most --max_error_share of the due
calls failed or were skipped, and every route was feasible. After --stop_after rates in a row
that miss, the configuration's higher rates are skipped (it is saturated); then --bisect more
runs narrow the gap between its highest rate that met the objective and the next one up.

Writes DIR/open_loop.json (every run's report), DIR/open_loop.dat and DIR/open_loop.gp, and
DIR/open_loop.png when gnuplot is installed (`make bench-deps`); prints Markdown tables. Run from
the repository root after `make build`.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time

from servers import ROOT, run_bench, start_python_server, start_routeserve

BUILTIN = {"batching": [], "batch1": ["batching.max_batch_size=1"], "python": None}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", default="batching,batch1,python",
                        help="built-in configurations: batching, batch1, python")
    parser.add_argument("--variant", action="append", default=[], metavar="NAME:K=V,...",
                        help="another routeserve configuration")
    parser.add_argument("--rates", default="25,50,100,200,400,800",
                        help="offered rates, calls/s, ascending")
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--stops", default="20")
    parser.add_argument("--windows", default="loose")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--slo_ms", type=float, default=50)
    parser.add_argument("--max_error_share", type=float, default=0.001)
    parser.add_argument("--stop_after", type=int, default=2,
                        help="rates in a row that miss before the higher ones are skipped")
    parser.add_argument("--bisect", type=int, default=2,
                        help="runs that narrow the highest rate within the objective")
    parser.add_argument("--set", action="append", default=[], dest="overrides")
    parser.add_argument("--python_workers", type=int, default=None,
                        help="the Python server's thread pool (default: one per core)")
    parser.add_argument("--out", default=os.path.join(ROOT, "build", "bench", "open_loop"))
    return parser.parse_args()


def configurations(args):
    configs = []
    for name in [c for c in args.configs.split(",") if c]:
        if name not in BUILTIN:
            raise SystemExit(f"--configs: unknown configuration {name!r}")
        configs.append((name, None if BUILTIN[name] is None else args.overrides + BUILTIN[name]))
    for variant in args.variant:
        name, sep, sets = variant.partition(":")
        if not sep or not name:
            raise SystemExit(f"--variant {variant}: expected NAME:K=V[,K=V...]")
        configs.append((name, args.overrides + [s for s in sets.split(",") if s]))
    return configs


def run_one(name, overrides, rate, args):
    """One server started, driven at `rate`, stopped; the row of the tables."""
    if overrides is None:
        server = start_python_server(args.overrides, args.python_workers)
    else:
        server = start_routeserve(overrides)
    try:
        report = run_bench(server.target, ["--rate", rate], args)
    finally:
        server.stop()
    latency = report["latency_ms"]
    due = max(report.get("due", 0), 1)
    failed = report["non_ok"] + report.get("skipped", 0)
    row = {"config": name, "rate": rate, "offered_per_s": report.get("offered_per_s", rate),
           "ok_per_s": report["ok_per_s"], "p50_ms": latency["p50"], "p90_ms": latency["p90"],
           "p99_ms": latency["p99"], "failed": failed, "due": report.get("due", 0),
           "bad_routes": report["bad_routes"],
           "start_lag_p99_ms": report.get("start_lag_ms", {}).get("p99"),
           "mean_batch": report["server"]["mean_batch_size"], "report": report}
    row["meets_slo"] = (latency["p99"] is not None and latency["p99"] <= args.slo_ms and
                        failed / due <= args.max_error_share and report["bad_routes"] == 0 and
                        report["ok"] > 0)
    print(f"| {name} | {rate:g} | {row['offered_per_s']:.1f} | {row['ok_per_s']:.1f} | "
          f"{latency['p50']:.2f} | {latency['p90']:.2f} | {latency['p99']:.2f} | {failed} | "
          f"{row['bad_routes']} | {row['mean_batch']:.2f} | {row['start_lag_p99_ms']:.2f} | "
          f"{'yes' if row['meets_slo'] else 'no'} |", flush=True)
    return row


def sweep(name, overrides, rates, args):
    rows, misses = [], 0
    for rate in rates:
        row = run_one(name, overrides, rate, args)
        rows.append(row)
        misses = 0 if row["meets_slo"] else misses + 1
        if misses >= args.stop_after:
            break
    for _ in range(args.bisect):
        met = [r["rate"] for r in rows if r["meets_slo"]]
        if not met:
            break
        above = [r["rate"] for r in rows if not r["meets_slo"] and r["rate"] > max(met)]
        if not above:
            break
        rows.append(run_one(name, overrides, round((max(met) + min(above)) / 2, 1), args))
    return sorted(rows, key=lambda r: r["rate"])


def best_rate(rows):
    met = [r["rate"] for r in rows if r["meets_slo"]]
    return max(met) if met else None


def write_plot(results, args):
    data = os.path.join(args.out, "open_loop.dat")
    with open(data, "w") as f:
        for name, rows in results.items():
            f.write(f"# {name}: offered_per_s ok_per_s p50_ms p99_ms\n")
            for r in rows:
                f.write(f"{r['offered_per_s']:.3f} {r['ok_per_s']:.3f} {r['p50_ms']:.3f} "
                        f"{r['p99_ms']:.3f}\n")
            f.write("\n\n")
    plots = []
    for i, name in enumerate(results):
        plots.append(f"'open_loop.dat' index {i} using 2:4 with linespoints lw 2 lc {i + 1} "
                     f"title '{name} p99'")
        plots.append(f"'open_loop.dat' index {i} using 2:3 with linespoints dt 2 lc {i + 1} "
                     f"title '{name} p50'")
    script = os.path.join(args.out, "open_loop.gp")
    with open(script, "w") as f:
        f.write(f"""# Written by bench/open_loop_sweep.py; run in this folder: gnuplot open_loop.gp
set terminal pngcairo size 900,600 noenhanced
set output 'open_loop.png'
set title 'Open loop, {args.stops} stops, {args.windows} windows: latency vs throughput'
set xlabel 'answered OK per second'
set ylabel 'latency, ms'
set logscale y
set grid
set key top left
set arrow from graph 0, first {args.slo_ms:g} to graph 1, first {args.slo_ms:g} nohead dt 3 lc rgb 'red'
set label 'p99 objective {args.slo_ms:g} ms' at graph 0.98, first {args.slo_ms * 0.9:g} right tc rgb 'red'
plot {', '.join(plots)}
""")
    if shutil.which("gnuplot") is None:
        print(f"gnuplot is not installed (make bench-deps): no plot; {script} makes it")
        return
    subprocess.run(["gnuplot", "open_loop.gp"], cwd=args.out, check=True)
    print(f"plot: {os.path.join(args.out, 'open_loop.png')}")


def main():
    args = parse_args()
    rates = sorted(float(r) for r in args.rates.split(","))
    configs = configurations(args)
    os.makedirs(args.out, exist_ok=True)
    print(f"open loop, stops {args.stops}, windows {args.windows}, seed {args.seed}, "
          f"{args.duration:g} s per run after {args.warmup:g} s warm-up; objective p99 <= "
          f"{args.slo_ms:g} ms with at most {100 * args.max_error_share:g}% failed or skipped; "
          f"overrides: {' '.join(args.overrides) or 'none'}")
    print()
    print("| config | rate/s | offered/s | OK/s | p50 ms | p90 ms | p99 ms | failed or skipped "
          "| bad routes | mean batch | client lag p99 ms | meets objective |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    started = time.time()
    results = {name: sweep(name, overrides, rates, args) for name, overrides in configs}

    best = {name: best_rate(rows) for name, rows in results.items()}
    print()
    print(f"| config | highest rate with p99 <= {args.slo_ms:g} ms |")
    print("|---|---|")
    for name, rate in best.items():
        print(f"| {name} | {'none of the rates' if rate is None else f'{rate:g}/s'} |")
    reference = next(iter(best))
    print()
    for name, rate in best.items():
        if name == reference:
            continue
        if best[reference] and rate:
            print(f"{reference} / {name}: {best[reference] / rate:.2f}x")
        else:
            print(f"{reference} / {name}: not comparable (a configuration met the objective "
                  f"at none of the rates)")

    with open(os.path.join(args.out, "open_loop.json"), "w") as f:
        recorded = dict(vars(args), out=os.path.relpath(args.out, ROOT))  # no machine's path
        json.dump({"args": recorded, "seconds": time.time() - started,
                   "highest_rate_within_slo": best, "runs": results}, f, indent=1)
    write_plot(results, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
