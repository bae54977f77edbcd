#!/usr/bin/env bash
# The GPU window's one command (docs/BENCHMARKS.md, The GPU window): on a machine with an NVIDIA
# GPU, CUDA, CMake and Python's PyTorch, but without gRPC or the other -dev libraries, builds
# routeserve against PyTorch's own CUDA LibTorch and measures it, writing a report (Markdown and
# JSON) to OUT_DIR. It stops at the first step that fails, with the tail of that step's log in
# the report: what ran before is still there.
#
#   scripts/gpu-check.sh OUT_DIR                on the GPU machine, with gpu-debs/ carried along
#                                               (scripts/gpu-pack.sh makes it)
#   scripts/gpu-check.sh --rehearse OUT_DIR     here: the same steps with Debian's CPU LibTorch,
#                                               on the CPU; run it before every GPU window
#   --quick       the shortest measurements (the test of this script)
#   --build DIR   DIR is built and tested already: no unpacking, configuring or building, and
#                 the tests' fixtures (the test models) are used as they are, not written again
#   --debs DIR    the packages to unpack (default gpu-debs)
#   PYTHON        the Python with PyTorch (default python3; /usr/bin/python3 in a rehearsal)
#
# STEPS: machine (what it has: GPU, driver, CUDA, PyTorch and its C++ ABI, glibc, cores); in a
#   rehearsal cuda_code (the code only a CUDA LibTorch builds, compiled for syntax); unpack
#   (gpu-debs/*.deb into a prefix, .pc files pointed at it); configure (CMake against the
#   prefix and PyTorch's LibTorch; the binaries find the prefix's libraries by DT_RPATH, so
#   that the machine's own programs never load them); build (every target, all cores);
#   gpu_tests (ctest -L gpu: the routes of CUDA against the CPU's, graphs against eager,
#   executors on their own streams, bf16/fp16, NVML); model_bench (routes/s at 20 and 50
#   stops, batch 1 to 4096, fp32/bf16/fp16, eager and CUDA graphs); precision
#   (routeserve-eval: the served routes in bf16 and fp16 against fp32's on the eval's
#   instances); open_loop (server and load generator on this machine: the highest rate with
#   p99 <= 10 ms, nvidia-smi sampling the GPU's utilisation meanwhile).
# OUT_DIR: report.md, report.json, logs/NN-STEP.log, and each step's own files.
set -euo pipefail

rehearse=0
quick=0
build_dir=""
debs=gpu-debs
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --rehearse) rehearse=1 ;;
    --quick) quick=1 ;;
    --build) build_dir=$(realpath -m "$2"); shift ;;
    --debs) debs=$2; shift ;;
    -*) echo "gpu-check: unknown flag $1" >&2; exit 2 ;;
    *) [ -z "$out" ] || { echo "gpu-check: one OUT_DIR" >&2; exit 2; }; out=$1 ;;
  esac
  shift
done
[ -n "$out" ] || { echo "usage: scripts/gpu-check.sh [--rehearse] [--quick] [--build DIR] [--debs DIR] OUT_DIR" >&2; exit 2; }
cd "$(dirname "$0")/.."
mkdir -p "$out/logs"
out=$(realpath "$out")
work=$out/work
prefix=$work/prefix
triplet=x86_64-linux-gnu
device=cuda
[ "$rehearse" -eq 0 ] || device=cpu
jobs=$(nproc)
# Here, Debian's python3 is the one with python3-torch.
python=${PYTHON:-$([ "$rehearse" -eq 1 ] && echo /usr/bin/python3 || echo python3)}
steps_file=$out/steps.tsv
: >"$steps_file"
step_number=0

# Runs step NAME (a function of this script) with its output in logs/NN-NAME.log and its time
# and outcome in steps.tsv; a failure writes the report and ends the run.
step() {
  local name=$1
  step_number=$((step_number + 1))
  local log
  log=$(printf '%s/logs/%02d-%s.log' "$out" "$step_number" "$name")
  echo "gpu-check: $name ..."
  local started=$SECONDS
  if ( "step_$name" ) >"$log" 2>&1; then
    printf '%s\tok\t%d\t%s\n' "$name" $((SECONDS - started)) "$log" >>"$steps_file"
  else
    printf '%s\tfailed\t%d\t%s\n' "$name" $((SECONDS - started)) "$log" >>"$steps_file"
    echo "gpu-check: $name FAILED; the end of $log:" >&2
    tail -25 "$log" >&2
    report
    exit 1
  fi
}

step_machine() {
  echo "mode: $([ "$rehearse" -eq 1 ] && echo rehearsal on the CPU || echo GPU window)"
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "kernel: $(uname -srm)"
  echo "glibc: $(ldd --version | head -1)"
  echo "cores: $jobs"
  echo "cmake: $(cmake --version | head -1)"
  echo "compiler: $(c++ --version | head -1)"
  if command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader |
      sed 's/^/gpu: /'
  else
    echo "gpu: none (no nvidia-smi)"
  fi
  "$python" - <<'EOF' || echo "pytorch: none in $python"
import torch
print(f"pytorch: {torch.__version__}, CUDA {torch.version.cuda}, "
      f"devices {torch.cuda.device_count() if torch.cuda.is_available() else 0}")
print(f"pytorch cxx11 abi: {torch.compiled_with_cxx11_abi()}")
print(f"libtorch cmake: {torch.utils.cmake_prefix_path}")
EOF
  if [ "$rehearse" -eq 0 ]; then
    # Debian's gRPC and Protobuf are built with the C++11 ABI: a LibTorch without it cannot
    # be linked with them.
    "$python" -c 'import sys, torch; sys.exit(0 if torch.compiled_with_cxx11_abi() else 1)' || {
      echo "PyTorch's LibTorch uses the pre-C++11 ABI; Debian's libraries the C++11 one"
      return 1
    }
    "$python" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' || {
      echo "PyTorch sees no CUDA device"
      return 1
    }
  fi
}

# A .deb's files under $prefix: with dpkg-deb where there is one, else ar and tar.
unpack_deb() {
  if command -v dpkg-deb >/dev/null; then
    dpkg-deb -x "$1" "$prefix"
    return
  fi
  local member
  member=$(ar t "$1" | grep '^data\.tar')
  case "$member" in
    *.xz) ar p "$1" "$member" | tar -xJ -C "$prefix" ;;
    *.zst) ar p "$1" "$member" | zstd -dc | tar -x -C "$prefix" ;;
    *.gz) ar p "$1" "$member" | tar -xz -C "$prefix" ;;
    *) echo "$1: no data.tar"; return 1 ;;
  esac
}

step_unpack() {
  compgen -G "$debs/*.deb" >/dev/null || {
    echo "no packages in $debs: run scripts/gpu-pack.sh here first, and carry $debs"
    return 1
  }
  rm -rf "$prefix" && mkdir -p "$prefix"
  local count=0
  for deb in "$debs"/*.deb; do
    unpack_deb "$deb"
    count=$((count + 1))
  done
  # pkg-config files name /usr; they are under $prefix now.
  find "$prefix" -name '*.pc' -exec sed -i "s|^prefix=/usr\$|prefix=$prefix/usr|" {} +
  echo "$count packages unpacked into $prefix"
}

# The prefix's libraries and programs, for the steps that run its programs (protoc) or
# configure against it.
use_prefix() {
  export PATH=$prefix/usr/bin:$PATH
  export LD_LIBRARY_PATH=$prefix/usr/lib/$triplet${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  export PKG_CONFIG_PATH=$prefix/usr/lib/$triplet/pkgconfig:$prefix/usr/share/pkgconfig
}

step_configure() {
  use_prefix
  local torch_prefix=""
  [ "$rehearse" -eq 1 ] || torch_prefix=$("$python" -c 'import torch; print(torch.utils.cmake_prefix_path)')
  local generator=()
  command -v ninja >/dev/null && generator=(-G Ninja)
  cmake -S . -B "$build_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$prefix/usr${torch_prefix:+;$torch_prefix}" \
    -DROUTESERVE_PYTHON3="$(command -v "$python")" \
    -DCMAKE_BUILD_RPATH="$prefix/usr/lib/$triplet" \
    -DCMAKE_EXE_LINKER_FLAGS=-Wl,--disable-new-dtags \
    -DCMAKE_SHARED_LINKER_FLAGS=-Wl,--disable-new-dtags
}

step_build() {
  use_prefix
  cmake --build "$build_dir" -j "$jobs"
}

# The machine's Python, with PyYAML from the prefix when it has none (the test models' recipe).
python_path_for_tests() {
  "$python" -c 'import yaml' 2>/dev/null && return
  export PYTHONPATH=$prefix/usr/lib/python3/dist-packages${PYTHONPATH:+:$PYTHONPATH}
}

# A rehearsal's check of the code only a CUDA LibTorch compiles (model/torch_compat.h's CUDA
# parts, the runner's streams and graphs): model/model_runner.cc compiled, syntax only, as if
# LibTorch had CUDA, against the CUDA headers Debian's libtorch-dev ships and a CUDA toolkit's
# (CUDA_HOME, default /usr/local/cuda). Skipped, saying so, where the toolkit is not there.
step_cuda_code() {
  local cuda=${CUDA_HOME:-/usr/local/cuda}
  local torch_include=/usr/include/torch/csrc/api/include
  if [ ! -f "$cuda/include/cuda_runtime.h" ] || [ ! -f /usr/include/ATen/cuda/CUDAGraph.h ]; then
    echo "skipped: no CUDA toolkit headers in $cuda, or no LibTorch CUDA headers"
    return 0
  fi
  # The one header LibTorch's build generates for its CUDA part, which Debian leaves out.
  mkdir -p "$work/cuda-stub/c10/cuda/impl"
  echo '#define C10_CUDA_BUILD_SHARED_LIBS' >"$work/cuda-stub/c10/cuda/impl/cuda_cmake_macros.h"
  c++ -std=c++20 -fsyntax-only -Wall -Wextra -Werror -DROUTESERVE_TORCH_CUDA \
    -D_GLIBCXX_USE_CXX11_ABI=1 -I. -isystem "$work/cuda-stub" -isystem "$torch_include" \
    -isystem "$cuda/include" model/model_runner.cc
  echo "model/model_runner.cc compiles with CUDA (LibTorch's headers, $cuda)"
}

step_gpu_tests() {
  python_path_for_tests
  local fixtures=()
  [ "$prebuilt" -eq 0 ] || fixtures=(--fixture-exclude-setup '.*')
  ctest --test-dir "$build_dir" -L gpu --no-tests=error --output-on-failure -j "$jobs" \
    "${fixtures[@]}"
}

step_model_bench() {
  local batches=1,8,64,512,4096 seconds=1 precisions="fp32 bf16 fp16" graphs="off on"
  [ "$quick" -eq 0 ] || { batches=1,8; seconds=0.2; }
  # fp16 and graphs are CUDA's only.
  [ "$device" = cuda ] || { precisions="fp32 bf16"; graphs=off; }
  for stops in 20 50; do
    for precision in $precisions; do
      for graph in $graphs; do
        "$build_dir/model_bench" --model models/route-v2 --device "$device" --stops "$stops" \
          --batches "$batches" --decodings 1 --precision "$precision" --seconds "$seconds" \
          --cuda_graphs "$graph"
        echo
      done
    done
  done | tee "$out/model_bench.md"
}

step_precision() {
  local sizes=20,50 per_regime=10 precisions=bf16,fp16
  [ "$quick" -eq 0 ] || { sizes=8; per_regime=1; }
  [ "$device" = cuda ] || precisions=bf16
  "$build_dir/routeserve-eval" --set model.path=models/route-v2 --set "model.device=$device" \
    --sizes "$sizes" --per_regime "$per_regime" --per_regime_large "$per_regime" \
    --precisions "$precisions" --speed_seconds 0.2 --speed_batch_sizes 1,64 \
    --json "$out/precision.json" | tee "$out/precision.md"
}

step_open_loop() {
  local rates=500,1000,2000,4000,8000,16000 duration=10
  [ "$quick" -eq 0 ] || { rates=20,40; duration=1; }
  local sampler=""
  if [ "$device" = cuda ]; then
    nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv -lms 500 \
      >"$out/nvidia-smi.csv" &
    sampler=$!
  fi
  local status=0
  ROUTESERVE_SERVER=$build_dir/routeserve ROUTESERVE_BENCH=$build_dir/routeserve-bench \
    "$python" bench/open_loop_sweep.py --configs batching \
    --set model.path=models/route-v2 --set "model.device=$device" \
    --rates "$rates" --duration "$duration" --warmup 1 --slo_ms 10 --bisect 0 \
    --out "$out/open_loop" | tee "$out/open_loop.md" || status=$?
  [ -z "$sampler" ] || kill "$sampler"
  return "$status"
}

# report.json and report.md from steps.tsv and the steps' files.
report() {
  "$python" - "$out" "$rehearse" <<'EOF'
import json, os, re, sys
out, rehearse = sys.argv[1], sys.argv[2] == "1"
def read(name):
    path = os.path.join(out, name)
    return open(path).read() if os.path.exists(path) else None
def tables(text):
    """The rows of a Markdown text's tables, as dicts by header."""
    rows, header = [], None
    for line in (text or "").splitlines():
        if not line.startswith("|"):
            header = None
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        if header is None:
            header = cells
        elif not set("".join(cells)) <= set("-: "):
            rows.append(dict(zip(header, cells)))
    return rows
steps = []
for line in open(os.path.join(out, "steps.tsv")):
    name, outcome, seconds, log = line.rstrip("\n").split("\t")
    step = {"step": name, "outcome": outcome, "seconds": int(seconds),
            "log": os.path.relpath(log, out)}
    if outcome == "failed":
        step["log_tail"] = open(log, errors="replace").read().splitlines()[-25:]
    steps.append(step)
machine_log = next((s["log"] for s in steps if s["step"] == "machine"), None)
machine = {}
if machine_log:
    for line in open(os.path.join(out, machine_log)):
        key, _, value = line.partition(": ")
        if value:
            machine.setdefault(key.strip(), value.strip())
bench = read("model_bench.md")
bench_rows = []
for block in (bench or "").split("\n\n"):
    head = re.search(r"(\d+) stops at N (\d+), device (\S+), (\w+), .*CUDA graphs (\w+)",
                     block)
    for row in tables(block):
        if head:
            row.update(stops=head.group(1), padded=head.group(2), device=head.group(3).rstrip(","),
                       precision=head.group(4), cuda_graphs=head.group(5))
        bench_rows.append(row)
open_loop = read("open_loop/open_loop.json")
report = {
    "mode": "rehearsal on the CPU" if rehearse else "GPU window",
    "machine": machine,
    "steps": steps,
    "passed": all(s["outcome"] == "ok" for s in steps),
    "model_bench": bench_rows,
    "precision": json.loads(read("precision.json")) if read("precision.json") else None,
    "open_loop": json.loads(open_loop) if open_loop else None,
}
json.dump(report, open(os.path.join(out, "report.json"), "w"), indent=1)
with open(os.path.join(out, "report.md"), "w") as md:
    md.write(f"# GPU check: {report['mode']}\n\n")
    for key, value in machine.items():
        md.write(f"- {key}: {value}\n")
    md.write("\n| step | outcome | seconds |\n|---|---|---|\n")
    for s in steps:
        md.write(f"| {s['step']} | {s['outcome']} | {s['seconds']} |\n")
    for s in steps:
        if s["outcome"] == "failed":
            md.write(f"\n## {s['step']} failed; the end of its log\n\n```\n")
            md.write("\n".join(s["log_tail"]) + "\n```\n")
    for title, name in (("Model level", "model_bench.md"), ("Precision agreement", "precision.md"),
                        ("Open loop", "open_loop.md")):
        if read(name):
            md.write(f"\n## {title}\n\n{read(name)}\n")
EOF
  echo "gpu-check: report in $out/report.md and $out/report.json"
}

# The run, in one block that bash reads whole before it starts: an edit of this file while it
# runs cannot change what it does next.
{
  prebuilt=0
  [ -z "$build_dir" ] || prebuilt=1
  step machine
  [ "$rehearse" -eq 0 ] || step cuda_code
  if [ "$prebuilt" -eq 0 ]; then
    build_dir=$work/build
    step unpack
    step configure
    step build
  fi
  step gpu_tests
  step model_bench
  step precision
  step open_loop
  report
  echo "gpu-check: passed"
  exit 0
}
