#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Installs the Debian 12 packages needed to build and test rustbridge-glib.
# clang and libclang-rt-14-dev (its libFuzzer and sanitizer runtimes) build
# the fuzz targets that the 'fuzz' suite runs (tests/fuzz/README.md).
# libgtk-4-dev, xvfb and xauth build the GTK example and run it headless
# (xvfb-run) in the 'examples' suite; without them it is skipped.
# bubblewrap and libseccomp-dev run isolated plugins in the SANDBOX mode
# (its tests are skipped without bwrap).
# As root: runs `apt-get update` once and installs what is missing.
# Otherwise: prints the apt command to run and fails.
set -eu

packages="gcc pkg-config meson ninja-build
libglib2.0-dev libjson-glib-dev libffi-dev libarchive-dev libsodium-dev
gobject-introspection libgirepository1.0-dev gir1.2-glib-2.0 gir1.2-json-1.0
valac gjs python3 python3-gi python3-pytest
minisign unzip valgrind gi-docgen
clang libclang-rt-14-dev
libgtk-4-dev xvfb xauth
bubblewrap libseccomp-dev
librust-tokio-dev librust-serde-dev librust-serde-derive-dev librust-serde-json-dev librust-once-cell-dev"

# The Rust test plugin needs cargo; Debian's works when none is installed.
if ! command -v cargo >/dev/null 2>&1; then
  packages="$packages cargo"
fi

missing=""
for p in $packages; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done

if [ -z "$missing" ]; then
  exit 0
fi

if [ "$(id -u)" != 0 ]; then
  echo "rustbridge-glib needs these Debian packages. Run as root:" >&2
  echo "  apt-get update && apt-get install -y$missing" >&2
  exit 1
fi

echo "Installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
