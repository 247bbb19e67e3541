#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds the libFuzzer targets with clang and runs them.
#
#   tests/fuzz/run-fuzz.sh SECONDS [TARGET...]   each target for SECONDS
#   tests/fuzz/run-fuzz.sh --smoke               the 'fuzz' suite only
#
# TARGET is a name from tests/fuzz/meson.build (envelope, minisign, ...);
# default: all of them, one after another (FUZZ_JOBS=N runs N at once).
# --build-dir DIR (default: _fuzz at the top of the tree, or $FUZZ_BUILD_DIR)
# is configured with CC=${CC:-clang} -Dfuzzing=enabled when it has no
# build.ninja yet.
#
# A long run keeps its corpus in DIR/fuzz-corpus/TARGET (seeded from
# tests/fuzz/corpus/TARGET, which it never writes), its crashes in
# DIR/fuzz-artifacts/TARGET/ and its log in DIR/fuzz-logs/TARGET.log,
# and ends with one line per target: executions, coverage (cov:), features
# (ft:), corpus size and whether it crashed. Exit status: 1 if any crashed.
# A run stops at its first crash; FUZZ_KEEP_GOING=1 runs libFuzzer in fork
# mode with -ignore_crashes=1, to fuzz past a known bug (every crash is
# still saved in the artifacts directory and counted in the log).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${FUZZ_BUILD_DIR:-"$top/_fuzz"}
smoke=0

while [ $# -gt 0 ]; do
  case $1 in
    --smoke) smoke=1; shift ;;
    --build-dir) build=$2; shift 2 ;;
    -h|--help) sed -n '3,18p' "$0"; exit 0 ;;
    *) break ;;
  esac
done

targets="json-validate envelope minisign archive manifest config"

if [ ! -f "$build/build.ninja" ]; then
  CC=${CC:-clang} meson setup "$build" "$top" -Dfuzzing=enabled -Dintrospection=disabled \
    -Dvapi=disabled -Ddocs=disabled -Dbuildtype=debugoptimized >"$build.setup.log" 2>&1 || {
    cat "$build.setup.log" >&2
    exit 1
  }
fi
# Only the fuzz targets (and what they need), not the whole tree.
compile_targets=""
for t in $targets; do
  compile_targets="$compile_targets tests/fuzz/fuzz-$t"
done
# shellcheck disable=SC2086
meson compile -C "$build" $compile_targets tests/fuzz/rbfuzzplugin

if [ "$smoke" = 1 ]; then
  exec meson test -C "$build" --suite fuzz --no-rebuild --print-errorlogs
fi

if [ $# -lt 1 ]; then
  echo "usage: $0 SECONDS [TARGET...]  |  $0 --smoke" >&2
  exit 2
fi
seconds=$1
shift
if [ $# -gt 0 ]; then
  targets=$*
fi

# max_len and dictionary as the smoke tests use them (tests/fuzz/meson.build).
options_for () {
  case $1 in
    json-validate) echo "-dict=$here/json.dict -max_len=8192" ;;
    envelope) echo "-dict=$here/envelope.dict -max_len=8192" ;;
    minisign) echo "-dict=$here/minisign.dict -max_len=4096" ;;
    archive) echo "-dict=$here/archive.dict -max_len=16384" ;;
    manifest) echo "-dict=$here/manifest.dict -max_len=16384" ;;
    config) echo "-dict=$here/json.dict -max_len=8192" ;;
    *) echo "unknown target $1" >&2; return 1 ;;
  esac
}

run_one () {
  t=$1
  opts=$(options_for "$t")
  corpus="$build/fuzz-corpus/$t"
  artifacts="$build/fuzz-artifacts/$t"
  mkdir -p "$corpus" "$artifacts" "$build/fuzz-logs"
  touch "$build/fuzz-logs/$t.log.start"
  # The first directory is the working corpus (written); the seeds after it are only read.
  if [ "${FUZZ_KEEP_GOING:-0}" = 1 ]; then
    opts="$opts -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1"
  fi
  # shellcheck disable=SC2086
  "$build/tests/fuzz/fuzz-$t" $opts -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus" "$here/corpus/$t" \
    >"$build/fuzz-logs/$t.log" 2>&1
}

summary () {
  t=$1
  status=$2
  log="$build/fuzz-logs/$t.log"
  last=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
  execs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}' || true)
  [ -n "$execs" ] || execs=$(echo "$last" | sed -n 's/^#\([0-9]*\).*/\1/p')
  crashes=$(find "$build/fuzz-artifacts/$t" -type f -newer "$log.start" 2>/dev/null | wc -l)
  cov=$(echo "$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
  ft=$(echo "$last" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
  corp=$(echo "$last" | sed -n 's/.*corp: \([0-9]*\(\/[0-9a-zA-Z]*\)\{0,1\}\).*/\1/p')
  # "exec/s: N" in a plain run, "exec/s N" in fork mode.
  execs_s=$(echo "$last" | sed -n 's/.*exec\/s:\{0,1\} \([0-9]*\).*/\1/p')
  if [ "$status" = 0 ] && [ "$crashes" = 0 ]; then
    result=ok
  else
    result="CRASHED: $crashes new artifact(s) in $build/fuzz-artifacts/$t/ (log: $log)"
  fi
  printf '%-14s execs %-10s (%s/s) cov %-6s ft %-7s corpus %-12s %s\n' \
    "$t" "${execs:-?}" "${execs_s:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$result"
}

jobs=${FUZZ_JOBS:-1}
failed=0
results=""
set -- $targets
while [ $# -gt 0 ]; do
  batch=""
  pids=""
  n=0
  while [ $# -gt 0 ] && [ "$n" -lt "$jobs" ]; do
    options_for "$1" >/dev/null
    echo "fuzzing $1 for ${seconds}s (log: $build/fuzz-logs/$1.log)" >&2
    run_one "$1" &
    pids="$pids $!"
    batch="$batch $1"
    n=$((n + 1))
    shift
  done
  i=0
  for t in $batch; do
    i=$((i + 1))
    pid=$(echo "$pids" | awk -v i="$i" '{print $i}')
    rc=0
    wait "$pid" || rc=$?
    [ "$rc" = 0 ] || failed=1
    results="$results
$(summary "$t" "$rc")"
  done
done
echo "$results" | sed '/^$/d'
exit $failed
