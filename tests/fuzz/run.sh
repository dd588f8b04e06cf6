#!/bin/bash
# run.sh BUILD_DIR SECONDS — run the loader fuzzer for a bounded time.
#
# BUILD_DIR was configured with `CC=clang cmake -DSTACK_FUZZ=ON`. The seed
# corpus is the compose-spec fixtures ($STACK_SHARED, default ../shared
# beside the checkout), copied at run time, plus tests/fuzz/corpus/. New
# inputs the fuzzer finds stay in a scratch directory removed at the end.
# A crash, leak, timeout (-timeout=10) or OOM (-rss_limit_mb=2048) fails the
# run; its reproducer is kept in BUILD_DIR/fuzz-artifacts/ and printed.
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
fuzzer=$build/tests/fuzz_load

if [ ! -x "$fuzzer" ]; then
  echo "run.sh: no $fuzzer; configure with CC=clang cmake -DSTACK_FUZZ=ON" >&2
  exit 2
fi

work=$(mktemp -d /tmp/stack-fuzz-run-XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus" "$work/tmp" "$build/fuzz-artifacts"
rm -f "$build"/fuzz-artifacts/* # reproducers of an earlier run
cp "$here"/corpus/* "$work/corpus/"
if compgen -G "$shared/compose-spec/fixtures/*.yaml" >/dev/null; then
  cp "$shared"/compose-spec/fixtures/*.yaml "$work/corpus/"
else
  echo "run.sh: warning: no fixtures in $shared/compose-spec/fixtures" >&2
fi

# The target makes its scratch directory under TMPDIR: keep it in ours.
status=0
TMPDIR=$work/tmp "$fuzzer" \
  -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
  -max_total_time="$seconds" -print_final_stats=1 \
  -dict="$here/compose.dict" \
  -artifact_prefix="$build/fuzz-artifacts/" \
  "$work/corpus" >"$work/log" 2>&1 || status=$?

cp "$work/log" "$build/fuzz-artifacts/fuzz.log"
if [ "$status" -ne 0 ]; then
  tail -n 100 "$work/log"
  echo "run.sh: the fuzzer failed (exit $status); reproducer(s):" >&2
  ls -1 "$build"/fuzz-artifacts/ | grep -v '^fuzz.log$' >&2 || true
  echo "reproduce with: $fuzzer $build/fuzz-artifacts/FILE" >&2
  exit 1
fi
tail -n 15 "$work/log"
echo "run.sh: no crash in $seconds s (log: $build/fuzz-artifacts/fuzz.log)"
