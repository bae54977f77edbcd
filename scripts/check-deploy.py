#!/usr/bin/env python3
"""Renders every Kubernetes overlay with `kubectl kustomize` and checks the objects offline.

  scripts/check-deploy.py        (part of `make check-deploy`)

No cluster is needed (nor reached). What it checks, per overlay: the objects a deployment needs
are there; the Deployment's probes (native gRPC: readiness and start-up on the service name the
server reports, liveness on ""), ports (those of the ConfigMap's server.address and
metrics.address), resources, security context, writable volumes, the threads set to fit the CPU
limit, the GPU in the gpu overlay only, and terminationGracePeriodSeconds against preStop +
shutdown.drain_delay_s + shutdown.grace_period_s from the config; Services, PDB and
ServiceMonitor select the pods and name ports that exist; the HPA's metric is one the server
exports and the one prometheus-adapter's rule serves; the ConfigMap's config is
config/routeserve.yaml with the addresses on 0.0.0.0 and the PrometheusRule's groups are
deploy/prometheus/alerts.yaml's. Against the code: every key of the ConfigMap's config and
every --set key is one config/schema.cc's schema lists, the probes' service name is the one
server/route_service.h reports, the ServiceMonitor's path is the one metrics/metrics_server.cc
serves, and every routeserve_ series the HPA, the adapter rule, the alert rules and the Grafana
dashboard name belongs to a family metrics/ exports (whose list must be docs/METRICS.md's). Then
the Dockerfile's ports, user, stop signal, base image tags, default command's --set keys and the
model it copies. Exits 1 naming every failure.

  scripts/check-deploy.py [--rendered DIR]   (scripts/check-deploy.sh runs it; DIR gets each
                                              overlay's rendering, for the schema check)
"""
import argparse
import json
import pathlib
import re
import shlex
import shutil
import subprocess
import sys

try:
    import yaml
except ImportError:
    sys.exit("check-deploy: Python's yaml module is missing (Debian: python3-yaml, which "
             "scripts/install-deps.sh installs)")

ROOT = pathlib.Path(__file__).resolve().parent.parent
K8S = ROOT / "deploy/k8s"
OVERLAYS = {"cpu": {"gpu": False}, "gpu": {"gpu": True}, "cpu-repository": {"gpu": False}}
# How long past its preStop, drain and grace a pod must be left before SIGKILL, in seconds.
MIN_MARGIN_S = 5
READINESS_SERVICE = "routeserve.v1.RouteService"
METRICS_PATH = "/metrics"
CONFIG_MOUNT = "/etc/routeserve"

failures = []


def fail(where, message):
    failures.append(f"{where}: {message}")


class UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML keeps the last of duplicate keys silently; a manifest with one is a mistake."""


def _construct_mapping(loader, node, deep=False):
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep)


UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_all(text, where):
    try:
        return [d for d in yaml.load_all(text, Loader=UniqueKeyLoader) if d is not None]
    except yaml.YAMLError as error:
        fail(where, f"YAML: {error}")
        return []


def port_of(address):
    return int(address.rsplit(":", 1)[1])


def get(obj, path, default=None):
    for key in path.split("."):
        if not isinstance(obj, dict) or key not in obj:
            return default
        obj = obj[key]
    return obj


def config_key_exists(config, dotted):
    node = config
    for key in dotted.split("."):
        if not isinstance(node, dict) or key not in node:
            return False
        node = node[key]
    return True


def quantity_cpu(value):
    text = str(value)
    return float(text[:-1]) / 1000 if text.endswith("m") else float(text)


UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 1e3, "M": 1e6, "G": 1e9}


def quantity_bytes(value):
    match = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", str(value))
    return float(match.group(1)) * UNITS.get(match.group(2), 1)


def selects(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def check_source_files():
    for path in sorted(K8S.rglob("*.yaml")):
        load_all(path.read_text(), path.relative_to(ROOT))
    sync = subprocess.run([sys.executable, str(ROOT / "scripts/sync-deploy.py"), "--check"],
                          capture_output=True, text=True)
    if sync.returncode != 0:
        fail("deploy/k8s/base", sync.stderr.strip())


def check_pod(where, deployment, config, gpu):
    spec = get(deployment, "spec.template.spec", {})
    template_labels = get(deployment, "spec.template.metadata.labels", {})
    if not selects(get(deployment, "spec.selector.matchLabels"), template_labels):
        fail(where, "the Deployment's selector does not match its pod template's labels")
    pod_security = spec.get("securityContext", {})
    if pod_security.get("runAsNonRoot") is not True:
        fail(where, "pod securityContext.runAsNonRoot must be true")
    if not isinstance(pod_security.get("runAsUser"), int) or pod_security["runAsUser"] == 0:
        fail(where, "pod securityContext.runAsUser must be a non-zero uid")
    if get(pod_security, "seccompProfile.type") != "RuntimeDefault":
        fail(where, "pod securityContext.seccompProfile.type must be RuntimeDefault")
    containers = spec.get("containers", [])
    if len(containers) != 1:
        fail(where, f"expected one container, found {len(containers)}")
        return None
    container = containers[0]
    image = container.get("image", "")
    if ":" not in image.rsplit("/", 1)[-1] and "@" not in image:
        fail(where, f"image {image!r} has no tag: set it with the overlay's images:")

    # Ports: those the config binds.
    ports = {p.get("name"): p.get("containerPort") for p in container.get("ports", [])}
    want = {"grpc": port_of(get(config, "server.address")),
            "metrics": port_of(get(config, "metrics.address"))}
    for name, number in want.items():
        if ports.get(name) != number:
            fail(where, f"container port {name!r} is {ports.get(name)}, the config binds {number}")
    for key in ("server.address", "metrics.address"):
        if not str(get(config, key)).startswith("0.0.0.0:"):
            fail(where, f"the ConfigMap's {key} must bind 0.0.0.0, got {get(config, key)!r}")

    # Probes: native gRPC, on the server's health service names.
    for probe, service in (("startupProbe", READINESS_SERVICE),
                           ("readinessProbe", READINESS_SERVICE), ("livenessProbe", "")):
        grpc = get(container, f"{probe}.grpc")
        if grpc is None:
            fail(where, f"{probe} must be a native gRPC probe")
            continue
        if grpc.get("port") != want["grpc"]:
            fail(where, f"{probe} probes port {grpc.get('port')}, gRPC listens on {want['grpc']}")
        if grpc.get("service", "") != service:
            fail(where, f"{probe} asks for service {grpc.get('service')!r}, want {service!r}")

    # Arguments: the ConfigMap's file, --set keys that exist, threads that fit the CPU limit.
    args = container.get("args", [])
    config_args = [args[i + 1] for i, a in enumerate(args[:-1]) if a == "--config"]
    config_args += [a.split("=", 1)[1] for a in args if a.startswith("--config=")]
    mounts = {m.get("name"): m for m in container.get("volumeMounts", [])}
    volumes = {v.get("name"): v for v in spec.get("volumes", [])}
    config_volume = next((n for n, v in volumes.items() if "configMap" in v), None)
    if not config_args or not config_volume or config_volume not in mounts or \
            config_args[-1] != mounts[config_volume]["mountPath"] + "/routeserve.yaml":
        fail(where, "the last --config must name routeserve.yaml in the ConfigMap's mount")
    overrides = {}
    for key, setting in set_flags(args):
        if not config_key_exists(config, key):
            fail(where, f"--set {key}: no such key in config/routeserve.yaml")
        overrides[key] = yaml.safe_load(setting)

    resources = container.get("resources", {})
    for kind in ("requests", "limits"):
        for resource in ("cpu", "memory"):
            if resource not in resources.get(kind, {}):
                fail(where, f"resources.{kind}.{resource} missing")
    cpu_limit = get(resources, "limits.cpu")
    if cpu_limit is not None and "cpu" in resources.get("requests", {}):
        if quantity_cpu(resources["requests"]["cpu"]) > quantity_cpu(cpu_limit):
            fail(where, "the CPU request exceeds the CPU limit")
    if get(resources, "limits.memory") and get(resources, "requests.memory"):
        if quantity_bytes(resources["requests"]["memory"]) > \
                quantity_bytes(resources["limits"]["memory"]):
            fail(where, "the memory request exceeds the memory limit")
    for key in ("batching.executors", "server.worker_threads"):
        threads = overrides.get(key, get(config, key))
        if not isinstance(threads, int) or threads <= 0:
            fail(where, f"{key} must be set (> 0) for the pod: 0 counts the node's cores")
        elif cpu_limit is not None and threads > quantity_cpu(cpu_limit):
            fail(where, f"{key}={threads} exceeds the CPU limit {cpu_limit}")

    gpu_limit = get(resources, "limits", {}).get("nvidia.com/gpu")
    tolerations = spec.get("tolerations", [])
    gpu_tolerated = any(t.get("key") == "nvidia.com/gpu" and t.get("effect") in
                        (None, "NoSchedule") for t in tolerations)
    if gpu:
        if str(gpu_limit) != "1":
            fail(where, f"limits nvidia.com/gpu must be 1, got {gpu_limit!r}")
        if not spec.get("nodeSelector"):
            fail(where, "the gpu overlay needs a nodeSelector for GPU nodes")
        if not gpu_tolerated:
            fail(where, "the gpu overlay needs a toleration for the nvidia.com/gpu taint")
        if overrides.get("model.device", get(config, "model.device")) not in ("cuda", "cuda:0"):
            fail(where, "the gpu overlay should set model.device=cuda (no silent CPU run)")
    elif gpu_limit is not None or gpu_tolerated:
        fail(where, "a CPU overlay asks for a GPU")

    security = container.get("securityContext", {})
    if security.get("readOnlyRootFilesystem") is not True:
        fail(where, "container securityContext.readOnlyRootFilesystem must be true")
    if security.get("allowPrivilegeEscalation") is not False:
        fail(where, "container securityContext.allowPrivilegeEscalation must be false")
    if get(security, "capabilities.drop") != ["ALL"] or get(security, "capabilities.add"):
        fail(where, "container capabilities must drop ALL and add none")
    if security.get("privileged"):
        fail(where, "the container must not be privileged")
    for name, mount in mounts.items():
        volume = volumes.get(name)
        if volume is None:
            fail(where, f"volumeMount {name!r} has no volume")
        elif "emptyDir" in volume:
            if mount["mountPath"] != "/tmp":
                fail(where, f"writable emptyDir {name!r} at {mount['mountPath']}: only /tmp")
        elif not mount.get("readOnly"):
            fail(where, f"volumeMount {name!r} must be readOnly")

    # Shutdown: preStop, then drain_delay_s + grace_period_s, before SIGKILL.
    command = get(container, "lifecycle.preStop.exec.command") or []
    sleep_s = get(container, "lifecycle.preStop.sleep.seconds")
    if sleep_s is None:
        words = shlex.split(" ".join(command)) if command else []
        sleep_s = float(words[-1]) if len(words) == 2 and words[0].endswith("sleep") else None
    if sleep_s is None:
        fail(where, "lifecycle.preStop must sleep (exec sleep N, or sleep.seconds)")
        sleep_s = 0
    needed = sleep_s + float(get(config, "shutdown.drain_delay_s")) + \
        float(get(config, "shutdown.grace_period_s")) + MIN_MARGIN_S
    grace = spec.get("terminationGracePeriodSeconds", 30)
    if grace < needed:
        fail(where, f"terminationGracePeriodSeconds {grace} < preStop {sleep_s:g} + drain_delay_s"
                    f" + grace_period_s + {MIN_MARGIN_S} s margin = {needed:g}")
    return container


def render(where, overlay_dir, rendered_dir):
    """The overlay's objects as `kubectl kustomize` renders them (also written to
    rendered_dir/<overlay>.yaml when given), or None."""
    result = subprocess.run(["kubectl", "kustomize", str(overlay_dir)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        version = subprocess.run(["kubectl", "version", "--client"], capture_output=True,
                                 text=True).stdout.replace("\n", ", ").strip(", ")
        fail(where, f"kubectl kustomize failed ({version}; the overlays are checked with kubectl "
                    f"1.32, kustomize v5.5): {result.stderr.strip()}")
        return None
    if rendered_dir is not None:
        (rendered_dir / f"{overlay_dir.name}.yaml").write_text(result.stdout)
    return load_all(result.stdout, where)


def check_overlay(name, gpu, alerts_groups, exported_metrics, adapter_metrics, schema_keys,
                  overlay_dir=None, rendered_dir=None):
    where = f"overlays/{name}"
    objects = render(where, overlay_dir or K8S / "overlays" / name, rendered_dir)
    if objects is None:
        return None
    failures_before = len(failures)
    by_kind = {}
    for obj in objects:
        by_kind.setdefault(obj.get("kind"), []).append(obj)
        if obj.get("metadata", {}).get("namespace"):
            fail(where, f"{obj['kind']} sets a namespace: leave it to `kubectl -n`")
    for kind, count in (("Deployment", 1), ("Service", 2), ("ConfigMap", 1),
                        ("HorizontalPodAutoscaler", 1), ("PodDisruptionBudget", 1),
                        ("ServiceMonitor", 1), ("PrometheusRule", 1)):
        if len(by_kind.get(kind, [])) != count:
            fail(where, f"expected {count} {kind}, found {len(by_kind.get(kind, []))}")
    if len(failures) > failures_before:
        return None
    deployment = by_kind["Deployment"][0]
    config_map = by_kind["ConfigMap"][0]
    config = yaml.safe_load(config_map["data"]["routeserve.yaml"])
    source = yaml.safe_load((ROOT / "config/routeserve.yaml").read_text())
    for section in ("server", "metrics"):
        source[section]["address"] = config[section]["address"]
    if config != source:
        fail(where, "the ConfigMap's config differs from config/routeserve.yaml beyond the "
                    "addresses")
    container_args = (get(deployment, "spec.template.spec.containers") or [{}])[0].get("args", [])
    check_config_keys(where, config, [key for key, _ in set_flags(container_args)], schema_keys)
    config_volume = next((v for v in get(deployment, "spec.template.spec.volumes", [])
                          if "configMap" in v), {})
    if get(config_volume, "configMap.name") != config_map["metadata"]["name"]:
        fail(where, "the Deployment does not mount the generated ConfigMap")

    container = check_pod(where, deployment, config, gpu)
    if container is None:
        return None
    pod_labels = get(deployment, "spec.template.metadata.labels", {})
    container_ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}

    services = {s["metadata"]["name"]: s for s in by_kind["Service"]}
    headless = [s for s in services.values() if get(s, "spec.clusterIP") == "None"]
    if len(headless) != 1:
        fail(where, "expected one headless Service (clusterIP: None)")
    for service in services.values():
        sname = service["metadata"]["name"]
        if not selects(get(service, "spec.selector"), pod_labels):
            fail(where, f"Service {sname} does not select the pods")
        for port in get(service, "spec.ports", []):
            target = port.get("targetPort", port.get("port"))
            if target not in container_ports and target not in container_ports.values():
                fail(where, f"Service {sname} port {port.get('name')} targets {target!r}, "
                            "which the container does not expose")
        if "grpc" not in {p.get("name") for p in get(service, "spec.ports", [])}:
            fail(where, f"Service {sname} has no port named grpc")

    monitor = by_kind["ServiceMonitor"][0]
    scraped = [s for s in services.values()
               if selects(get(monitor, "spec.selector.matchLabels"),
                          s["metadata"].get("labels", {}))]
    if len(scraped) != 1:
        fail(where, f"the ServiceMonitor selects {len(scraped)} Services, want exactly 1")
    else:
        port_names = {p.get("name") for p in get(scraped[0], "spec.ports", [])}
        for endpoint in get(monitor, "spec.endpoints", []):
            if endpoint.get("port") not in port_names:
                fail(where, f"ServiceMonitor endpoint port {endpoint.get('port')!r} is not a "
                            f"port of Service {scraped[0]['metadata']['name']}")
            if container_ports.get(endpoint.get("port")) != port_of(config["metrics"]["address"]):
                fail(where, "the ServiceMonitor does not scrape the metrics port")
            if endpoint.get("path", "/metrics") != METRICS_PATH:
                fail(where, f"the ServiceMonitor scrapes {endpoint.get('path')!r}, the server "
                            f"serves {METRICS_PATH}")

    pdb = by_kind["PodDisruptionBudget"][0]
    if not selects(get(pdb, "spec.selector.matchLabels"), pod_labels):
        fail(where, "the PodDisruptionBudget does not select the pods")

    hpa = by_kind["HorizontalPodAutoscaler"][0]
    if hpa.get("apiVersion") != "autoscaling/v2":
        fail(where, "the HorizontalPodAutoscaler must be autoscaling/v2")
    target = get(hpa, "spec.scaleTargetRef", {})
    if target.get("kind") != "Deployment" or target.get("name") != deployment["metadata"]["name"]:
        fail(where, "the HorizontalPodAutoscaler does not scale the Deployment")
    if get(hpa, "spec.minReplicas", 1) < 2:
        fail(where, "minReplicas below 2 leaves a rolling update or a drain with one pod")
    for metric in get(hpa, "spec.metrics", []):
        if metric.get("type") != "Pods":
            fail(where, f"HPA metric of type {metric.get('type')}: expected a per-pod metric")
            continue
        metric_name = get(metric, "pods.metric.name")
        if metric_name not in exported_metrics:
            fail(where, f"HPA metric {metric_name!r} is not a family the server exports")
        if metric_name not in adapter_metrics:
            fail(where, f"HPA metric {metric_name!r} is not served by the prometheus-adapter rule")

    rule = by_kind["PrometheusRule"][0]
    if get(rule, "spec.groups") != alerts_groups:
        fail(where, "the PrometheusRule's groups differ from deploy/prometheus/alerts.yaml's")
    return deployment


# How the metrics library names a family: Name("x") and AddFamily(registry, "x", ...) put
# the prefix in front (metrics/serving_metrics.cc), the GPU sampler writes kPrefix) + "x".
FAMILY_NAME_PATTERNS = (r'Name\("([a-z_]+)"\)', r'AddFamily\([^,]+,\s*"([a-z_]+)"',
                        r'kPrefix\)\s*\+\s*"([a-z_]+)"')
HISTOGRAM_SERIES_SUFFIXES = ("_bucket", "_sum", "_count")


def exported_metric_families():
    """routeserve_<name> for every family the metrics library's sources name."""
    names = set()
    for path in (ROOT / "metrics").glob("*.cc"):
        text = path.read_text()
        for pattern in FAMILY_NAME_PATTERNS:
            names |= {"routeserve_" + n for n in re.findall(pattern, text)}
    return names


def check_metric_families(exported):
    """The families found in the code are those docs/METRICS.md lists: when a way of naming a
    family is added to the library and not to FAMILY_NAME_PATTERNS, this fails rather than the
    checks below passing on an incomplete list."""
    documented = set(re.findall(r"^\| `(routeserve_[a-z_]+)`",
                                (ROOT / "docs/METRICS.md").read_text(), re.M))
    for name in sorted(documented - exported):
        fail("metrics/", f"{name} (docs/METRICS.md) is not found in the metrics library's sources")
    for name in sorted(exported - documented):
        fail("docs/METRICS.md", f"{name}, which the metrics library exports, is not listed")


def series_family(series, exported):
    """The family a series name belongs to (a histogram's _bucket, _sum and _count series are
    its family's), or None."""
    if series in exported:
        return series
    for suffix in HISTOGRAM_SERIES_SUFFIXES:
        if series.endswith(suffix) and series[:-len(suffix)] in exported:
            return series[:-len(suffix)]
    return None


def queries_of(node, keys=("expr", "query", "definition")):
    """Every string under one of `keys` in a parsed YAML or JSON document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in keys and isinstance(value, str):
                yield value
            else:
                yield from queries_of(value, keys)
    elif isinstance(node, list):
        for item in node:
            yield from queries_of(item, keys)


def check_query_metrics(where, document, exported):
    """Every routeserve_ series the PromQL queries of `document` name is one the server exports."""
    for query in queries_of(document):
        for series in sorted(set(re.findall(r"\b(routeserve_[a-z_]+)", query))):
            if series_family(series, exported) is None:
                fail(where, f"{series}: a query names it, and no family the server exports "
                            "has such a series")


def config_schema_keys():
    """The dotted keys of the configuration's schema, read from config/schema.cc's Schema():
    Section("name", {...}) nests, SomeKey("name", ...) is a key. A section whose keys are
    computed there (objective.speed_mps, model.by_vehicle_type) comes back as "section.*"."""
    text = (ROOT / "config/schema.cc").read_text()
    text = text[text.index("Schema() {") + len("Schema() {"):text.index("return *schema;")]
    keys, sections, depth = set(), [], 0  # sections: (name, depth at its opening parenthesis)
    token = re.compile(r'(Section|[A-Za-z]+Key)\(\s*"([a-z_0-9]+)"|([()])')
    for match in token.finditer(text):
        if match.group(3) == "(":
            depth += 1
        elif match.group(3) == ")":
            depth -= 1
            if sections and depth < sections[-1][1]:
                section = sections.pop()
                path = ".".join([s[0] for s in sections] + [section[0]])
                if not any(k.startswith(path + ".") for k in keys):
                    keys.add(path + ".*")
        else:
            depth += 1  # the call's own parenthesis
            if match.group(1) == "Section":
                sections.append((match.group(2), depth))
            else:
                keys.add(".".join([s[0] for s in sections] + [match.group(2)]))
    return keys


def schema_has_key(schema_keys, dotted):
    """`dotted` is a key of the schema, or lies under a section whose keys are computed
    (objective.speed_mps.*, model.by_vehicle_type.*: any depth)."""
    parts = dotted.split(".")
    return dotted in schema_keys or any(
        ".".join(parts[:i]) + ".*" in schema_keys for i in range(1, len(parts)))


def leaf_keys(config, prefix=""):
    for key, value in config.items():
        if isinstance(value, dict):
            yield from leaf_keys(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}"


def check_config_keys(where, config, set_keys, schema_keys):
    """Every key of the config and every --set key is one config/schema.cc lists."""
    for key in leaf_keys(config):
        if not schema_has_key(schema_keys, key):
            fail(where, f"config key {key} is not in config/schema.cc's schema")
    for key in set_keys:
        if not schema_has_key(schema_keys, key):
            fail(where, f"--set {key}: not in config/schema.cc's schema")


def set_flags(args):
    """(key, value) of every --set key=value / --set=key=value in `args`."""
    for i, arg in enumerate(args):
        value = args[i + 1] if arg == "--set" and i + 1 < len(args) else \
            arg[len("--set="):] if arg.startswith("--set=") else None
        if value is not None:
            key, _, setting = value.partition("=")
            yield key, setting


def check_server_names():
    """The names the manifests use that the code defines: the health service the probes ask
    for, the path the ServiceMonitor scrapes."""
    header = (ROOT / "server/route_service.h").read_text()
    if f'"{READINESS_SERVICE}"' not in header:
        fail("server/route_service.h", f"no {READINESS_SERVICE!r}: the probes name it")
    if f'"{METRICS_PATH}"' not in (ROOT / "metrics/metrics_server.cc").read_text():
        fail("metrics/metrics_server.cc", f"no {METRICS_PATH!r}: the ServiceMonitor scrapes it")


def check_dockerfile(deployment, config, schema_keys):
    path = ROOT / "Dockerfile"
    if not path.exists():
        fail("Dockerfile", "missing")
        return
    text = path.read_text()
    exposed = {int(p) for line in re.findall(r"^EXPOSE\s+(.+)$", text, re.M)
               for p in re.findall(r"\d+", line)}
    container = get(deployment, "spec.template.spec.containers")[0]
    ports = {p["containerPort"] for p in container.get("ports", [])}
    if exposed != ports:
        fail("Dockerfile", f"EXPOSE {sorted(exposed)} differs from the pod's ports {sorted(ports)}")
    if not re.search(r"^STOPSIGNAL\s+SIGTERM\s*$", text, re.M):
        fail("Dockerfile", "STOPSIGNAL SIGTERM missing")
    uid = get(deployment, "spec.template.spec.securityContext.runAsUser")
    users = re.findall(r"^USER\s+(\S+)\s*$", text, re.M)
    if not users or any(u.split(":")[0] != str(uid) for u in users):
        fail("Dockerfile", f"every runtime stage's USER must be the pod's runAsUser {uid}")
    targets = set(re.findall(r"^FROM\s+\S+\s+AS\s+(\S+)", text, re.M | re.I))
    for target in ("cpu", "gpu"):
        if target not in targets:
            fail("Dockerfile", f"no stage named {target!r}")
    if "scripts/install-deps.sh" not in text:
        fail("Dockerfile", "the cpu builder must run scripts/install-deps.sh, as `make` does")

    # Base images: a tag on each (dockerfilelint's missing_tag cannot see through the ARGs).
    image_args = dict(re.findall(r"^ARG\s+([A-Z_]+_IMAGE)=(\S+)\s*$", text, re.M))
    stages = set()
    for image, stage in re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", text, re.M | re.I):
        argument = re.fullmatch(r"\$\{?([A-Z_]+)\}?", image)
        if argument:
            image = image_args.get(argument.group(1), "")
            if not image:
                fail("Dockerfile", f"FROM {argument.group(0)}: no ARG {argument.group(1)}= default")
        if image and image not in stages and \
                ":" not in image.rsplit("/", 1)[-1] and "@" not in image:
            fail("Dockerfile", f"base image {image!r} has no tag")
        stages.add(stage)

    # The default command: keys the server reads, the ports it exposes, the model it copies.
    for command in re.findall(r"^CMD\s+(\[.*\])\s*$", text, re.M):
        flags = list(set_flags(json.loads(command)))
        check_config_keys("Dockerfile CMD", {}, [key for key, _ in flags], schema_keys)
        for key, value in flags:
            if key.endswith(".address") and port_of(value) not in exposed:
                fail("Dockerfile", f"CMD binds {key}={value}, a port it does not EXPOSE")
    model_path = get(config, "model.path")
    for copied in re.findall(r"^COPY\s+(models/\S+)\s", text, re.M):
        if copied != model_path:
            fail("Dockerfile", f"COPY {copied}: the config's model.path is {model_path!r}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rendered", type=pathlib.Path, metavar="DIR",
                        help="also write each overlay's rendering to DIR/<overlay>.yaml")
    args = parser.parse_args()
    if shutil.which("kubectl") is None:
        print("check-deploy: kubectl not found; it renders the overlays (`kubectl kustomize`). "
              "Install kubectl (not Debian's kubernetes-client) and run again.", file=sys.stderr)
        return 1
    if args.rendered is not None:
        args.rendered.mkdir(parents=True, exist_ok=True)
    check_source_files()
    check_server_names()
    schema_keys = config_schema_keys()
    alerts = yaml.safe_load((ROOT / "deploy/prometheus/alerts.yaml").read_text())
    alerts_groups = alerts["groups"]
    exported = exported_metric_families()
    check_metric_families(exported)
    check_query_metrics("deploy/prometheus/alerts.yaml", alerts, exported)
    check_query_metrics("deploy/grafana/routeserve.json",
                        json.loads((ROOT / "deploy/grafana/routeserve.json").read_text()), exported)
    adapter = yaml.safe_load((K8S / "prometheus-adapter-rule.yaml").read_text())
    adapter_metrics = {get(r, "name.as") for r in adapter.get("rules", [])}
    for rule in adapter.get("rules", []):
        series = re.match(r"\s*([a-z_]+)", rule.get("seriesQuery", "")).group(1)
        if series not in exported:
            fail("deploy/k8s/prometheus-adapter-rule.yaml", f"{series!r} is not exported")
    deployments = []
    for name, options in OVERLAYS.items():
        deployment = check_overlay(name, options["gpu"], alerts_groups, exported, adapter_metrics,
                                   schema_keys, rendered_dir=args.rendered)
        if deployment is not None:
            deployments.append(deployment)
    if deployments:
        check_dockerfile(deployments[0], yaml.safe_load((ROOT / "config/routeserve.yaml").read_text()),
                         schema_keys)
    if failures:
        print("check-deploy: FAILED", file=sys.stderr)
        for failure in failures:
            print("  " + failure, file=sys.stderr)
        return 1
    print(f"check-deploy: ok ({', '.join('overlays/' + o for o in OVERLAYS)} rendered and "
          "checked, Dockerfile checked)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
