#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds everything and runs the C demo: the Rust test plugin, loaded from
# a bundle that the build makes with rustbridge-tool (keygen, then create
# --sign) with a key generated at build time.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-"$top/_build"}

"$top/build-aux/install-deps.sh"

if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" "$top"
fi
meson compile -C "$build"

exec "$build/examples/c/rustbridge-demo" "$build/examples/rbtest-plugin.rbp" "$build/examples/demo.pub"
