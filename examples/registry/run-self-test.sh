#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# run-self-test.sh RUSTBRIDGE-TOOL PLUGIN.so SCREENSHOT.png DEMO [ARG...]
#
# Installs three bundles for the registry demo in a fresh user data dir
# (as a package or the application's plugin manager would), signed with a
# key made here and trusted through the user's trusted-keys dir:
#   text-tools    available (the self-test turns it on, calls it, turns it off)
#   viewer        only for windows-x86_64: listed as unavailable, with why
#   zip-export    available, left off
# then runs `DEMO [ARG...] --self-test SCREENSHOT.png` (the C or the Python
# demo, under xvfb-run from the test) with XDG_DATA_HOME, XDG_CONFIG_HOME
# and XDG_CACHE_HOME there, so nothing of the user's is read or written.
set -eu

if [ $# -lt 4 ]; then
  echo "Usage: $0 RUSTBRIDGE-TOOL PLUGIN.so SCREENSHOT.png DEMO [ARG...]" >&2
  exit 2
fi
tool=$1 plugin=$2 screenshot=$3
shift 3

case "$(uname -m)" in
  x86_64) platform=linux-x86_64 ;;
  aarch64 | arm64) platform=linux-aarch64 ;;
  *) echo "no bundle platform for $(uname -m)" >&2; exit 77 ;;
esac

work=$(mktemp -d "${TMPDIR:-/tmp}/rb-registry-demo-XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

export XDG_DATA_HOME="$work/data" XDG_CONFIG_HOME="$work/config" XDG_CACHE_HOME="$work/cache"
plugins="$XDG_DATA_HOME/org.rustbridge.RegistryDemo/plugins"
keys="$XDG_CONFIG_HOME/rustbridge/trusted-keys"
mkdir -p "$plugins" "$keys" "$work/store"

"$tool" keygen -W -s "$work/store/publisher.key" -p "$keys/publisher.pub" >/dev/null

bundle () {
  name=$1 lib=$2 description=$3
  "$tool" create -o "$work/store/$name.rbp" --name "$name" --version 1.2.0 \
    --description "$description" --lib "$lib=$plugin" --sign "$work/store/publisher.key" >/dev/null
  # Copied in under a hidden name, then renamed: never seen half-written.
  cp "$work/store/$name.rbp" "$plugins/.$name.rbp.part"
  mv "$plugins/.$name.rbp.part" "$plugins/$name.rbp"
}
bundle text-tools "$platform" "Counts, echoes and transforms text"
bundle viewer windows-x86_64 "A viewer built for Windows only"
bundle zip-export "$platform" "Exports documents as ZIP archives"

"$@" --self-test "$screenshot"
