#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# AddressSanitizer + UndefinedBehaviorSanitizer build of the library, the
# test plugins and every C test suite (c, bundle, stress), in _build-asan
# (or $ASAN_BUILD_DIR). Any ASan report, UBSan report or leak fails the
# test that produced it. Usage: build-aux/run-asan.sh [meson test args...]
#
# GLib, GIO and json-glib are not instrumented: ASan sees our code's
# accesses and every malloc/free (G_SLICE=always-malloc), not the
# accesses inside those libraries (valgrind's memcheck run does).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${ASAN_BUILD_DIR:-"$top/_build-asan"}
main_build=${BUILD_DIR:-"$top/_build"}

if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" "$top" -Dwerror=true -Db_sanitize=address,undefined \
    -Dintrospection=disabled -Dvapi=disabled -Dfuzzing=disabled
fi
# The Rust test plugin is not instrumented: reuse the main build's cargo
# work (cargo rebuilds only what changed) rather than compiling its
# dependencies again.
cargo_work=tests/plugins/rust/rbtest-plugin-cargo
if [ -d "$main_build/$cargo_work/target" ] && [ ! -d "$build/$cargo_work/target" ]; then
  mkdir -p "$build/$cargo_work"
  cp -a "$main_build/$cargo_work/target" "$build/$cargo_work/"
fi
meson compile -C "$build"

# halt_on_error: a UBSan report fails the test (it only prints by default).
# detect_leaks stays on: LSan reports memory nothing points to any more.
ASAN_OPTIONS=${ASAN_OPTIONS:-"detect_leaks=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1"}
UBSAN_OPTIONS=${UBSAN_OPTIONS:-"halt_on_error=1:print_stacktrace=1"}
LSAN_OPTIONS=${LSAN_OPTIONS:-"suppressions=$top/build-aux/lsan.supp:print_suppressions=0"}
G_SLICE=always-malloc
# The memcheck run's smaller budgets (rb_test_scale, the stress suite):
# the JSON differential tests run ~15 times slower under ASan, and finding
# memory errors needs every path, not volume (the default run has that).
RB_TEST_UNDER_VALGRIND=1
export ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS G_SLICE RB_TEST_UNDER_VALGRIND

# Results in $build/meson-logs/testlog-asan.json.
exec meson test -C "$build" --suite c --suite stress --print-errorlogs --no-rebuild \
  --num-processes 2 --logbase testlog-asan "$@"
