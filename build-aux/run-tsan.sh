#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# ThreadSanitizer build (clang) of the library, the test plugins and the
# C tests in _build-tsan (or $TSAN_BUILD_DIR), run with the lock shim
# (build-aux/tsan-glib-locks.c) preloaded and build-aux/tsan.supp.
# Usage: build-aux/run-tsan.sh [test names...]
# (default: the plugin, async, logging, inflight and stress programs)
set -eu
# Not -Dwerror: clang warns about what gcc does not (see the report).
top=$(cd "$(dirname "$0")/.." && pwd)
build=${TSAN_BUILD_DIR:-"$top/_build-tsan"}
main_build=${BUILD_DIR:-"$top/_build"}

if [ ! -f "$build/build.ninja" ]; then
  CC=${CC:-clang} meson setup "$build" "$top" -Db_sanitize=thread -Db_lundef=false \
    -Dintrospection=disabled -Dvapi=disabled -Dfuzzing=disabled
fi
# The Rust test plugin is not instrumented: reuse the main build's cargo work.
cargo_work=tests/plugins/rust/rbtest-plugin-cargo
if [ -d "$main_build/$cargo_work/target" ] && [ ! -d "$build/$cargo_work/target" ]; then
  mkdir -p "$build/$cargo_work"
  cp -a "$main_build/$cargo_work/target" "$build/$cargo_work/"
fi
meson compile -C "$build"

shim="$build/libtsan-glib-locks.so"
if [ ! -f "$shim" ] || [ "$top/build-aux/tsan-glib-locks.c" -nt "$shim" ]; then
  ${CC:-clang} -shared -fPIC -O1 -g -fsanitize=thread -o "$shim" "$top/build-aux/tsan-glib-locks.c" \
    $(pkg-config --cflags --libs glib-2.0) -ldl
fi

TSAN_OPTIONS=${TSAN_OPTIONS:-"suppressions=$top/build-aux/tsan.supp:second_deadlock_stack=1:history_size=4:halt_on_error=0:exitcode=66"}
export TSAN_OPTIONS
G_SLICE=always-malloc
export G_SLICE

if [ $# -eq 0 ]; then
  set -- error plugin plugin-async plugin-logging inflight stress-async stress-lifecycle stress-logs
fi
# G_DEBUG= (no gc-friendly): its memset of a freed list node inside
# libglib's GAsyncQueue would be one more report of the same hand-off.
# Results in $build/meson-logs/testlog-tsan-env.json (meson adds "-env" for the wrapper).
exec meson test -C "$build" --print-errorlogs --no-rebuild --num-processes 1 \
  --wrapper "env LD_PRELOAD=$shim G_DEBUG="  --logbase testlog-tsan -t 4 "$@"
