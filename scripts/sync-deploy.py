#!/usr/bin/env python3
"""Writes the Kubernetes base's copies of the project's own files, so that each has one source.

  deploy/k8s/base/routeserve.yaml      <- config/routeserve.yaml, server.address and
                                          metrics.address bound to 0.0.0.0
  deploy/k8s/base/prometheusrule.yaml  <- deploy/prometheus/alerts.yaml's groups, as a
                                          PrometheusRule (Prometheus Operator)

kustomize reads only files under its own directory, hence the copies.

  scripts/sync-deploy.py           rewrite them (`make sync-deploy`)
  scripts/sync-deploy.py --check   exit 1 when one is stale (`make check-deploy`)
"""
import argparse
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
CONFIG = ROOT / "config/routeserve.yaml"
ALERTS = ROOT / "deploy/prometheus/alerts.yaml"
BASE = ROOT / "deploy/k8s/base"

# The keys the Kubernetes config changes, and their values there.
K8S_ADDRESSES = {
    "server": '"0.0.0.0:50051"',
    "metrics": '"0.0.0.0:9464"',
}


def generated_header(source: str) -> str:
    return (f"# Generated from {source} by scripts/sync-deploy.py (`make sync-deploy`);"
            " do not edit.\n")


def k8s_config() -> str:
    """config/routeserve.yaml with each section's `address:` rewritten, comments kept."""
    out, section, seen = [], None, set()
    for line in CONFIG.read_text().splitlines(keepends=True):
        top = re.match(r"^([a-z_]+):", line)
        if top:
            section = top.group(1)
        key = re.match(r"^  address: .*$", line)
        if key and section in K8S_ADDRESSES:
            line = f"  address: {K8S_ADDRESSES[section]}\n"
            seen.add(section)
        out.append(line)
    missing = set(K8S_ADDRESSES) - seen
    if missing:
        sys.exit(f"sync-deploy: no address key in section(s) {sorted(missing)} of {CONFIG}")
    return (generated_header("config/routeserve.yaml") +
            "# The addresses bind every interface, as the pods need.\n" + "".join(out))


def prometheus_rule() -> str:
    """alerts.yaml's `groups:` block, indented under a PrometheusRule's spec, verbatim."""
    text = ALERTS.read_text()
    start = re.search(r"^groups:\s*$", text, re.M)
    if not start:
        sys.exit(f"sync-deploy: no top-level groups: in {ALERTS}")
    body = text[start.start():]
    indented = "".join(("  " + line) if line.strip() else line
                       for line in body.splitlines(keepends=True))
    return (generated_header("deploy/prometheus/alerts.yaml") +
            "# Your Prometheus may select rules by a label (e.g. release: <its Helm release>):\n"
            "# add it with a kustomize `labels:` entry in your overlay.\n"
            "apiVersion: monitoring.coreos.com/v1\n"
            "kind: PrometheusRule\n"
            "metadata:\n"
            "  name: routeserve\n"
            "spec:\n" + indented)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when a copy is stale")
    args = parser.parse_args()
    stale = []
    for path, text in ((BASE / "routeserve.yaml", k8s_config()),
                       (BASE / "prometheusrule.yaml", prometheus_rule())):
        current = path.read_text() if path.exists() else None
        if current == text:
            continue
        if args.check:
            stale.append(path.relative_to(ROOT))
        else:
            path.write_text(text)
            print(f"sync-deploy: wrote {path.relative_to(ROOT)}")
    if stale:
        print("sync-deploy: stale, run `make sync-deploy`: " + ", ".join(map(str, stale)),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
