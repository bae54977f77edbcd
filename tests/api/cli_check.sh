#!/bin/sh
# Checks of routeserve-cli that need a shell, run by ctest: cli_check.sh CHECK CLI_BINARY.
#   round_trip  a generated request printed as JSON reads back (stdin) and prints the same
#   usage       an unknown flag exits 2 with one line on stderr naming it
#   tls_flags   --cert_file without --key_file exits 2; a --ca_file that cannot be read exits 1
#               naming the flag and the file, before any call
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
    [ "$err" = "routeserve-cli: unknown flag --no-such-flag (--help lists the flags)" ] ||
      { echo "not the one line expected: $err"; exit 1; }
    ;;
  tls_flags)
    err=$("$cli" --generate 3 --cert_file client.crt 2>&1 >/dev/null)
    rc=$?
    [ "$rc" -eq 2 ] || { echo "--cert_file alone: exit status $rc, expected 2"; exit 1; }
    printf '%s\n' "$err" | grep -q -- '--cert_file and --key_file go together' ||
      { echo "--cert_file alone: $err"; exit 1; }
    err=$("$cli" --generate 3 --target 127.0.0.1:1 --ca_file no-such-ca.pem 2>&1 >/dev/null)
    rc=$?
    [ "$rc" -eq 1 ] || { echo "missing --ca_file: exit status $rc, expected 1"; exit 1; }
    printf '%s\n' "$err" | grep -q -- '^error: --ca_file: no-such-ca.pem: cannot open' ||
      { echo "missing --ca_file: $err"; exit 1; }
    ;;
  *)
    echo "unknown check $check"
    exit 1
    ;;
esac
