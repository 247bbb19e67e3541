#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Builds the Rust test plugin offline and copies the cdylib to OUTPUT.
#
#   build-plugin.sh CARGO SOURCE_DIR WORK_DIR OUTPUT
#
# CARGO       cargo executable (rustup's or Debian's /usr/bin/cargo)
# SOURCE_DIR  this directory (Cargo.toml, src/, cargo-config.toml)
# WORK_DIR    scratch directory in the build tree: the crate is copied to
#             WORK_DIR/crate (so Cargo.lock and .cargo/config.toml are
#             written there, never into the source tree) and built with
#             CARGO_TARGET_DIR=WORK_DIR/target.
# OUTPUT      where librbtest_plugin.so goes
#
# If RUSTC is not set and a rustc sits next to CARGO, that one is used, so
# /usr/bin/cargo builds with /usr/bin/rustc even when rustup's rustc comes
# first on PATH. Extra cargo flags may be given in RBTEST_CARGO_FLAGS.
set -eu

if [ $# -ne 4 ]; then
    echo "usage: $0 CARGO SOURCE_DIR WORK_DIR OUTPUT" >&2
    exit 2
fi
cargo=$1
src=$2
work=$3
output=$4

# Absolute paths: we change directory below.
case $work in /*) ;; *) work=$(pwd)/$work ;; esac
case $output in /*) ;; *) output=$(pwd)/$output ;; esac
case $src in /*) ;; *) src=$(pwd)/$src ;; esac

if [ -z "${RUSTC:-}" ]; then
    cargo_dir=$(dirname "$cargo")
    if [ -x "$cargo_dir/rustc" ]; then
        RUSTC=$cargo_dir/rustc
        export RUSTC
    fi
fi

crate=$work/crate
mkdir -p "$crate/src" "$crate/.cargo"

# Copy a file only when its content changed, keeping its timestamp, so
# cargo's fingerprints stay valid and repeated builds are no-ops.
sync_file () {
    if ! cmp -s "$1" "$2"; then
        cp -p "$1" "$2"
    fi
}
sync_file "$src/Cargo.toml" "$crate/Cargo.toml"
sync_file "$src/cargo-config.toml" "$crate/.cargo/config.toml"
for f in "$src"/src/*.rs; do
    sync_file "$f" "$crate/src/$(basename "$f")"
done
# Drop sources that no longer exist upstream.
for f in "$crate"/src/*.rs; do
    [ -e "$src/src/$(basename "$f")" ] || rm -f "$f"
done

CARGO_TARGET_DIR=$work/target
export CARGO_TARGET_DIR
# The output path below assumes a host build.
unset CARGO_BUILD_TARGET || true

cd "$crate"
# shellcheck disable=SC2086
"$cargo" build --release --offline --lib ${RBTEST_CARGO_FLAGS:-}

built=$CARGO_TARGET_DIR/release/librbtest_plugin.so
if ! cmp -s "$built" "$output"; then
    cp "$built" "$output.tmp"
    mv -f "$output.tmp" "$output"
fi
