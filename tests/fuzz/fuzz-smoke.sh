#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The 'fuzz' suite's short run of one libFuzzer target:
#   fuzz-smoke.sh TARGET SEED_DIR CRASHER_DIR RUNS [LIBFUZZER_OPTION...]
# First runs each file of CRASHER_DIR once, whole (inputs that crashed the
# library once: they must not any more), then every seed of SEED_DIR and
# RUNS mutations from a fixed seed. Nothing is written to SEED_DIR (the
# seeds are given as -seed_inputs, not as a corpus directory); a crash
# leaves its input in the current directory (meson's build directory) as
# crash-*, leak-* or timeout-*.
set -eu
target=$1
seeds=$2
crashers=$3
runs=$4
shift 4

files () {
  find "$1" -type f ! -name '*.md' 2>/dev/null | LC_ALL=C sort
}

if [ -n "$(files "$crashers")" ]; then
  echo "# regressions: $(files "$crashers" | wc -l) file(s) from $crashers"
  # shellcheck disable=SC2046
  "$target" -error_exitcode=1 -timeout_exitcode=1 -timeout=60 -rss_limit_mb=2048 $(files "$crashers")
fi

list=$(files "$seeds" | tr '\n' ',' | sed 's/,$//')
set -- -seed=1 -runs="$runs" -timeout=10 -error_exitcode=1 -timeout_exitcode=1 -rss_limit_mb=2048 \
  -print_final_stats=1 "$@"
if [ -n "$list" ]; then
  set -- "$@" -seed_inputs="$list"
fi
exec "$target" "$@"
