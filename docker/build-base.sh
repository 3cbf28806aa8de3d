#!/usr/bin/env bash
# Builds the demo's base image from Debian packages, without any registry:
# debootstrap a minimal bookworm with nginx-light, then `docker import` it.
#
#   docker/build-base.sh            # prints the image tag on stdout (progress on stderr)
#   docker/build-base.sh --mirror   # prints the Debian mirror it uses (for docker/rust-image.sh)
#
# The Debian mirror is read from this machine's apt sources (or $DEBIAN_MIRROR); it is never
# written into the repository. The result is cached: the tag carries a hash of this script's
# inputs (suite, packages, architecture, this file), so a second run with an unchanged script
# only checks that the tag exists. The Dockerfile takes this image as its `BASE` build argument;
# with a registry, `debian:bookworm-slim` works as well (see docker/README.md).
set -euo pipefail

SUITE=bookworm
PACKAGES=nginx-light
REPO=vrrp-demo-base
HASH_LABEL=org.vrrp.demo.base-inputs

die() { echo "build-base.sh: error: $*" >&2; exit 1; }
log() { echo "build-base.sh: $*" >&2; }

# The mirror: $DEBIAN_MIRROR, else the first apt source that serves $SUITE.
mirror_from_apt_sources() {
  local f
  # deb822 (.sources): a stanza with URIs: and a Suites: line naming the suite exactly.
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -r "$f" ] || continue
    awk -v suite="$SUITE" '
      function flush() { if (uri != "" && ok && types) { print uri; found = 1; exit } uri = ""; ok = 0; types = 0 }
      /^[[:space:]]*$/ { flush(); next }
      /^[[:space:]]*#/ { next }
      tolower($1) == "types:" { for (i = 2; i <= NF; i++) if ($i == "deb") types = 1 }
      tolower($1) == "uris:" { uri = $2 }
      tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i == suite) ok = 1 }
      tolower($1) == "enabled:" && tolower($2) == "no" { types = 0 }
      END { if (!found) flush() }' "$f"
  done
  # one-line format: deb [options] URI SUITE COMPONENTS...
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -r "$f" ] || continue
    awk -v suite="$SUITE" '
      $1 == "deb" { i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
                    if ($(i + 1) == suite) { print $i; exit } }' "$f"
  done
}
mirror() {
  local m=${DEBIAN_MIRROR:-$(mirror_from_apt_sources | head -n1)}
  [ -n "$m" ] || die "no apt source for $SUITE in /etc/apt/sources.list{,.d/*}; set DEBIAN_MIRROR=URL"
  echo "$m"
}
if [ "${1:-}" = --mirror ]; then mirror; exit 0; fi
[ $# = 0 ] || die "usage: build-base.sh [--mirror]"

command -v docker >/dev/null || die "docker not found"
docker info >/dev/null 2>&1 || die "the Docker engine is not reachable (docker info failed)"
ARCH=$(dpkg --print-architecture 2>/dev/null || echo amd64)

self="${BASH_SOURCE[0]}"
inputs=$(printf '%s\n%s\n%s\n' "$SUITE" "$PACKAGES" "$ARCH"; cat "$self")
hash=$(printf '%s' "$inputs" | sha256sum | cut -c1-12)
TAG="$REPO:$SUITE-$hash"

if [ "$(docker image inspect -f "{{index .Config.Labels \"$HASH_LABEL\"}}" "$TAG" 2>/dev/null)" = "$hash" ]; then
  log "cached: $TAG"
  docker tag "$TAG" "$REPO:$SUITE"
  echo "$TAG"
  exit 0
fi

MIRROR=$(mirror)
[ "$(id -u)" = 0 ] || die "debootstrap needs root (run as root, or with sudo)"
if ! command -v debootstrap >/dev/null; then
  log "installing debootstrap with apt-get"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >&2 \
    || die "debootstrap is missing and apt-get could not install it"
fi

work=$(mktemp -d /var/tmp/vrrp-demo-base.XXXXXX)
cleanup() {
  # Never follow into a mounted /proc or /dev of the chroot.
  for m in proc sys dev/pts dev; do
    mountpoint -q "$work/root/$m" 2>/dev/null && umount -l "$work/root/$m" || true
  done
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT

log "debootstrap $SUITE ($ARCH, minbase + $PACKAGES) from the apt sources' mirror"
start=$(date +%s)
# debootstrap replaces start-stop-daemon in the chroot while it installs, so nginx's postinst
# starts nothing.
debootstrap --variant=minbase --arch="$ARCH" --include="$PACKAGES" \
  "$SUITE" "$work/root" "$MIRROR" >"$work/debootstrap.log" 2>&1 \
  || { tail -n 30 "$work/debootstrap.log" >&2; die "debootstrap failed (log above)"; }
log "debootstrap took $(( $(date +%s) - start ))s"

root="$work/root"
[ -x "$root/usr/sbin/nginx" ] || die "nginx missing from the debootstrapped tree"
# Trim what no image built on this base uses: package caches and lists, docs, man pages,
# locales. The mirror's address lives in the tree's apt sources: drop it from the image.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
       "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
       "$root"/usr/share/locale/* "$root"/var/log/*.log "$root"/var/cache/debconf/*-old
: > "$root/etc/apt/sources.list"
rm -f "$root"/etc/apt/sources.list.d/*

log "docker import -> $TAG"
tar --numeric-owner -C "$root" -c . \
  | docker import \
      -c "LABEL $HASH_LABEL=$hash" \
      -c "LABEL org.opencontainers.image.description=\"minimal Debian $SUITE with $PACKAGES (debootstrap)\"" \
      -c 'CMD ["/bin/bash"]' \
      - "$TAG" >/dev/null
docker tag "$TAG" "$REPO:$SUITE"
log "done: $TAG ($(docker image inspect -f '{{.Size}}' "$TAG" | awk '{printf "%.0f MB", $1/1e6}'))"
echo "$TAG"
