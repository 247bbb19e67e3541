#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds everything and runs every test suite (C/GTest, stress, valgrind,
# ASan+UBSan, Python, GJS, Vala). Ends with one line "N passed, N failed,
# N skipped". RB_SKIP_VALGRIND=1 skips the memcheck run, RB_SKIP_ASAN=1
# the ASan+UBSan build (build-aux/run-asan.sh, in ${BUILD_DIR}-asan).
# RB_WITH_TSAN=1 adds the TSan build (build-aux/run-tsan.sh, in
# ${BUILD_DIR}-tsan; off by default: see doc/robustness-dev.md).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-"$top/_build"}
asan_build=${ASAN_BUILD_DIR:-"$build-asan"}
tsan_build=${TSAN_BUILD_DIR:-"$build-tsan"}

"$top/build-aux/install-deps.sh"

if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" "$top" -Dwerror=true -Ddocs=enabled
else
  # The demo command may have configured it without -Werror (and the
  # API reference, whose links the docs suite checks).
  meson configure "$build" -Dwerror=true -Ddocs=enabled
fi
meson compile -C "$build"

status=0
rm -f "$build/meson-logs/testlog.json" "$build/meson-logs/testlog-valgrind.json"
meson test -C "$build" --print-errorlogs --no-rebuild --num-processes 2 || status=$?
cp "$build/meson-logs/testlog.json" "$build/meson-logs/testlog-default.json"

# Memcheck run of the C suites (see the 'valgrind' setup in tests/meson.build).
if [ "${RB_SKIP_VALGRIND:-0}" != 1 ]; then
  meson test -C "$build" --setup valgrind --suite memcheck --print-errorlogs --no-rebuild \
    --num-processes 2 || status=$?
fi

# The C suites again, built with ASan+UBSan (see doc/robustness-dev.md).
rm -f "$asan_build/meson-logs/testlog-asan.json"
if [ "${RB_SKIP_ASAN:-0}" != 1 ]; then
  ASAN_BUILD_DIR=$asan_build BUILD_DIR=$build "$top/build-aux/run-asan.sh" || status=$?
fi

# The C suites built with TSan, on request (see doc/robustness-dev.md).
rm -f "$tsan_build/meson-logs/testlog-tsan-env.json"
if [ "${RB_WITH_TSAN:-0}" = 1 ]; then
  TSAN_BUILD_DIR=$tsan_build BUILD_DIR=$build "$top/build-aux/run-tsan.sh" || status=$?
fi

/usr/bin/python3 "$top/build-aux/summarize-tests.py" "$build/meson-logs/testlog-default.json" \
  "$build/meson-logs/testlog-valgrind.json" "$asan_build/meson-logs/testlog-asan.json" \
  "$tsan_build/meson-logs/testlog-tsan-env.json" || status=1
exit $status
