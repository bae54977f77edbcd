#!/usr/bin/python3
"""The plain Python gRPC server a team would write first, which routeserve is measured against.

    bench/python_server.py [--config config/routeserve.yaml] [--set key=value]... [--workers W]

Serves routeserve.v1.RouteService/Suggest with grpcio's `grpc.server` and a thread pool of W
workers (default: one per core), one request per forward pass of the SAME TorchScript model
routeserve serves (`model.path` of the config, loaded with Python's torch). Per request: the proto
JSON of the request through model/training/features.py (the Python twin of the server's encoder,
padded to the request's bucket as the server pads it, so the forward pass sees the same shapes),
`model.decodings` decodings (decoding 0 greedy, the others with Gumbel noise seeded by a CRC-32
of the request id, as the training recipe's evaluation draws it), the cheapest feasible one by
model/training/cost.py (the twin of routing::Evaluate), answered with its ETAs and summary
(`distance_m` left at 0) as source MODEL. No refinement, no batching, no fallback: a request
with more stops than the model's max_stops is refused with INVALID_ARGUMENT, SuggestStream is
not served.

Same threads and BLAS settings as routeserve: it reads the same config file and --set overrides
(server.address, model.path, model.decodings, model.threads, batching.buckets, objective.*),
calls torch.set_num_threads(model.threads) as the server calls at::set_num_threads, and sizes
OpenBLAS's own pool the same way the server does: model.threads, unless OPENBLAS_NUM_THREADS is
in the environment (it then sets both servers').
Logs "listening on HOST:PORT" like routeserve; a port of 0 picks a free one.

The gRPC stubs are generated at start-up into a temporary folder by `protoc --python_out` and
Debian's grpc_python_plugin (both from the build's packages; `python3 -m grpc_tools.protoc`
is a pip package, not Debian's). Needs python3-grpcio, python3-protobuf, python3-torch,
python3-numpy and python3-yaml (`make bench-deps`).
"""
import argparse
import ctypes
import math
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from concurrent import futures

import grpc
import numpy as np
import torch
import yaml
from google.protobuf import json_format

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "model", "training"))

import cost  # noqa: E402  (model/training, on the path above)
import features  # noqa: E402

PROTO_DIR = os.path.join(ROOT, "proto")
PROTOS = ("routeserve/v1/route_service.proto", "google/rpc/status.proto")
GRPC_PYTHON_PLUGIN = "/usr/bin/grpc_python_plugin"


def compile_protos(out_dir):
    """Generates the messages and the service stubs into out_dir and puts it on the path."""
    subprocess.run(["protoc", f"-I{PROTO_DIR}", f"--python_out={out_dir}", f"--grpc_out={out_dir}",
                    f"--plugin=protoc-gen-grpc={GRPC_PYTHON_PLUGIN}", *PROTOS], check=True)
    sys.path.insert(0, out_dir)


def load_config(path, overrides):
    """The YAML config with --set section.key=value overrides (values read as YAML)."""
    with open(path, encoding="utf-8") as f:
        config = yaml.safe_load(f) or {}
    for override in overrides:
        key, sep, value = override.partition("=")
        if not sep:
            raise SystemExit(f"--set {override}: expected key=value")
        *sections, name = key.split(".")
        node = config
        for section in sections:
            node = node.setdefault(section, {})
        node[name] = yaml.safe_load(value)
    return config


def round_half_away(x):
    """As std::llround, which routeserve's responses use."""
    return int(math.copysign(math.floor(abs(x) + 0.5), x))


class RouteModelService:
    """Suggest: encode, one forward pass, best decoding, answer. Thread-safe (torch releases the
    GIL inside the forward pass, so W workers overlap there and only there)."""

    def __init__(self, pb2, config):
        model_config = config.get("model", {})
        model_dir = os.path.join(ROOT, model_config.get("path", "models/route-v1"))
        with open(os.path.join(model_dir, "model.yaml"), encoding="utf-8") as f:
            metadata = yaml.safe_load(f)
        if metadata["feature_version"] != features.FEATURE_VERSION:
            raise SystemExit(f"{model_dir}: feature version {metadata['feature_version']}, "
                             f"features.py speaks {features.FEATURE_VERSION}")
        self.pb2 = pb2
        self.model = torch.jit.load(os.path.join(model_dir, "model.pt"), map_location="cpu")
        self.model.eval()
        self.model_version = os.path.basename(model_dir.rstrip("/"))
        self.max_stops = int(metadata["max_stops"])
        self.decodings = int(model_config.get("decodings", 8))
        self.buckets = tuple(config.get("batching", {}).get("buckets", features.BUCKETS))
        objective = config.get("objective", {})
        defaults = features.DEFAULT_OBJECTIVE
        self.objective = features.Objective(
            lateness_weight=float(objective.get("lateness_weight", defaults.lateness_weight)),
            waiting_weight=float(objective.get("waiting_weight", defaults.waiting_weight)),
            detour_factor=float(objective.get("detour_factor", defaults.detour_factor)),
            speed_mps={**defaults.speed_mps,
                       **{k: float(v) for k, v in objective.get("speed_mps", {}).items()}})

    def warm_up(self):
        """One forward pass per bucket shape the model can see, as routeserve warms up."""
        for size in sorted({min(size, self.max_stops) for size in self.buckets}):
            inputs = [torch.zeros(1, size, features.NODE_FEATURES),
                      torch.full((1, size), -1, dtype=torch.int64),
                      torch.zeros(1, size, dtype=torch.bool),
                      torch.zeros(1, features.COURIER_FEATURES),
                      torch.zeros(1, size + 1, size + 1), torch.zeros(1, self.decodings, size)]
            with torch.inference_mode():
                self.model(*inputs)

    def Suggest(self, request, context):
        received = time.perf_counter()
        try:
            problem = features.parse_request(
                json_format.MessageToDict(request, preserving_proto_field_name=True))
            instance = features.build_instance(problem, self.objective)
        except ValueError as error:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error))
        n = problem.num_stops
        if n > self.max_stops:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                          f"{n} stops exceed the model's max_stops {self.max_stops}")
        response = self.pb2.SuggestResponse(request_id=request.request_id,
                                            model_version=self.model_version,
                                            source=self.pb2.ROUTE_SOURCE_MODEL)
        best = cost.evaluate(instance, [])
        if n > 0:
            size = min(features.bucket_of(n, self.buckets), self.max_stops)
            encoded = features.encode(problem, size, self.objective, instance)
            noise = np.zeros((1, self.decodings, size), dtype=np.float32)
            if self.decodings > 1:
                seed = zlib.crc32(request.request_id.encode())
                noise[0, 1:, :n] = features.gumbel_noise(seed, self.decodings, size)[1:, :n]
            inputs = [torch.from_numpy(encoded[key]).unsqueeze(0) for key in features.INPUT_KEYS]
            with torch.inference_mode():
                orders, _ = self.model(*inputs, torch.from_numpy(noise))
            best = None
            for decoding in orders[0].tolist():
                evaluation = cost.evaluate(instance, [i for i in decoding if i < n])
                if evaluation.feasible and (best is None or evaluation.cost < best.cost):
                    best = evaluation
            if best is None:
                context.abort(grpc.StatusCode.INTERNAL, "no feasible decoding")
        # Parsing, features, the forward pass and the choice of decoding, as routeserve's
        # inference_s counts its model runner's; nothing is refined.
        response.timings.inference_s = time.perf_counter() - received
        response.timings.batch_size = 1
        self._fill_route(problem, best, response.route)
        return response

    @staticmethod
    def _fill_route(problem, evaluation, route):
        now = problem.now
        for step in evaluation.steps:
            out = route.steps.add()
            out.stop_id = problem.stops[step.stop].id
            out.arrival_time = now + round_half_away(step.arrival)
            out.service_start_time = now + round_half_away(step.service_start)
            out.departure_time = now + round_half_away(step.departure)
            out.lateness_s = round_half_away(step.lateness_s)
            out.waiting_s = round_half_away(step.waiting_s)
            out.load_after = step.load_after
        summary = route.summary
        summary.travel_time_s = evaluation.travel_time_s
        summary.lateness_s = evaluation.lateness_s
        summary.waiting_s = evaluation.waiting_s
        summary.cost = evaluation.cost
        summary.feasible = evaluation.feasible
        summary.end_time = now + round_half_away(evaluation.end_time)


def size_blas_thread_pool(threads):
    """As the server's model runner does: OpenBLAS (behind Debian's torch) gets `threads`."""
    if "OPENBLAS_NUM_THREADS" in os.environ:
        return
    # torch's libraries are loaded locally, so the BLAS is found among the mapped files.
    with open("/proc/self/maps") as maps:
        loaded = {line.split()[-1] for line in maps if "blas" in line.rsplit("/", 1)[-1]}
    for path in loaded:
        library = ctypes.CDLL(path)
        if hasattr(library, "openblas_set_num_threads"):
            library.openblas_set_num_threads(threads)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=os.path.join(ROOT, "config", "routeserve.yaml"))
    parser.add_argument("--set", action="append", default=[], dest="overrides",
                        metavar="KEY=VALUE")
    parser.add_argument("--workers", type=int, default=os.cpu_count(),
                        help="threads of grpc.server's pool (default: one per core)")
    args = parser.parse_args()
    config = load_config(args.config, args.overrides)

    threads = int(config.get("model", {}).get("threads", 1)) or os.cpu_count()
    torch.set_num_threads(threads)
    size_blas_thread_pool(threads)
    proto_dir = tempfile.TemporaryDirectory(prefix="routeserve-py-")
    compile_protos(proto_dir.name)
    from routeserve.v1 import route_service_pb2 as pb2
    from routeserve.v1 import route_service_pb2_grpc as pb2_grpc

    service = RouteModelService(pb2, config)
    service.warm_up()
    servicer = pb2_grpc.RouteServiceServicer()  # SuggestStream: UNIMPLEMENTED
    servicer.Suggest = service.Suggest
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=args.workers))
    pb2_grpc.add_RouteServiceServicer_to_server(servicer, server)
    address = config.get("server", {}).get("address", "127.0.0.1:50051")
    host = address.rsplit(":", 1)[0]
    port = server.add_insecure_port(address)
    if port == 0:
        raise SystemExit(f"cannot listen on {address}")
    server.start()
    print(f"listening on {host}:{port}; model {service.model_version}, {service.decodings} "
          f"decodings, torch threads {threads}, {args.workers} workers", file=sys.stderr,
          flush=True)

    stopping = threading.Event()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signal_number, lambda *_: stopping.set())
    stopping.wait()
    server.stop(grace=5).wait()
    proto_dir.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
