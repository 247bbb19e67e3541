#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds everything and runs the C demo: the Rust test plugin, loaded from
# a bundle signed at build time with a key generated at build time.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-"$top/_build"}

"$top/tools/install-deps.sh"

if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" "$top"
fi
meson compile -C "$build"

bundle="$build/examples/rbtest-plugin.rbp"
key="$build/examples/demo.pub"
if [ -f "$bundle" ]; then
  exec "$build/examples/c/rustbridge-demo" "$bundle" "$key"
fi
exec "$build/examples/c/rustbridge-demo" "$build/tests/plugins/rust/librbtest_plugin.so"
