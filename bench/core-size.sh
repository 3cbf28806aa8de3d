#!/usr/bin/env bash
# P6: footprint of vrrp-core + its smoltcp binding in a minimal thumbv7em-none-eabihf image, and
# the size of one virtual router's state on this host.
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target add thumbv7em-none-eabihf >/dev/null 2>&1 || true
cargo build --quiet --release --target thumbv7em-none-eabihf --manifest-path bench/core-size/Cargo.toml
elf=bench/core-size/target/thumbv7em-none-eabihf/release/core-size
size -A "$elf" | awk '$1 ~ /^\.(text|rodata|data|bss)$/ { printf "%-8s %7d bytes\n", $1, $2 }'
cargo test --quiet -p vrrp-core --test two_routers router_state_fits_its_budget -- --nocapture 2>/dev/null \
  | grep 'size_of'
