#!/usr/bin/env bash
# Flash and RAM of the firmware image, and how its code divides between crates.
#
# Flash = .vector_table + .text + .rodata + .data (initial values); static RAM = .data + .bss.
# The code split attributes each instruction to the source file its line-table entry names
# (llvm-objdump -l): with LTO the core's generic code is inlined into the firmware's loop, and
# its symbols alone would hide it. Inlined lines make the split approximate, not the totals.
# The stack high-water mark is printed by the firmware itself (`stack used N of M B`).
set -euo pipefail
cd "$(dirname "$0")"
target_dir=${CARGO_TARGET_DIR:-target}
cargo build --quiet --release
elf=$target_dir/thumbv7em-none-eabihf/release/vrrp-firmware
size -A "$elf" | awk '
  $1 ~ /^\.(vector_table|text|rodata|data|bss)$/ { s[$1] = $2; printf "%-14s %7d bytes\n", $1, $2 }
  END {
    printf "flash          %7d bytes\n", s[".vector_table"] + s[".text"] + s[".rodata"] + s[".data"]
    printf "static RAM     %7d bytes\n", s[".data"] + s[".bss"]
  }'
echo "code (.text) by source crate:"
llvm-objdump -d -l --no-show-raw-insn "$elf" | awk '
  function hex(s,   i, n) {
    n = 0
    for (i = 1; i <= length(s); i++) n = n * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
    return n
  }
  function crate(p) {
    if (p ~ /\/library\//) return "rust core/compiler-builtins"
    if (p ~ /smoltcp-/) return "smoltcp"
    if (p ~ /heapless-/) return "heapless"
    if (p ~ /embassy-time/) return "embassy-time"
    if (p ~ /cortex-m/) return "cortex-m, -rt, -semihosting"
    if (p ~ /\/(defmt|defmt-semihosting|semihosting)-[0-9]/) return "defmt, defmt-semihosting, semihosting"
    if (p ~ /\/firmware\/src\//) return "firmware (driver, HTTP, loop)"
    if (p ~ /\/core\/src\//) return "vrrp-core"
    return "other"
  }
  /^; \// { split(substr($2, 1), a, ":"); cur = crate(a[1]); next }
  /^ *[0-9a-f]+:/ {
    addr = hex(substr($1, 1, length($1) - 1))
    if (have) bytes[who] += addr - prev
    prev = addr; who = (cur == "" ? "other" : cur); have = 1
  }
  /^[0-9a-f]+ </ { have = 0 }
  END { for (c in bytes) printf "  %7d bytes  %s\n", bytes[c], c }' | sort -rn
