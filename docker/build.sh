#!/usr/bin/env bash
# Prepares everything `docker compose -f docker/compose.yaml up -d --build` needs, offline:
#   1. the base image from Debian packages (docker/build-base.sh, cached between runs),
#      unless VRRP_DEMO_BASE names a base image already (e.g. debian:bookworm-slim with a registry);
#   2. a static vrrpd, built with cargo on this machine, copied stripped to docker/dist/vrrpd;
#   3. docker/.env with VRRP_DEMO_BASE, which compose reads.
#
#   docker/build.sh
#
# Environment: VRRP_DEMO_BASE (skip step 1), VRRPD_BIN (a static vrrpd to use instead of
# building one), VRRPD_TARGET (see step 2), CARGO_TARGET_DIR (cargo's usual meaning).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")

die() { echo "build.sh: error: $*" >&2; exit 1; }
log() { echo "build.sh: $*" >&2; }

# 1. base image
if [ -n "${VRRP_DEMO_BASE:-}" ]; then
  base=$VRRP_DEMO_BASE
  log "base image from VRRP_DEMO_BASE: $base"
else
  base=$("$here/build-base.sh")
fi

# 2. a static vrrpd
is_static() { ! LC_ALL=C readelf -l "$1" 2>/dev/null | grep -q 'Requesting program interpreter'; }
if [ -n "${VRRPD_BIN:-}" ]; then
  bin=$VRRPD_BIN
  [ -x "$bin" ] || die "VRRPD_BIN=$bin is not an executable file"
else
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
  log "cargo build --release -p vrrp-host --target $target"
  (cd "$repo" && cargo build --release --locked -p vrrp-host --target "$target" >&2) \
    || die "cargo build of vrrpd failed"
  bin=$target_dir/$target/release/vrrpd
fi
is_static "$bin" || die "$bin is dynamically linked; the image has no libraries for it (build it static)"
mkdir -p "$here/dist"
tmp=$here/dist/.vrrpd.tmp
if command -v strip >/dev/null; then strip -o "$tmp" "$bin"; else cp "$bin" "$tmp"; fi
chmod 0755 "$tmp"
mv -f "$tmp" "$here/dist/vrrpd"
log "docker/dist/vrrpd: $(du -h "$here/dist/vrrpd" | cut -f1), static, from $bin"

# 3. compose's environment
printf '# Written by docker/build.sh.\nVRRP_DEMO_BASE=%s\n' "$base" >"$here/.env"
log "docker/.env: VRRP_DEMO_BASE=$base"
log "ready: docker compose -f docker/compose.yaml up -d --build"
