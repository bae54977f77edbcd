"""What the bench/ scripts share: starting a server on a free port, stopping it, one
routeserve-bench run read back from its JSON report, and the /metrics counters.

Servers are started with `server.address=127.0.0.1:0` and `metrics.address=127.0.0.1:0` and
found by the "listening on HOST:PORT" line they log. Only the standard library is needed.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# A test runs the binaries of its own build tree through these variables.
SERVER = os.environ.get("ROUTESERVE_SERVER") or os.path.join(ROOT, "build", "routeserve")
BENCH = os.environ.get("ROUTESERVE_BENCH") or os.path.join(ROOT, "build", "routeserve-bench")
CONFIG = os.path.join(ROOT, "config", "routeserve.yaml")
PYTHON_SERVER = os.path.join(ROOT, "bench", "python_server.py")


class Server:
    """A running server: its process, gRPC port and, for routeserve, its metrics port, and the
    lines it logged up to "listening on"."""

    def __init__(self, process, port, metrics_port=None, log_lines=()):
        self.process, self.port, self.metrics_port = process, port, metrics_port
        self.log_lines = list(log_lines)

    @property
    def target(self):
        return f"127.0.0.1:{self.port}"

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=60)  # its log is drained by the thread _await_listening starts


def _await_listening(process, name):
    """The gRPC port (and the metrics port, when logged first) from the server's log, and the
    lines it logged until then."""
    metrics_port = None
    lines = []
    for line in process.stderr:
        lines.append(line)
        match = re.search(r"metrics on http://[^ ]*:(\d+)/metrics", line)
        if match:
            metrics_port = int(match.group(1))
        match = re.search(r"listening on [^ ;]*:(\d+)", line)
        if match:
            # Keep draining its log so that it never blocks on a full pipe.
            threading.Thread(target=process.stderr.read, daemon=True).start()
            return int(match.group(1)), metrics_port, lines
    raise RuntimeError(f"{name} exited before listening")


def start_routeserve(overrides):
    """routeserve with the shipped config and `overrides` (key=value strings)."""
    args = [SERVER, "--config", CONFIG, "--set", "server.address=127.0.0.1:0",
            "--set", "metrics.address=127.0.0.1:0", "--set", "shutdown.drain_delay_s=0"]
    for override in overrides:
        args += ["--set", override]
    # From the repository root: the config names the model relative to the working directory.
    process = subprocess.Popen(args, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    return Server(process, *_await_listening(process, "routeserve"))


def start_python_server(overrides, workers=None):
    """bench/python_server.py with the same config and overrides."""
    args = [sys.executable, PYTHON_SERVER, "--config", CONFIG,
            "--set", "server.address=127.0.0.1:0"]
    for override in overrides:
        args += ["--set", override]
    if workers:
        args += ["--workers", str(workers)]
    process = subprocess.Popen(args, stderr=subprocess.PIPE, text=True)
    return Server(process, *_await_listening(process, "python_server.py"))


def run_bench(target, load, args, extra=()):
    """One routeserve-bench run; `load` is ["--concurrency", N] or ["--rate", R]. `args` carries
    duration, warmup and stops (and, when present, windows and seed). Returns its JSON report."""
    with tempfile.NamedTemporaryFile(suffix=".json") as report:
        command = [BENCH, "--target", target, *[str(x) for x in load],
                   "--duration", str(args.duration), "--warmup", str(args.warmup),
                   "--stops", args.stops, "--json", report.name, "--quiet", *extra]
        for flag in ("windows", "seed"):
            if getattr(args, flag, None) is not None:
                command += [f"--{flag}", str(getattr(args, flag))]
        # Exit 1 means a bad route or no answer at all: the report says which.
        result = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                text=True)
        if result.returncode not in (0, 1) or os.path.getsize(report.name) == 0:
            raise RuntimeError(f"routeserve-bench exited {result.returncode} without a report: "
                               f"{' '.join(command)}\n{result.stderr}")
        with open(report.name) as f:
            parsed = json.load(f)
        parsed["warnings"] = result.stderr.splitlines()  # e.g. the client's own lag
        return parsed


def put_version(model, repository, version, name="couriers"):
    """Copies the model directory `model` into `repository` as version `version` of `name`, as a
    new version goes in (docs/MODEL.md): under another name, then renamed into place."""
    target = os.path.join(repository, name, str(version))
    shutil.copytree(model, target + ".partial")
    os.rename(target + ".partial", target)


def rss_kib(pid):
    """VmRSS of process `pid` in KiB, None once it is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def metric_samples(metrics_port, name):
    """[(labels, value)] of a metric on routeserve's /metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10) as r:
        text = r.read().decode()
    samples = []
    for line in text.splitlines():
        match = re.match(r"^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)", line)
        if match and match.group(1) == name:
            labels = dict(re.findall(r'(\w+)="([^"]*)"', match.group(2) or ""))
            samples.append((labels, float(match.group(3))))
    return samples
