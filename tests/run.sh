#!/usr/bin/env bash
# Every test of the workspace, from a fresh Debian machine with rustup:
#
#   bash tests/run.sh            # install what the tests need (as root), then run them all
#   bash tests/run.sh --deps     # only install (what .ci/run does before its lint steps)
#   bash tests/run.sh --no-deps  # only run
#
# As root it installs the Debian packages the end-to-end tests use (only when one is missing;
# apt-get update first), the thumbv7em-none-eabihf target, cargo-nextest and defmt-print (the
# firmware test decodes the firmware's defmt log with it) and cargo-deb (the Debian package's
# test builds the package with it). Without root it installs nothing and runs every test
# anyway: those that need root, network namespaces, nginx, keepalived, FRR, QEMU, Chromium or
# Docker print `skipped: <reason>` and pass (with CI=true they fail instead). Then it runs the
# nextest suite and the doctests, which nextest does not run.
set -euo pipefail
cd "$(dirname "$0")/.."

# What the end-to-end tests start or inspect: nginx and keepalived / FRR peers, captures
# (tcpdump, tshark), load (wrk), the firmware (QEMU), the Docker demo's offline base image
# (debootstrap), the fast path (nft), the systemd unit (systemd-analyze), the status page
# (chromium, headless), namespaces and processes (iproute2, procps, psmisc).
PACKAGES=(
  iproute2 procps psmisc iputils-ping curl
  nginx-light keepalived frr tcpdump tshark wrk qemu-system-arm debootstrap nftables systemd
  chromium
)

deps=1 run=1
for a in "$@"; do
  case $a in
    --deps) run=0 ;;
    --no-deps) deps=0 ;;
    *) echo "usage: $0 [--deps | --no-deps]" >&2; exit 2 ;;
  esac
done

say() { printf '\n=== %s (%s)\n' "$*" "$(date -u +%H:%M:%S)"; }

install_deps() {
  if [ "$(id -u)" != 0 ]; then
    say "not root: installing nothing; tests that need root or missing packages will say they skipped"
  elif ! command -v apt-get >/dev/null; then
    say "no apt-get: install these yourself: ${PACKAGES[*]}"
  else
    local missing=()
    for p in "${PACKAGES[@]}"; do
      dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
      say "Debian packages: ${missing[*]}"
      export DEBIAN_FRONTEND=noninteractive
      # The packages must not start their services: the tests start their own instances in
      # namespaces.
      if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
      fi
      apt-get update -qq
      apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
  fi
  say "rust target and tools"
  rustup target add thumbv7em-none-eabihf
  command -v cargo-nextest >/dev/null || cargo install --locked cargo-nextest
  # host/tests/packaging.rs builds the Debian package with it (README, "Install as a package").
  command -v cargo-deb >/dev/null || cargo install --locked cargo-deb
  # tests/tests/firmware.rs decodes the firmware's defmt log with it: built once per machine,
  # where the defmt-decoder crate in vrrp-tests would be compiled again by every build of the
  # workspace.
  command -v defmt-print >/dev/null || cargo install --locked defmt-print --version 1.2.0
}

[ "$deps" = 1 ] && install_deps
if [ "$run" = 1 ]; then
  say "tests"
  cargo nextest run --workspace --profile ci
  say "doctests"
  cargo test --workspace --doc --quiet
fi
