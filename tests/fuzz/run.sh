#!/bin/bash
# run.sh BUILD_DIR SECONDS — run each fuzzer for a bounded time:
#
#   fuzz_load   the loader, seeded with the compose-spec fixtures
#               ($STACK_SHARED, default ../shared beside the checkout) and
#               tests/fuzz/corpus/, with tests/fuzz/compose.dict;
#   fuzz_image  references, auth challenges, times and image configs,
#               seeded with tests/fuzz/corpus-image/.
#
# BUILD_DIR was configured with `CC=clang cmake -DSTACK_FUZZ=ON`. New inputs
# the fuzzers find stay in a scratch directory removed at the end. A crash,
# leak, timeout (-timeout=10) or OOM (-rss_limit_mb=2048) fails the run; its
# reproducer is kept in BUILD_DIR/fuzz-artifacts/ and printed.
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 BUILD_DIR SECONDS" >&2
  exit 2
fi
build=$(cd "$1" && pwd)
seconds=$2
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
shared=${STACK_SHARED:-$src/../shared}

for f in fuzz_load fuzz_image; do
  if [ ! -x "$build/tests/$f" ]; then
    echo "run.sh: no $build/tests/$f; configure with CC=clang cmake -DSTACK_FUZZ=ON" >&2
    exit 2
  fi
done

work=$(mktemp -d /tmp/stack-fuzz-run-XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$build/fuzz-artifacts"
rm -f "$build"/fuzz-artifacts/* # reproducers of an earlier run

# run NAME CORPUS-SEEDS... -- EXTRA-FLAGS...
run ()
{
  local name=$1 fuzzer=$build/tests/$1 status=0
  shift
  mkdir -p "$work/$name/corpus" "$work/$name/tmp"
  while [ "$1" != "--" ]; do
    cp "$1" "$work/$name/corpus/"
    shift
  done
  shift
  # a target that makes scratch files makes them under TMPDIR: keep it in ours
  TMPDIR=$work/$name/tmp "$fuzzer" \
    -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
    -max_total_time="$seconds" -print_final_stats=1 \
    -artifact_prefix="$build/fuzz-artifacts/$name-" \
    "$@" "$work/$name/corpus" >"$work/$name/log" 2>&1 || status=$?
  cp "$work/$name/log" "$build/fuzz-artifacts/$name.log"
  if [ "$status" -ne 0 ]; then
    tail -n 100 "$work/$name/log"
    echo "run.sh: $name failed (exit $status); reproducer(s):" >&2
    ls -1 "$build"/fuzz-artifacts/ | grep -v '\.log$' >&2 || true
    echo "reproduce with: $fuzzer $build/fuzz-artifacts/FILE" >&2
    exit 1
  fi
  tail -n 15 "$work/$name/log"
  echo "run.sh: $name: no crash in $seconds s (log: $build/fuzz-artifacts/$name.log)"
}

fixtures=()
if compgen -G "$shared/compose-spec/fixtures/*.yaml" >/dev/null; then
  fixtures=("$shared"/compose-spec/fixtures/*.yaml)
else
  echo "run.sh: warning: no fixtures in $shared/compose-spec/fixtures" >&2
fi
run fuzz_load "$here"/corpus/* "${fixtures[@]}" -- -dict="$here/compose.dict"
run fuzz_image "$here"/corpus-image/* --
