#!/usr/bin/python3
"""How long SIGTERM takes to end routeserve, with nothing connected and with clients that never
finish a request on either port: the shutdown must end within drain delay + grace period + 3 s
whatever any client does (docs/RELIABILITY.md, Shutdown).

    bench/shutdown_bound.py [--runs 3] [--drippers 4] [--set K=V]... [--out DIR]

For each run, two fresh build/routeserve servers (shipped config, shutdown.drain_delay_s=0.5,
shutdown.grace_period_s=1, and the --set overrides): one left alone, one with --drippers clients
on the gRPC port and as many on the metrics port, each sending a byte every 100 ms and never a
whole request, and one that connected and sends nothing. Then SIGTERM, and the seconds until the
process has exited, with its exit code. Writes DIR/shutdown_bound.json and prints a table.
Only the standard library is needed.
"""
import argparse
import datetime
import json
import os
import signal
import socket
import statistics
import subprocess
import threading
import time

from servers import ROOT, start_routeserve


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--drippers", type=int, default=4)
    parser.add_argument("--set", action="append", default=[], dest="overrides", metavar="K=V")
    parser.add_argument("--out", default=os.path.join(ROOT, "build", "bench", "shutdown_bound"))
    return parser.parse_args(argv)


class Clients:
    """Connections that drip a byte every 100 ms, and silent ones, until closed."""

    def __init__(self, ports, drippers):
        self.sockets = []
        for port in ports:
            for _ in range(drippers):
                self.sockets.append((socket.create_connection(("127.0.0.1", port)), True))
            self.sockets.append((socket.create_connection(("127.0.0.1", port)), False))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._drip, daemon=True)
        self._thread.start()

    def _drip(self):
        while not self._stop.wait(0.1):
            for sock, drips in self.sockets:
                if drips:
                    try:
                        sock.send(b"G")
                    except OSError:
                        pass  # the server closed it

    def close(self):
        self._stop.set()
        self._thread.join()
        for sock, _ in self.sockets:
            sock.close()


def one_shutdown(overrides, drippers):
    server = start_routeserve(["shutdown.drain_delay_s=0.5", "shutdown.grace_period_s=1",
                               *overrides])
    clients = Clients([server.port, server.metrics_port], drippers) if drippers else None
    time.sleep(0.5)
    start = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    code = server.process.wait(timeout=120)
    seconds = time.monotonic() - start
    if clients:
        clients.close()
    return {"seconds": round(seconds, 3), "exit_code": code}


def main():
    args = parse_args()
    runs = {"alone": [], "with_clients": []}
    for _ in range(args.runs):
        runs["alone"].append(one_shutdown(args.overrides, 0))
        runs["with_clients"].append(one_shutdown(args.overrides, args.drippers))
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=ROOT).stdout.strip() or None
    report = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "nproc": os.cpu_count(), "commit": commit, "drippers_per_port": args.drippers,
              "overrides": args.overrides, "bound_s": 0.5 + 1 + 3, "runs": runs}
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "shutdown_bound.json"), "w", encoding="utf-8") as f:
        json.dump(report, f, indent=1)
    print("| clients | SIGTERM to exit, s (median, max) | exit codes | bound, s |")
    print("|---|---|---|---|")
    for name, results in runs.items():
        seconds = [r["seconds"] for r in results]
        print(f"| {name} | {statistics.median(seconds):.2f}, {max(seconds):.2f} "
              f"| {sorted({r['exit_code'] for r in results})} | {report['bound_s']} |")


if __name__ == "__main__":
    main()
