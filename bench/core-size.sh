#!/usr/bin/env bash
# BENCHMARKS.md P6: footprint of vrrp-core + its smoltcp binding in a minimal
# thumbv7em-none-eabihf image, and the size of one virtual router's state on this host.
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target add thumbv7em-none-eabihf >/dev/null 2>&1 || true
cargo build --quiet --release --target thumbv7em-none-eabihf --manifest-path bench/core-size/Cargo.toml
# Where cargo put it: bench/run.sh exports CARGO_TARGET_DIR (the workspace's target/), a plain
# run uses the crate's own target/.
elf=${CARGO_TARGET_DIR:-bench/core-size/target}/thumbv7em-none-eabihf/release/core-size
size -A "$elf" | awk '$1 ~ /^\.(text|rodata|data|bss)$/ { printf "%-8s %7d bytes\n", $1, $2 }'
cargo test --quiet -p vrrp-core --test two_routers router_state_fits_its_budget -- --nocapture 2>/dev/null \
  | grep 'size_of'
# Text by crate, from symbol names. With LTO much is inlined into `_start` (the poll loop), so
# the per-crate figures are lower bounds and the inlined rest is reported on its own.
nm -S --size-sort -C "$elf" | python3 -c '
import collections, sys
t = collections.Counter()
for line in sys.stdin:
    p = line.split(None, 3)
    if len(p) < 4 or p[2] not in "tTrR":
        continue
    name, size = p[3], int(p[1], 16)
    if "vrrp_core" in name:
        t["vrrp_core"] += size
    elif "smoltcp" in name:
        t["smoltcp"] += size
    elif name.strip() == "_start":
        t["inlined into the poll loop"] += size
    else:
        t["core, heapless, builtins"] += size
for k, v in t.most_common():
    print(f"  text {k:<28} {v:6d} bytes")
'
