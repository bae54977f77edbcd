#!/usr/bin/python3
"""Overload and soak: what routeserve does when offered more than it can serve, and whether its
memory grows under a steady load (docs/RELIABILITY.md, "Overload").

    bench/overload.py [--saturation 160] [--factor 3] [--moderate 0.5] [--duration 20]
        [--warmup 2] [--stops 20] [--windows loose] [--seed 1] [--set K=V]... [--out DIR]
    bench/overload.py --soak MINUTES --rate R [--set K=V]... [--out DIR]

OVERLOAD (the default): two open-loop runs of build/routeserve-bench against build/routeserve
with the shipped config and the --set overrides, each on a fresh server on free ports: first at
--moderate x the saturation rate (the reference for the OK answers' p99), then at --factor x it.
The saturation rate is --saturation (calls/s the server answers at most; docs/BENCHMARKS.md has
it for this machine), or, with --saturation 0, what a closed-loop probe of --probe_s seconds at
--probe_concurrency calls answers per second. While each run goes, once a second, the server's
resident memory (VmRSS of /proc/PID/status) and its routeserve_queue_depth gauge (the deepest
bucket) are sampled. It reports answers by status code, the latency of each code's answers
(refusals included: how fast a RESOURCE_EXHAUSTED comes back), the OK answers' p99 against the
moderate run's, the deepest queue seen against batching.max_queue_size, RSS at start, highest and
at the end, and the calls lost: calls started in the counted window (due - skipped) less those
answered, which must be 0 (every call has a deadline, so every call is answered, refused or not).

SOAK (--soak MINUTES --rate R): one open-loop run at R calls/s for MINUTES, RSS sampled each
second; reports RSS at minute 1 and at the end and the least-squares slope of RSS from minute 1
on (KiB/min), the first minute being the allocator's and the caches' warm-up.

The figures are measured and recorded, not judged: the script asserts nothing about timings.
Writes DIR/overload.json or DIR/soak.json (the runs' reports and the samples) and prints Markdown
tables. Run from the repository root after `make build`; only the standard library is needed.
"""
import argparse
import datetime
import json
import os
import re
import subprocess
import threading
import time
import urllib.error

from servers import CONFIG, ROOT, metric_samples, rss_kib, run_bench, start_routeserve


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--saturation", type=float, default=160,
                        help="calls/s the server answers at most; 0: probe it in closed loop")
    parser.add_argument("--probe_s", type=float, default=10, help="closed-loop probe, seconds")
    parser.add_argument("--probe_concurrency", type=int, default=16)
    parser.add_argument("--factor", type=float, default=3, help="overload rate / saturation")
    parser.add_argument("--moderate", type=float, default=0.5,
                        help="reference rate / saturation")
    parser.add_argument("--duration", type=float, default=20, help="counted seconds per run")
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--stops", default="20")
    parser.add_argument("--windows", default="loose")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--deadline_ms", type=float, default=None,
                        help="every call's deadline (routeserve-bench's default when absent)")
    parser.add_argument("--set", action="append", default=[], dest="overrides",
                        metavar="K=V", help="config override for the server")
    parser.add_argument("--soak", type=float, default=None, metavar="MINUTES",
                        help="soak mode: a fixed --rate for MINUTES")
    parser.add_argument("--rate", type=float, default=None, help="soak rate, calls/s")
    parser.add_argument("--sample_s", type=float, default=1, help="sampling period, seconds")
    parser.add_argument("--out", default=os.path.join(ROOT, "build", "bench", "overload"))
    args = parser.parse_args(argv)
    if args.soak is not None and not args.rate:
        parser.error("--soak needs --rate")
    return args


def max_queue_size(overrides):
    """batching.max_queue_size as the server runs it: the last override, else the config's."""
    for override in reversed(overrides):
        key, _, value = override.partition("=")
        if key.strip() == "batching.max_queue_size":
            return int(value)
    with open(CONFIG, encoding="utf-8") as f:
        match = re.search(r"^\s+max_queue_size:\s*(\d+)", f.read(), re.MULTILINE)
    return int(match.group(1)) if match else None


class Sampler:
    """Samples the server's RSS and deepest queue every `period_s` on a thread of its own."""

    def __init__(self, server, period_s):
        self.server, self.period_s = server, period_s
        self.samples = []  # {"t_s", "rss_kib", "queue_depth"}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._start = time.monotonic()
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._sample()

    def _run(self):
        next_at = self._start + self.period_s
        while not self._stop.wait(max(0.0, next_at - time.monotonic())):
            self._sample()
            next_at += self.period_s

    def _sample(self):
        depth = None
        if self.server.metrics_port:
            try:
                values = [v for _, v in metric_samples(self.server.metrics_port,
                                                      "routeserve_queue_depth")]
                depth = int(max(values)) if values else 0
            except (OSError, urllib.error.URLError):
                pass  # a scrape that timed out under load: the RSS sample still counts
        self.samples.append({"t_s": round(time.monotonic() - self._start, 3),
                             "rss_kib": rss_kib(self.server.process.pid),
                             "queue_depth": depth})


def deadline_flags(args):
    return ["--deadline_ms", str(args.deadline_ms)] if args.deadline_ms else []


def measured_run(rate, args, seconds):
    """A fresh server, one open-loop run at `rate` for `seconds` counted, sampled throughout."""
    bench_args = argparse.Namespace(duration=seconds, warmup=args.warmup, stops=args.stops,
                                    windows=args.windows, seed=args.seed)
    server = start_routeserve(args.overrides)
    try:
        with Sampler(server, args.sample_s) as sampler:
            report = run_bench(server.target, ["--rate", rate], bench_args, deadline_flags(args))
    finally:
        server.stop()
    return summarize(report, sampler.samples)


def summarize(report, samples):
    rss = [s["rss_kib"] for s in samples if s["rss_kib"] is not None]
    depths = [s["queue_depth"] for s in samples if s["queue_depth"] is not None]
    started = report.get("due", 0) - report.get("skipped", 0)
    return {
        "rate_per_s": report.get("rate_per_s"),
        "started": started,
        "answers": report["answers"],
        "lost": started - report["answers"],
        "codes": report["codes"],
        "ok_latency_ms": report["latency_ms"],
        "latency_ms_by_code": report.get("latency_ms_by_code", {}),
        "ok_per_s": report["ok_per_s"],
        "answers_per_s": report["answers_per_s"],
        "queue_depth_max": max(depths) if depths else None,
        "rss_kib": {"start": rss[0] if rss else None, "max": max(rss) if rss else None,
                    "end": rss[-1] if rss else None},
        "report": report,
        "samples": samples,
    }


def probe_saturation(args):
    """Answers/s of a closed loop at --probe_concurrency: what the server serves flat out."""
    bench_args = argparse.Namespace(duration=args.probe_s, warmup=args.warmup, stops=args.stops,
                                    windows=args.windows, seed=args.seed)
    server = start_routeserve(args.overrides)
    try:
        report = run_bench(server.target, ["--concurrency", args.probe_concurrency], bench_args)
    finally:
        server.stop()
    return report["ok_per_s"]


def slope_kib_per_min(samples, from_s):
    """Least-squares slope of RSS over time from `from_s` on, KiB per minute."""
    points = [(s["t_s"] / 60, s["rss_kib"]) for s in samples
              if s["t_s"] >= from_s and s["rss_kib"] is not None]
    if len(points) < 2:
        return None
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_r = sum(r for _, r in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    return sum((t - mean_t) * (r - mean_r) for t, r in points) / var if var else None


def environment(args):
    def command(*argv):
        try:
            return subprocess.run(argv, capture_output=True, text=True, cwd=ROOT,
                                  check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return None
    with open("/proc/loadavg", encoding="ascii") as f:
        loadavg = " ".join(f.read().split()[:3])
    return {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "commit": command("git", "rev-parse", "--short", "HEAD"),
            "nproc": os.cpu_count(), "loadavg_before": loadavg, "nice": os.nice(0),
            "overrides": args.overrides, "max_queue_size": max_queue_size(args.overrides),
            "stops": args.stops, "windows": args.windows, "seed": args.seed}


def code_rows(run):
    rows = []
    for code, count in sorted(run["codes"].items()):
        latency = run["latency_ms_by_code"].get(code, {})
        rows.append(f"| {code} | {count} | {latency.get('p50', 0):.2f} | "
                    f"{latency.get('p99', 0):.2f} | {latency.get('max', 0):.2f} |")
    return rows


def print_overload(result):
    env, moderate, over = result["environment"], result["moderate"], result["overload"]
    overrides = " ".join(env["overrides"]) or "none"
    print(f"# overload: saturation {result['saturation_per_s']:.0f}/s "
          f"({result['saturation_from']}), max_queue_size {env['max_queue_size']}, "
          f"overrides {overrides}")
    print()
    print("| run | offered/s | started | answered | lost | OK/s | OK p50 ms | OK p99 ms |"
          " queue depth max | RSS start / max / end MiB |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, run in (("moderate", moderate), ("overload", over)):
        rss = run["rss_kib"]
        mib = " / ".join(f"{(rss[k] or 0) / 1024:.0f}" for k in ("start", "max", "end"))
        print(f"| {name} | {run['rate_per_s']:.0f} | {run['started']} | {run['answers']} | "
              f"{run['lost']} | {run['ok_per_s']:.1f} | {run['ok_latency_ms']['p50']:.1f} | "
              f"{run['ok_latency_ms']['p99']:.1f} | {run['queue_depth_max']} | {mib} |")
    print()
    print("| overload: code | answers | p50 ms | p99 ms | max ms |")
    print("|---|---|---|---|---|")
    print("\n".join(code_rows(over)))


def print_soak(result):
    soak = result["soak"]
    print(f"# soak: {result['minutes']:g} min at {soak['rate_per_s']:.0f}/s, overrides "
          f"{' '.join(result['environment']['overrides']) or 'none'}")
    print()
    print("| started | answered | lost | OK p99 ms | RSS start MiB | RSS at 1 min MiB |"
          " RSS end MiB | RSS max MiB | slope from 1 min KiB/min |")
    print("|---|---|---|---|---|---|---|---|---|")
    rss = dict(soak["rss_kib"], at_1_min=result["rss_at_1_min_kib"])
    mib = {k: "n/a" if v is None else f"{v / 1024:.1f}" for k, v in rss.items()}
    slope = result["rss_slope_kib_per_min"]
    print(f"| {soak['started']} | {soak['answers']} | {soak['lost']} | "
          f"{soak['ok_latency_ms']['p99']:.1f} | {mib['start']} | {mib['at_1_min']} | "
          f"{mib['end']} | {mib['max']} | {'n/a' if slope is None else f'{slope:.1f}'} |")
    print()
    print("| code | answers | p50 ms | p99 ms | max ms |")
    print("|---|---|---|---|---|")
    print("\n".join(code_rows(soak)))


def main():
    args = parse_args()
    os.makedirs(args.out, exist_ok=True)
    result = {"environment": environment(args)}
    if args.soak is not None:
        seconds = args.soak * 60
        run = measured_run(args.rate, args, seconds)
        # From the sampler's start: the warmup and the first minute are the warm-up.
        from_s = 60
        after = [s for s in run["samples"] if s["t_s"] >= from_s and s["rss_kib"] is not None]
        result.update({"minutes": args.soak, "soak": run,
                       "rss_at_1_min_kib": after[0]["rss_kib"] if after else None,
                       "rss_slope_kib_per_min": slope_kib_per_min(run["samples"], from_s)})
        name = "soak.json"
    else:
        if args.saturation > 0:
            saturation, source = args.saturation, "--saturation"
        else:
            saturation, source = probe_saturation(args), "closed-loop probe"
        result.update({"saturation_per_s": saturation, "saturation_from": source,
                       "factor": args.factor})
        result["moderate"] = measured_run(saturation * args.moderate, args, args.duration)
        result["overload"] = measured_run(saturation * args.factor, args, args.duration)
        name = "overload.json"
    with open(os.path.join(args.out, name), "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    if args.soak is not None:
        print_soak(result)
    else:
        print_overload(result)


if __name__ == "__main__":
    main()
