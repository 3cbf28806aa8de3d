#!/usr/bin/env bash
# Builds a static vrrpd with cargo and prints its path on stdout (cargo's output on stderr).
# Run on the host by docker/build.sh, and in the Dockerfile's build stage (VRRPD=source): both
# build it the same way.
#
#   docker/build-vrrpd.sh
#
# Environment: VRRPD_TARGET (below), CARGO_TARGET_DIR (cargo's usual meaning).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

die() { echo "build-vrrpd.sh: error: $*" >&2; exit 1; }

command -v cargo >/dev/null || die "cargo not found: install Rust (rustup), or set VRRPD_BIN to a static vrrpd"
target_dir=${CARGO_TARGET_DIR:-$repo/target}
# Static, so that the image needs no library for it. Default: glibc with crt-static, which
# needs nothing beyond what any cargo build on Debian needs (libc6-dev's libc.a).
# VRRPD_TARGET=x86_64-unknown-linux-musl builds with musl instead (rustup target add).
target=${VRRPD_TARGET:-x86_64-unknown-linux-gnu}
case $target in
  *-linux-gnu) export RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" ;;
  *-linux-musl)
    has_target() { compgen -G "$(rustc --print target-libdir --target "$1" 2>/dev/null)/libstd-*.rlib" >/dev/null; }
    has_target "$target" || rustup target add "$target" >&2 \
      || die "the $target target is not installed and rustup could not add it" ;;
  *) die "VRRPD_TARGET=$target: expected x86_64-unknown-linux-gnu or x86_64-unknown-linux-musl" ;;
esac
echo "build-vrrpd.sh: cargo build --release -p vrrp-host --target $target" >&2
(cd "$repo" && cargo build --release --locked -p vrrp-host --target "$target" >&2) \
  || die "cargo build of vrrpd failed"
echo "$target_dir/$target/release/vrrpd"
