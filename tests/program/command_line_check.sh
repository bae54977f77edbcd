#!/bin/sh
# A binary's command line as a user meets it (program/command_line.h), run by ctest:
#   flags BINARY FLAG...            --help exits 0 with the usage line and every FLAG listed; an
#                                   unknown flag and a positional argument exit 2 with one line
#                                   on stderr naming them
#   usage_error BINARY TEXT ARG...  the arguments exit 2 with one line on stderr,
#                                   "NAME: ...TEXT...", NAME the binary's file name
set -u
check=$1
binary=$2
shift 2
name=$(basename "$binary")

# usage_error TEXT ARG...
usage_error() {
  text=$1
  shift
  err=$("$binary" "$@" 2>&1 >/dev/null)
  rc=$?
  [ "$rc" -eq 2 ] || { echo "$name $*: exit status $rc, expected 2: $err"; exit 1; }
  [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] || { echo "$name $*: not one line: $err"; exit 1; }
  case "$err" in
    "$name: "*"$text"*) ;;
    *) echo "$name $*: \"$err\" does not say \"$name: ...$text\""; exit 1 ;;
  esac
}

case "$check" in
  flags)
    help=$("$binary" --help)
    rc=$?
    [ "$rc" -eq 0 ] || { echo "$name --help: exit status $rc, expected 0"; exit 1; }
    printf '%s\n' "$help" | grep -q "^usage: $name " || { echo "no usage line: $help"; exit 1; }
    for flag in "$@" help; do
      printf '%s\n' "$help" | grep -Eq -- "^  --$flag( |\$)" ||
        { echo "$name --help does not list --$flag:"; echo "$help"; exit 1; }
    done
    usage_error "unknown flag --no-such-flag" --no-such-flag
    usage_error 'unexpected argument "stray"' stray
    ;;
  usage_error)
    usage_error "$@"
    ;;
  *)
    echo "unknown check $check"
    exit 1
    ;;
esac
