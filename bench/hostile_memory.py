#!/usr/bin/python3
"""Hostile messages and the server's memory: how far bursts of concurrent messages built to make
the parser allocate (as many empty stops as the message limit lets through) move routeserve's
resident memory, whether it comes back, and whether good calls are answered during and after.

    bench/hostile_memory.py [--concurrency 64] [--rounds 5] [--limit derived --limit 4194304]
        [--set K=V]... [--out DIR]

For each --limit (limits.max_message_bytes: "derived" leaves the default, what limits.max_stops
needs; a number sets it), a fresh build/routeserve with the shipped config: its idle RSS once
it listens (VmRSS of /proc/PID/status), then --rounds bursts of --concurrency Suggest calls at
once, each carrying the hostile message (field 3, `stops`, as an empty message, repeated to
within 16 bytes of the limit), while build/routeserve-cli asks for a 20-stop route again and
again. RSS is sampled every 50 ms; it reports the idle RSS, the highest during the bursts and
what is left 1 s, 5 s and 30 s after them, the refusals by status code and message, and the good
calls answered (and failed) during and after the bursts.

Needs Python's grpc (`make bench-deps`). The figures are measured and recorded, not judged.
Writes DIR/hostile_memory.json and prints a Markdown table.
"""
import argparse
import datetime
import json
import os
import re
import subprocess
import threading
import time

import grpc

from servers import ROOT, rss_kib, start_routeserve

CLI = os.environ.get("ROUTESERVE_CLI") or os.path.join(ROOT, "build", "routeserve-cli")
SUGGEST = "/routeserve.v1.RouteService/Suggest"
EMPTY_STOP = b"\x1a\x00"  # field 3 (stops), length-delimited, 0 bytes


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--limit", action="append", default=None,
                        help='limits.max_message_bytes: "derived" or a number; repeatable')
    parser.add_argument("--set", action="append", default=[], dest="overrides", metavar="K=V")
    parser.add_argument("--out", default=os.path.join(ROOT, "build", "bench", "hostile_memory"))
    args = parser.parse_args(argv)
    args.limit = args.limit or ["derived", "4194304"]
    return args


def message_limit(server_log_lines):
    for line in server_log_lines:
        match = re.search(r"messages of at most (\d+) bytes", line)
        if match:
            return int(match.group(1))
    return None


class GoodCalls:
    """routeserve-cli asking for one 20-stop route after another, on a thread of its own."""

    def __init__(self, target):
        self.target, self.ok, self.failed = target, 0, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _run(self):
        seed = 1
        while not self._stop.is_set():
            result = subprocess.run([CLI, "--target", self.target, "--generate", "20",
                                     "--seed", str(seed)], capture_output=True, text=True)
            if result.returncode == 0:
                self.ok += 1
            else:
                self.failed.append(result.stderr.strip()[-200:])
            seed += 1


def run_limit(limit, args):
    overrides = list(args.overrides)
    if limit != "derived":
        overrides.append(f"limits.max_message_bytes={limit}")
    server = start_routeserve(overrides)
    samples = []
    stop_sampling = threading.Event()

    def sample():
        start = time.monotonic()
        while not stop_sampling.wait(0.05):
            samples.append((round(time.monotonic() - start, 3), rss_kib(server.process.pid)))

    try:
        time.sleep(1)
        idle = rss_kib(server.process.pid)
        limit_bytes = message_limit(server.log_lines)
        stops = (limit_bytes - 16) // len(EMPTY_STOP)
        hostile = EMPTY_STOP * stops
        channel = grpc.insecure_channel(server.target, options=[
            ("grpc.max_send_message_length", -1)])
        call = channel.unary_unary(SUGGEST)  # bytes in, bytes out
        refusals = {}
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        started = time.monotonic()
        with GoodCalls(server.target) as during:
            for _ in range(args.rounds):
                futures = [call.future(hostile, timeout=60) for _ in range(args.concurrency)]
                for future in futures:
                    try:
                        future.result()
                        key = "OK"
                    except grpc.RpcError as error:
                        key = f"{error.code().name}: {error.details()[:80]}"
                    refusals[key] = refusals.get(key, 0) + 1
        burst_s = time.monotonic() - started
        highest = max(r for _, r in samples if r is not None)
        after, waited = {}, 0
        for at_s in (1, 5, 30):
            time.sleep(at_s - waited)
            waited = at_s
            after[f"{at_s}s"] = rss_kib(server.process.pid)
        with GoodCalls(server.target) as later:
            time.sleep(3)
        stop_sampling.set()
        sampler.join()
        channel.close()
    finally:
        server.stop()
    return {
        "limit": limit, "max_message_bytes": limit_bytes, "empty_stops_per_message": stops,
        "message_bytes": len(hostile), "concurrency": args.concurrency, "rounds": args.rounds,
        "burst_s": round(burst_s, 2), "rss_kib": {"idle": idle, "highest": highest, **after},
        "hostile_answers": refusals,
        "good_calls": {"during_ok": during.ok, "during_failed": during.failed,
                       "after_ok": later.ok, "after_failed": later.failed},
    }


def commit():
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, cwd=ROOT, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def main():
    args = parse_args()
    runs = [run_limit(limit, args) for limit in args.limit]
    os.makedirs(args.out, exist_ok=True)
    settings = {k: v for k, v in vars(args).items() if k != "out"}  # no paths of this machine
    report = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "nproc": os.cpu_count(), "commit": commit(), "args": settings, "runs": runs}
    with open(os.path.join(args.out, "hostile_memory.json"), "w", encoding="utf-8") as f:
        json.dump(report, f, indent=1)
    mib = lambda kib: f"{kib / 1024:.0f}" if kib is not None else "-"
    print("| max_message_bytes | empty stops / message | RSS idle MiB | highest | +1 s | +5 s "
          "| +30 s | hostile answers | good calls during (failed) | after (failed) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for run in runs:
        rss = run["rss_kib"]
        answers = "; ".join(f"{n} {k}" for k, n in run["hostile_answers"].items())
        good = run["good_calls"]
        print(f"| {run['max_message_bytes']} ({run['limit']}) | {run['empty_stops_per_message']} "
              f"| {mib(rss['idle'])} | {mib(rss['highest'])} | {mib(rss['1s'])} "
              f"| {mib(rss['5s'])} | {mib(rss['30s'])} | {answers} "
              f"| {good['during_ok']} ({len(good['during_failed'])}) "
              f"| {good['after_ok']} ({len(good['after_failed'])}) |")


if __name__ == "__main__":
    main()
