#!/usr/bin/env bash
# Builds a local image with cargo, without any image registry: the demo's base image
# (docker/build-base.sh), gcc and libc6-dev from the same Debian mirror, and this machine's Rust
# toolchain (only what `cargo build` for x86_64 Linux uses). It stands in for rust:1-bookworm as
# the Dockerfile's RUST_IMAGE, so that the build stage is tested where no registry is reachable
# (tests/tests/docker_demo.rs, docker_9).
#
#   docker/rust-image.sh            # prints the image tag on stdout (progress on stderr)
#
# Environment: RUST_SYSROOT (the toolchain to copy; default `rustc --print sysroot`),
# DEBIAN_MIRROR (as for build-base.sh). The tag carries a hash of the inputs (base image,
# toolchain version, this file): a second run with the same inputs only checks that it exists.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=vrrp-demo-rust
HASH_LABEL=org.vrrp.demo.rust-inputs

die() { echo "rust-image.sh: error: $*" >&2; exit 1; }
log() { echo "rust-image.sh: $*" >&2; }

command -v rustc >/dev/null || die "rustc not found: this script copies this machine's toolchain"
sysroot=${RUST_SYSROOT:-$(rustc --print sysroot)}
host=x86_64-unknown-linux-gnu
[ -x "$sysroot/bin/cargo" ] || die "no cargo in $sysroot/bin"
[ -d "$sysroot/lib/rustlib/$host/lib" ] || die "no $host standard library in $sysroot"

base=$("$here/build-base.sh")
version=$("$sysroot/bin/rustc" -V | awk '{print $2}')
inputs=$(printf '%s\n' "$base" "$("$sysroot/bin/rustc" -vV)" "$("$sysroot/bin/cargo" -V)"; cat "${BASH_SOURCE[0]}")
hash=$(printf '%s' "$inputs" | sha256sum | cut -c1-12)
TAG="$REPO:$version-$hash"
if [ "$(docker image inspect -f "{{index .Config.Labels \"$HASH_LABEL\"}}" "$TAG" 2>/dev/null)" = "$hash" ]; then
  log "cached: $TAG"
  echo "$TAG"
  exit 0
fi
mirror=$("$here/build-base.sh" --mirror)

ctx=$(mktemp -d /var/tmp/vrrp-demo-rust.XXXXXX)
trap 'rm -rf --one-file-system "$ctx"' EXIT
# The toolchain, without docs, other targets, clippy, rustfmt or debuggers' scripts: rustc and
# cargo, the two shared libraries rustc loads, the host's standard library, and rust-lld with
# its gcc-ld wrappers (rustc links x86_64 Linux through them). Hard links where the file
# system allows (no copy of ~0.5 GB).
t=$ctx/rust
mkdir -p "$t/bin" "$t/lib/rustlib/$host/bin"
cpl() { cp -al "$@" 2>/dev/null || cp -a "$@"; }
cpl "$sysroot/bin/cargo" "$sysroot/bin/rustc" "$t/bin/"
cpl "$sysroot"/lib/*.so* "$t/lib/"
cpl "$sysroot/lib/rustlib/$host/lib" "$t/lib/rustlib/$host/"
cpl "$sysroot/lib/rustlib/$host/bin/rust-lld" "$sysroot/lib/rustlib/$host/bin/gcc-ld" \
  "$t/lib/rustlib/$host/bin/"

# The mirror is a build argument, never a file in the repository; the image's apt sources are
# emptied again, as in the base image.
cat >"$ctx/Dockerfile" <<'EOF'
ARG BASE
FROM ${BASE}
ARG MIRROR
RUN echo "deb $MIRROR bookworm main" >/etc/apt/sources.list \
 && apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      gcc libc6-dev ca-certificates >/dev/null \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb \
 && : >/etc/apt/sources.list
COPY rust/ /usr/local/rust/
ENV PATH=/usr/local/rust/bin:$PATH CARGO_HOME=/usr/local/cargo
EOF

log "docker build -> $TAG (from $base, rustc $version)"
start=$(date +%s)
docker build --force-rm --build-arg BASE="$base" --build-arg MIRROR="$mirror" \
  --label "$HASH_LABEL=$hash" -t "$TAG" "$ctx" >&2 \
  || die "docker build of the cargo image failed"
log "done: $TAG in $(( $(date +%s) - start ))s ($(docker image inspect -f '{{.Size}}' "$TAG" | awk '{printf "%.0f MB", $1/1e6}'))"
echo "$TAG"
