#!/bin/sh
# Runs the request fuzzer (tests/fuzz) for a bounded time: `make fuzz` builds it first.
#
#   scripts/fuzz.sh BUILD_DIR SECONDS [libFuzzer flags...]
#
# The committed seeds (tests/fuzz/corpus) are read as they are and, for those in the text
# format, also in the wire format (protoc --encode), so that libFuzzer mutates both encodings:
# the wire format's numbers are where its integer and float mutations bite. New inputs go to
# BUILD_DIR/fuzz-corpus, kept between runs. An input that breaks a property is saved as
# BUILD_DIR/fuzz-artifacts/crash-*; reproduce it with `BUILD_DIR/request_fuzzer FILE`, then add
# it to tests/fuzz/corpus with a test (docs/RELIABILITY.md). Exits non-zero on a failure.
set -eu
build_dir=$1
seconds=$2
shift 2
cd "$(dirname "$0")/.."

fuzzer=$build_dir/request_fuzzer
seeds=$build_dir/fuzz-seeds
corpus=$build_dir/fuzz-corpus
artifacts=$build_dir/fuzz-artifacts
rm -rf "$seeds"
mkdir -p "$seeds" "$corpus" "$artifacts"
for file in tests/fuzz/corpus/*; do
  case $file in
    */README.md) ;;
    *.textproto)
      cp "$file" "$seeds/"
      protoc --proto_path=proto --encode=routeserve.v1.SuggestRequest \
        routeserve/v1/route_service.proto <"$file" >"$seeds/$(basename "$file" .textproto).bin"
      ;;
    *) cp "$file" "$seeds/" ;;
  esac
done

echo "fuzz: $fuzzer for ${seconds} s, $(ls "$seeds" | wc -l) seeds, $(ls "$corpus" | wc -l) inputs kept from earlier runs"
# -timeout: an input that takes a second is a finding (the target's own budget is milliseconds).
# -rss_limit_mb: well above the target's few hundred MB, below what would disturb the machine.
status=0
"$fuzzer" -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 -print_final_stats=1 \
  -dict=tests/fuzz/request.dict -artifact_prefix="$artifacts/" "$@" \
  "$corpus" "$seeds" >"$build_dir/fuzz.log" 2>&1 || status=$?
# The run's last status line and its totals; the whole log stays in BUILD_DIR/fuzz.log.
grep -E '^#[0-9]+' "$build_dir/fuzz.log" | tail -n 1 || true
grep -E '^stat::' "$build_dir/fuzz.log" || true
if [ "$status" -ne 0 ]; then
  grep -E -A 30 'property failed|ERROR: |runtime error' "$build_dir/fuzz.log" | head -n 60 >&2 || true
  # The inputs themselves, so that a run on a machine that is gone (CI) can be reproduced:
  # `base64 -d > input`, then `$fuzzer input`.
  for input in "$artifacts"/*; do
    [ -f "$input" ] || continue
    echo "fuzz: $(basename "$input"), base64:" >&2
    base64 "$input" | head -c 100000 >&2
  done
  echo "fuzz: FAILED (exit $status); inputs in $artifacts, log in $build_dir/fuzz.log" >&2
  exit "$status"
fi
echo "fuzz: no failure in ${seconds} s"
