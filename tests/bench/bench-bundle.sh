#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Makes a signed bundle around a ~50 MB library (the fixture plugin with
# 50 MB of random bytes in an extra ELF section) and runs bench-bundle.
#   tests/bench/bench-bundle.sh BUILD_DIR
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$top/_build}" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
head -c 50000000 /dev/urandom > pad.bin
objcopy --add-section .rbpad=pad.bin --set-section-flags .rbpad=readonly \
  "$build/tests/plugins/librbfixture.so" libbig.so
minisign -G -W -p k.pub -s k.key > /dev/null
/usr/bin/python3 "$top/tests/bundle/rb-make-bundle.py" big.rbp --library libbig.so \
  --platform "linux-$(uname -m)" --sign k.key --public-key k.pub
"$build/tests/bench/bench-bundle" "$work/big.rbp" "$work/k.pub" 5
