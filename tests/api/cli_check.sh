#!/bin/sh
# Checks of routeserve-cli that need a shell, run by ctest: cli_check.sh CHECK CLI_BINARY.
#   round_trip  a generated request printed as JSON reads back (stdin) and prints the same
#   usage       an unknown flag exits 2 with the usage text on stderr
set -u
check=$1
cli=$2
case "$check" in
  round_trip)
    first=$("$cli" --generate 9 --seed 4 --windows tight --matrix --end --visits 0.2 --print-request) || exit 1
    second=$(printf '%s\n' "$first" | "$cli" --request - --print-request) || exit 1
    [ -n "$first" ] && [ "$first" = "$second" ]
    ;;
  usage)
    err=$("$cli" --no-such-flag 2>&1 >/dev/null)
    rc=$?
    [ "$rc" -eq 2 ] || { echo "exit status $rc, expected 2"; exit 1; }
    printf '%s\n' "$err" | grep -q '^usage: routeserve-cli' || { echo "no usage text: $err"; exit 1; }
    ;;
  *)
    echo "unknown check $check"
    exit 1
    ;;
esac
