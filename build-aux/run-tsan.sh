#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# ThreadSanitizer build (clang) of the library, the test plugins and the
# C tests in _build-tsan (or $TSAN_BUILD_DIR), run with the lock shim
# (build-aux/tsan-glib-locks.c) preloaded and build-aux/tsan.supp. Any
# report fails the test that produced it (exit status 66).
# Usage: build-aux/run-tsan.sh [meson test args or test names...]
# (default: the c and stress suites but the isolation one, see
# doc/robustness-dev.md, with the memcheck run's smaller budgets;
# RB_TSAN_FULL=1 keeps the default budgets).
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
  # Not instrumented: it is preloaded into uninstrumented children too.
  ${CC:-clang} -shared -fPIC -O1 -g -o "$shim" "$top/build-aux/tsan-glib-locks.c" \
    $(pkg-config --cflags --libs glib-2.0) -ldl
fi

TSAN_OPTIONS=${TSAN_OPTIONS:-"suppressions=$top/build-aux/tsan.supp:second_deadlock_stack=1:history_size=4:halt_on_error=0:exitcode=66"}
export TSAN_OPTIONS

# The shim first: every hand-off it models is clean when ordered through
# it and still reported when not (build-aux/tsan-shim-check.c).
check="$build/tsan-shim-check"
${CC:-clang} -O1 -g -fsanitize=thread -o "$check" "$top/build-aux/tsan-shim-check.c" \
  $(pkg-config --cflags --libs gio-2.0)
for case in task task-race pool pool-race queue queue-race; do
  want=0
  case $case in *-race) want=66 ;; esac
  got=0
  LD_PRELOAD=$shim G_SLICE=always-malloc "$check" $case >"$check.log" 2>&1 || got=$?
  if [ $got -ne $want ]; then
    cat "$check.log" >&2
    echo "run-tsan.sh: the lock shim fails its check \"$case\" (exit status $got, not $want)" >&2
    exit 1
  fi
done
G_SLICE=always-malloc
export G_SLICE
# As in the ASan run: races need the paths and the interleavings, which
# the smaller budgets keep; RB_TSAN_FULL=1 runs the default ones.
if [ "${RB_TSAN_FULL:-0}" != 1 ]; then
  RB_TEST_UNDER_VALGRIND=1
  export RB_TEST_UNDER_VALGRIND
fi

if [ $# -eq 0 ]; then
  # The isolation suite's host process hands its shared-memory slots over
  # through the application's process, which TSan cannot follow.
  set -- --suite c --suite stress --no-suite isolation
fi
# G_DEBUG= (no gc-friendly): its memset of a freed list node inside
# libglib's GAsyncQueue would be one more report of the same hand-off.
# Results in $build/meson-logs/testlog-tsan-env.json (meson adds "-env" for the wrapper).
exec meson test -C "$build" --print-errorlogs --no-rebuild --num-processes 1 \
  --wrapper "env LD_PRELOAD=$shim G_DEBUG="  --logbase testlog-tsan -t 4 "$@"
