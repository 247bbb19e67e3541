#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The 'fuzz' suite's short run of one libFuzzer target:
#   fuzz-smoke.sh TARGET SEED_DIR RUNS [LIBFUZZER_OPTION...]
# Runs every seed in SEED_DIR, then RUNS mutations from a fixed seed.
# Nothing is written to SEED_DIR (the seeds are given as -seed_inputs, not
# as a corpus directory); a crash leaves its input in the current
# directory (meson's build directory) as crash-*, leak-*, timeout-*.
set -eu
target=$1
seeds=$2
runs=$3
shift 3

list=$(find "$seeds" -type f 2>/dev/null | LC_ALL=C sort | tr '\n' ',' | sed 's/,$//')
set -- -seed=1 -runs="$runs" -timeout=10 -error_exitcode=1 -timeout_exitcode=1 -rss_limit_mb=2048 -print_final_stats=1 "$@"
if [ -n "$list" ]; then
  set -- "$@" -seed_inputs="$list"
fi
exec "$target" "$@"
