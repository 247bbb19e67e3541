#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Makes a signed bundle around a ~50 MB library and runs bench-bundle.
# The library is the benchmarks' echo plugin with 50 MB of random bytes
# assembled into its read-only data (.incbin), so the padding is part of
# a PT_LOAD segment: the loader maps all of it from the memfd (or the
# extracted file) and the plugin's "touch" call reads every page of it.
#   tests/bench/bench-bundle.sh BUILD_DIR [ROUNDS]
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$top/_build}" && pwd)
rounds=${2:-7}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
head -c 50000000 /dev/urandom > pad.bin
cat > pad.S <<'ASM'
	.section .rodata.rbpad,"a"
	.balign 4096
	.globl rb_bench_pad
rb_bench_pad:
	.incbin "pad.bin"
	.globl rb_bench_pad_end
rb_bench_pad_end:
	.section .note.GNU-stack,"",%progbits
ASM
${CC:-cc} -shared -fPIC -O2 -fvisibility=hidden -DRB_BENCH_PAD -o libbig.so \
  "$top/tests/bench/bench-echo-plugin.c" pad.S
# The padding must be inside a loadable, non-writable segment.
readelf -lW libbig.so | while read -r type offset vaddr paddr filesz rest; do
  [ "$type" = LOAD ] || continue
  case "$rest" in *W*) continue ;; esac
  [ $((filesz)) -lt 50000000 ] || echo found
done | grep -q found || { echo "libbig.so: no read-only PT_LOAD segment of 50 MB" >&2; exit 1; }
minisign -G -W -p k.pub -s k.key > /dev/null
/usr/bin/python3 "$top/tests/bundle/rb-make-bundle.py" big.rbp --library libbig.so \
  --platform "linux-$(uname -m)" --sign k.key --public-key k.pub
"$build/tests/bench/bench-bundle" "$work/big.rbp" "$work/k.pub" "$rounds"
