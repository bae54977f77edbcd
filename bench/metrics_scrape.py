#!/usr/bin/python3
"""Scrape latency of /metrics alone, then beside the clients that once blocked it, in one run
against the built server: one silent connection, one dripping a byte of its request every 2 s,
and 200 idle connections (from 13 loopback addresses, 16 each: the server's limit per address).

  bench/metrics_scrape.py [--scrapes 200] [--idle 200] [--drip-period 2]
                          [--set key=value]... [--json FILE]

Each phase times `--scrapes` scrapes two ways, one after the other: each on a new connection
(as curl does) and all on one kept-alive connection (as Prometheus does), from 127.0.0.2, each
from the connect or the request to the last byte of the answer. It prints p50, p99 and max per
phase and way, and whether the misbehaving clients were all still connected at the end (the
server closes idle ones after 10 s, so the second phase must end sooner: it is timed, and the
script says so if it ran longer). Then it times SIGTERM to exit with those clients still
attached, beside a server of its own with none (the whole phased shutdown, with
`shutdown.drain_delay_s=0`). The server runs the classical solver (`model.path=""`) unless
--set says otherwise. Only the standard library is needed.
"""
import argparse
import datetime
import http.client
import json
import os
import platform
import select
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import servers  # noqa: E402  (bench/ is not a package)

SCRAPER_ADDRESS = "127.0.0.2"
PER_ADDRESS = 16  # MetricsServer::kMaxConnectionsPerAddress
IDLE_TIMEOUT_S = 10  # MetricsServer::kIdleTimeoutSeconds


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scrapes", type=int, default=200, help="scrapes per phase and way")
    parser.add_argument("--idle", type=int, default=200, help="idle connections in phase 2")
    parser.add_argument("--drip-period", type=float, default=2.0,
                        help="seconds between the dripping client's bytes")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a config override for the server (repeatable)")
    parser.add_argument("--json", help="write the figures here")
    return parser.parse_args(argv)


def percentile(values, q):
    """Nearest-rank percentile of `values` (q in 0..100)."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


def summary_ms(seconds):
    return {"p50": round(percentile(seconds, 50) * 1e3, 3),
            "p99": round(percentile(seconds, 99) * 1e3, 3),
            "max": round(max(seconds) * 1e3, 3), "n": len(seconds)}


def scrape(connection):
    connection.request("GET", "/metrics")
    response = connection.getresponse()
    body = response.read()
    if response.status != 200 or b"routeserve_build_info" not in body:
        raise RuntimeError(f"scrape answered {response.status}")


def time_scrapes(port, count):
    """(new-connection latencies, kept-alive latencies), in seconds."""
    fresh, kept = [], []
    for _ in range(count):
        start = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60,
                                                source_address=(SCRAPER_ADDRESS, 0))
        scrape(connection)
        fresh.append(time.perf_counter() - start)
        connection.close()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60,
                                            source_address=(SCRAPER_ADDRESS, 0))
    for _ in range(count):
        start = time.perf_counter()
        scrape(connection)
        kept.append(time.perf_counter() - start)
    connection.close()
    return fresh, kept


def connect(port, source):
    return socket.create_connection(("127.0.0.1", port), timeout=60, source_address=(source, 0))


def is_open(sock):
    """Neither the end of the stream nor an error is pending on `sock`."""
    readable, _, _ = select.select([sock], [], [], 0)
    if not readable:
        return True
    try:
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) != b""
    except OSError:
        return False


class Dripper(threading.Thread):
    """Sends a request a byte at a time, one every `period` seconds, never finishing it."""

    def __init__(self, sock, period):
        super().__init__(daemon=True)
        self.sock, self.period, self.stop, self.failed = sock, period, threading.Event(), False

    def run(self):
        data = b"GET /metrics HTTP/1.1\r\nX-Drip: "
        i = 0
        while not self.stop.is_set():
            try:
                self.sock.send(data[i:i + 1] if i < len(data) else b"a")
            except OSError:
                self.failed = True
                return
            i += 1
            self.stop.wait(self.period)


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "kernel": platform.release(),
            "date": datetime.date.today().isoformat()}


def exit_seconds(server):
    """SIGTERM to the process's exit, in seconds."""
    started = time.monotonic()
    server.process.terminate()
    server.process.wait(timeout=120)
    return round(time.monotonic() - started, 3)


def run(args):
    overrides = args.set if any(s.startswith("model.path=") for s in args.set) else \
        ['model.path=""'] + args.set
    exit_alone = exit_seconds(servers.start_routeserve(overrides))
    server = servers.start_routeserve(overrides)
    try:
        port = server.metrics_port
        time_scrapes(port, 10)  # warm-up
        alone = time_scrapes(port, args.scrapes)

        silent = connect(port, "127.0.0.11")
        dripper = Dripper(connect(port, "127.0.0.12"), args.drip_period)
        dripper.start()
        idle = [connect(port, f"127.0.1.{1 + i // PER_ADDRESS}") for i in range(args.idle)]
        time.sleep(0.5)  # the server accepts them
        started = time.monotonic()
        beside = time_scrapes(port, args.scrapes)
        elapsed = time.monotonic() - started
        connected = {"silent": is_open(silent), "dripping": not dripper.failed and
                     is_open(dripper.sock), "idle": sum(is_open(s) for s in idle)}
        exit_beside = exit_seconds(server)
        dripper.stop.set()
        for sock in [silent, dripper.sock] + idle:
            sock.close()
    finally:
        if server.process.poll() is None:
            server.stop()
    return {
        "machine": machine(),
        "scrapes": args.scrapes, "idle_connections": args.idle,
        "drip_period_s": args.drip_period,
        "alone": {"new_connection_ms": summary_ms(alone[0]),
                  "keep_alive_ms": summary_ms(alone[1])},
        "beside_silent_dripping_idle": {"new_connection_ms": summary_ms(beside[0]),
                                        "keep_alive_ms": summary_ms(beside[1]),
                                        "seconds": round(elapsed, 2),
                                        "still_connected": connected},
        "sigterm_to_exit_s": {"alone": exit_alone, "beside_silent_dripping_idle": exit_beside},
    }


def print_table(result):
    print("| /metrics scrape, ms | new connection p50 | p99 | max | keep-alive p50 | p99 | max |")
    print("|---|---|---|---|---|---|---|")
    for name, label in (("alone", "nothing else connected"),
                        ("beside_silent_dripping_idle",
                         f"1 silent + 1 dripping + {result['idle_connections']} idle")):
        fresh, kept = result[name]["new_connection_ms"], result[name]["keep_alive_ms"]
        print(f"| {label} | {fresh['p50']} | {fresh['p99']} | {fresh['max']} | "
              f"{kept['p50']} | {kept['p99']} | {kept['max']} |")
    beside = result["beside_silent_dripping_idle"]
    print(f"still connected at the end: {beside['still_connected']} "
          f"({result['scrapes']} scrapes each way, {result['machine']['cores']} cores, "
          f"{result['machine']['date']})")
    exits = result["sigterm_to_exit_s"]
    print(f"SIGTERM to exit: {exits['alone']} s with no client, "
          f"{exits['beside_silent_dripping_idle']} s with those still attached")
    if beside["seconds"] >= IDLE_TIMEOUT_S:
        print(f"note: the second phase took {beside['seconds']} s, past the server's idle "
              f"timeout of {IDLE_TIMEOUT_S} s: the silent and idle clients were closed during it")


def main():
    args = parse_args()
    result = run(args)
    print_table(result)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
