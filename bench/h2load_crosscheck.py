#!/usr/bin/python3
"""routeserve-bench against an independent load generator, h2load, on the same request and
concurrency: the two throughputs and their ratio (they should agree within about 10%).

    bench/h2load_crosscheck.py [--concurrency 8] [--channels 4] [--duration 10] [--warmup 2]
                               [--stops 20] [--windows loose] [--seed 1] [--repeats 3]
                               [--set K=V]...

Starts build/routeserve (shipped config and --set overrides) and then:
1. has routeserve-bench write its pool's first request (--write_request) and frames it as a
   gRPC message: a 5-byte prefix (compressed flag 0, length as 4 bytes big-endian), then the
   serialized SuggestRequest; that is the body of every h2load call;
2. runs routeserve-bench in closed loop with --requests 1 (that same request every call),
   --concurrency N over --channels connections;
3. runs h2load (Debian's nghttp2-client, `make bench-deps`) with as many connections and
   N / connections streams each, POSTing the body to /routeserve.v1.RouteService/Suggest with
   `content-type: application/grpc` and `te: trailers`;
4. repeats 2 and 3 --repeats times, alternating which goes first, and compares the medians.
h2load counts an HTTP 200 as a success whatever the grpc-status trailer says, so the server's
routeserve_requests_total{method="Suggest"} is read from /metrics before and after the h2load
run: its calls count only if the server answered them OK. Run from the repository root after
`make build`.
"""
import argparse
import os
import re
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile

from servers import BENCH, metric_samples, run_bench, start_routeserve

METHOD_PATH = "/routeserve.v1.RouteService/Suggest"
REQUESTS_METRIC = "routeserve_requests_total"


def suggest_calls_by_code(metrics_port):
    return {labels.get("code"): value for labels, value in
            metric_samples(metrics_port, REQUESTS_METRIC) if labels.get("method") == "Suggest"}


def write_request_body(path, args):
    """The gRPC-framed request routeserve-bench sends with --requests 1 and these options."""
    with tempfile.NamedTemporaryFile(suffix=".pb") as serialized:
        subprocess.run([BENCH, "--write_request", serialized.name, "--requests", "1",
                        "--stops", args.stops, "--windows", args.windows,
                        "--seed", str(args.seed), "--quiet"], check=True,
                       stdout=subprocess.DEVNULL)
        message = serialized.read()
    with open(path, "wb") as body:
        body.write(struct.pack(">BI", 0, len(message)) + message)
    return len(message)


def to_ms(duration):
    """h2load's 12.34ms, 1.02s or 850us in milliseconds."""
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", duration).groups()
    return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]


def run_h2load(target, body, args):
    streams = -(-args.concurrency // args.channels)  # ceiling: at least N outstanding
    command = ["h2load", "--clients", str(args.channels), "--threads", "1",
               "--max-concurrent-streams", str(streams), "--duration", f"{round(args.duration * 1000)}ms",
               "--warm-up-time", f"{round(args.warmup * 1000)}ms", "--data", body,
               "--header", "content-type: application/grpc", "--header", "te: trailers",
               f"http://{target}{METHOD_PATH}"]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    finished = re.search(r"finished in ([\d.]+)s, ([\d.]+) req/s", output)
    counts = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, "
                       r"(\d+) failed, (\d+) errored, (\d+) timeout", output)
    latency = re.search(r"time for request:\s+(\S+)\s+(\S+)\s+(\S+)", output)
    if not finished or not counts:
        raise RuntimeError(f"cannot read h2load's output:\n{output}")
    return {"command": command, "calls_per_s": float(finished.group(2)),
            "done": int(counts.group(3)), "succeeded": int(counts.group(4)),
            "failed": int(counts.group(5)) + int(counts.group(6)) + int(counts.group(7)),
            "mean_latency_ms": to_ms(latency.group(3)) if latency else float("nan"),
            "streams_per_connection": streams, "output": output}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--channels", type=int, default=4, help="connections, both tools")
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--stops", default="20")
    parser.add_argument("--windows", default="loose")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3, help="runs of each tool")
    parser.add_argument("--set", action="append", default=[], dest="overrides")
    args = parser.parse_args()
    if shutil.which("h2load") is None:
        raise SystemExit("h2load is not installed: make bench-deps (Debian's nghttp2-client)")
    if args.concurrency % args.channels:
        print(f"note: h2load keeps {args.channels} x ceil({args.concurrency} / {args.channels}) "
              f"streams open, more than --concurrency {args.concurrency}")

    server = start_routeserve(args.overrides)
    rows = []
    try:
        with tempfile.TemporaryDirectory() as folder:
            body = os.path.join(folder, "suggest.grpc")
            size = write_request_body(body, args)
            for repeat in range(args.repeats):
                # Alternate which tool goes first, so that a drift of the machine falls on both.
                for tool in (("ours", "theirs") if repeat % 2 == 0 else ("theirs", "ours")):
                    rows.append(run_ours(server, args) if tool == "ours" else
                                run_theirs(server, body, args))
    finally:
        server.stop()

    print(f"one request of {args.stops} stops ({args.windows} windows, seed {args.seed}, "
          f"{size} bytes), concurrency {args.concurrency} over {args.channels} connections, "
          f"{args.duration:g} s after {args.warmup:g} s warm-up, {args.repeats} run(s) each, "
          f"alternating; overrides: {' '.join(args.overrides) or 'none'}")
    print()
    print("| load generator | calls/s | mean latency ms | calls counted | failed | "
          "server's codes during the run |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['tool']} | {row['calls_per_s']:.1f} | {row['mean_latency_ms']:.2f} | "
              f"{row['counted']} | {row['failed']} | {row['codes']} |")
    print()
    median = {tool: statistics.median(r["calls_per_s"] for r in rows if r["tool"] == tool)
              for tool in ("routeserve-bench", "h2load")}
    ratio = median["h2load"] / median["routeserve-bench"] if median["routeserve-bench"] else \
        float("nan")
    print(f"median calls/s: routeserve-bench {median['routeserve-bench']:.1f}, h2load "
          f"{median['h2load']:.1f}; h2load / routeserve-bench {ratio:.3f} "
          f"({'within' if abs(ratio - 1) <= 0.10 else 'NOT within'} 10%)")
    confirmed = all(r["confirmed"] for r in rows)
    print(f"h2load's calls answered OK by the server: {'yes' if confirmed else 'NO'}")
    return 0 if confirmed else 1


def run_ours(server, args):
    report = run_bench(server.target, ["--concurrency", args.concurrency], args,
                       extra=["--requests", "1", "--channels", str(args.channels)])
    return {"tool": "routeserve-bench", "calls_per_s": report["ok_per_s"],
            "mean_latency_ms": report["latency_ms"]["mean"],
            "counted": f"{report['ok']} OK, routes checked",
            "failed": report["non_ok"] + report["bad_routes"], "codes": "", "confirmed": True}


def run_theirs(server, body, args):
    before = suggest_calls_by_code(server.metrics_port)
    result = run_h2load(server.target, body, args)
    after = suggest_calls_by_code(server.metrics_port)
    codes = {code: int(n - before.get(code, 0)) for code, n in after.items()
             if n > before.get(code, 0)}
    # The server counts the run's warm-up calls too, hence >= rather than ==; the calls still
    # open when h2load's duration ends are reset by it and count as CANCELLED.
    others = sum(n for code, n in codes.items() if code not in ("OK", "CANCELLED"))
    confirmed = (codes.get("OK", 0) >= result["succeeded"] and others == 0 and
                 codes.get("CANCELLED", 0) <= args.channels * result["streams_per_connection"])
    return {"tool": "h2load", "calls_per_s": result["calls_per_s"],
            "mean_latency_ms": result["mean_latency_ms"],
            "counted": f"{result['succeeded']} HTTP 200", "failed": result["failed"],
            "codes": ", ".join(f"{code} {n}" for code, n in sorted(codes.items())),
            "confirmed": confirmed}


if __name__ == "__main__":
    sys.exit(main())
