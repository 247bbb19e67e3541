#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds everything and runs every test suite (C/GTest, valgrind, Python,
# GJS, Vala). Ends with one line "N passed, N failed, N skipped".
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-"$top/_build"}

"$top/tools/install-deps.sh"

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

/usr/bin/python3 "$top/tools/summarize-tests.py" "$build/meson-logs/testlog-default.json" \
  "$build/meson-logs/testlog-valgrind.json" || status=1
exit $status
