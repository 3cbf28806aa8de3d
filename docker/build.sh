#!/usr/bin/env bash
# Prepares everything `docker compose -f docker/compose.yaml up -d --build` needs, offline:
#   1. the base image from Debian packages (docker/build-base.sh, cached between runs),
#      unless VRRP_DEMO_BASE names a base image already (e.g. debian:bookworm-slim with a registry);
#   2. a static vrrpd, built with cargo on this machine (docker/build-vrrpd.sh), copied stripped
#      to docker/dist/vrrpd;
#   3. docker/.env, which compose reads: the base image, and the Dockerfile's build stage set to
#      take docker/dist/vrrpd (VRRP_DEMO_VRRPD=dist) on that base instead of building vrrpd in a
#      Rust image (the default, which needs a registry).
#
#   docker/build.sh
#
# Environment: VRRP_DEMO_BASE (skip step 1), VRRPD_BIN (a static vrrpd to use instead of
# building one), VRRPD_TARGET and CARGO_TARGET_DIR (docker/build-vrrpd.sh).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

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
  bin=$("$here/build-vrrpd.sh") || die "no vrrpd (docker/build-vrrpd.sh failed)"
fi
is_static "$bin" || die "$bin is dynamically linked; the image has no libraries for it (build it static)"
mkdir -p "$here/dist"
tmp=$here/dist/.vrrpd.tmp
if command -v strip >/dev/null; then strip -o "$tmp" "$bin"; else cp "$bin" "$tmp"; fi
chmod 0755 "$tmp"
mv -f "$tmp" "$here/dist/vrrpd"
log "docker/dist/vrrpd: $(du -h "$here/dist/vrrpd" | cut -f1), static, from $bin"

# 3. compose's environment
printf '# Written by docker/build.sh.\nVRRP_DEMO_BASE=%s\nVRRP_DEMO_VRRPD=dist\nVRRP_DEMO_RUST_IMAGE=%s\n' \
  "$base" "$base" >"$here/.env"
log "docker/.env: VRRP_DEMO_BASE=$base VRRP_DEMO_VRRPD=dist VRRP_DEMO_RUST_IMAGE=$base"
log "ready: docker compose -f docker/compose.yaml up -d --build"
