#!/usr/bin/env bash
# The benchmarks of BENCHMARKS.md. Each one writes its figures, the exact command, the date and the
# machine into its section of BENCHMARKS.md (between `<!-- bench:<id>:begin -->` and
# `<!-- bench:<id>:end -->`; hand-written analysis lives outside the markers and survives reruns).
#
#   bench/run.sh P1        # P1-P3: failover (pause/resume), keepalived and vrrpd interleaved
#   bench/run.sh P4        # VIP data path (wrk), keepalived anchor
#   bench/run.sh P5        # daemon footprint at I = 10 ms, 60 s, keepalived anchor
#   bench/run.sh P6        # core size (bench/core-size.sh)
#   bench/run.sh P7        # simulator speed (vrrp-sim bench)
#   bench/run.sh P9        # direct-to-VIP clients through 1 s pauses: keepalived, relay, fast path
#   bench/run.sh P10       # soak of the Docker demo: 10 min of wrk, CPU hog, pauses and restarts
#   bench/run.sh P11       # CPU and RSS with N = 1..200 virtual routers, keepalived side by side
#   bench/run.sh all       # all of them (P2 and P3 come from P1's runs)
#   bench/run.sh --smoke all   # smoke size, into a temporary file (or $BENCHMARKS_MD)
#
# Options: --smoke, --no-build (use the binaries as built). Environment: CARGO_TARGET_DIR,
# VRRPD_BIN (default: the release vrrpd this script builds), VRRPD_BIN_B (P5: a second vrrpd
# build, measured in labs beside the first: an A/B of two builds in the same minutes), BENCHMARKS_MD (output file),
# VRRP_BENCH_RUNS / _SECS / _CONNS / _INTERVALS_MS / _SETTLE_SECS / _SCALE_N / _SEED (see
# tests/tests/bench_*.rs). Needs root; P10 needs Docker (it is not part of `all`: it takes
# 10 minutes and loads every core).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
CARGO=${CARGO:-cargo}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}

smoke=0
build=1
ids=()
for a in "$@"; do
  case "$a" in
    --smoke) smoke=1 ;;
    --no-build) build=0 ;;
    all) ids+=(P1 P4 P5 P6 P7 P9 P11) ;;
    P1|P2|P3) ids+=(P1) ;;
    P4|P5|P6|P7|P9|P10|P11) ids+=("$a") ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "unknown argument: $a (P1..P7, P9, P10, P11, all, --smoke, --no-build)" >&2; exit 2 ;;
  esac
done
[ ${#ids[@]} -gt 0 ] || ids=(P1 P4 P5 P6 P7 P9 P11)
# shellcheck disable=SC2207
ids=($(printf '%s\n' "${ids[@]}" | awk '!seen[$0]++'))

if [ "$smoke" = 1 ]; then
  out=${BENCHMARKS_MD:-$(mktemp -t benchmarks-smoke.XXXXXX.md)}
else
  out=${BENCHMARKS_MD:-$root/BENCHMARKS.md}
fi
[ -f "$out" ] || printf '# Benchmarks\n' >"$out"
work=$(mktemp -d -t vrrp-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
invocation="bench/run.sh $*"

machine() {
  local mem cpu
  mem=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
  cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
  echo "nproc $(nproc), memory $mem, kernel $(uname -r), CPU ${cpu:-unknown}, load average $(cut -d' ' -f1-3 /proc/loadavg)"
}

commit() {
  local c
  c=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
  if ! git diff --quiet HEAD -- host core 2>/dev/null; then c="$c (host/ or core/ modified)"; fi
  echo "$c"
}

# splice ID FRAGMENT COMMAND: replaces the section of ID in $out (appends it if missing).
splice() {
  local id=$1 frag=$2 cmd=$3 body="$work/$1.body"
  {
    echo "<!-- bench:$id:begin -->"
    [ "$smoke" = 1 ] && echo "**Smoke-size run: not a benchmark figure.**" && echo
    echo "Command: \`$invocation\` → \`$cmd\`  "
    echo "Date: $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(commit)  "
    echo "Machine: $(machine)"
    echo
    cat "$frag"
    echo "<!-- bench:$id:end -->"
  } >"$body"
  if grep -q "^<!-- bench:$id:begin -->" "$out"; then
    awk -v id="$id" -v body="$body" '
      $0 == "<!-- bench:" id ":begin -->" { while ((getline l < body) > 0) print l; skip = 1; next }
      $0 == "<!-- bench:" id ":end -->" { skip = 0; next }
      !skip { print }' "$out" >"$work/out.md"
    cat "$work/out.md" >"$out"
  else
    { echo; echo "## $id"; echo; cat "$body"; } >>"$out"
  fi
  echo "== $id -> $out"
}

# The e2e benchmarks (P1-P5) run as ignored tests of vrrp-tests, one test thread, no timeout.
e2e() {
  local test=$1; shift
  local cmd="cargo test -p vrrp-tests --test $test -- --ignored --nocapture --test-threads=1"
  local env_desc
  env_desc=$(env | grep -E '^(VRRP_BENCH_|VRRPD_BIN_B=)' | sort | tr '\n' ' ' || true)
  echo "== ${env_desc}VRRPD_BIN=$VRRPD_BIN $cmd" >&2
  rm -f "$work"/P*.md
  env VRRP_BENCH_MD_DIR="$work" VRRP_MEASURE_FILE="$work/measure.txt" \
    "$CARGO" test --quiet -p vrrp-tests --test "$test" -- --ignored --nocapture --test-threads=1 \
    | tee "$work/$test.log" || return 1
  grep -q '^skipped:' "$work/$test.log" && { echo "$test skipped" >&2; return 1; }
  LAST_CMD="${env_desc}VRRPD_BIN=$(basename "$(dirname "$(dirname "$VRRPD_BIN")")")/$(basename "$(dirname "$VRRPD_BIN")")/vrrpd $cmd"
  [ -f "$work/measure.txt" ] && cp "$work/measure.txt" "$work/measure-$test.txt"
  return 0
}

need_e2e=0
for id in "${ids[@]}"; do case $id in P1|P4|P5|P9|P11) need_e2e=1 ;; esac; done
for id in "${ids[@]}"; do
  # P10 builds its own static vrrpd (docker/build.sh, called by the test) and needs root for
  # the Docker demo's tests.
  if [ "$id" = P10 ] && [ "$(id -u)" != 0 ]; then echo "P10 needs root (Docker)" >&2; exit 1; fi
done
if [ "$need_e2e" = 1 ]; then
  [ "$(id -u)" = 0 ] || { echo "P1-P5, P9 and P11 need root (network namespaces)" >&2; exit 1; }
  if [ "$build" = 1 ]; then
    "$CARGO" build --quiet --release -p vrrp-host
    "$CARGO" test --quiet --no-run -p vrrp-tests
  fi
  export VRRPD_BIN=${VRRPD_BIN:-$CARGO_TARGET_DIR/release/vrrpd}
  [ -x "$VRRPD_BIN" ] || { echo "no vrrpd at $VRRPD_BIN (build: cargo build --release -p vrrp-host)" >&2; exit 1; }
fi

status=0
for id in "${ids[@]}"; do
  case $id in
    P1)
      if [ "$smoke" = 1 ]; then
        export VRRP_BENCH_RUNS=1 VRRP_BENCH_INTERVALS_MS=100
      fi
      if e2e bench_failover; then
        for p in P1 P2 P3; do splice "$p" "$work/$p.md" "$LAST_CMD"; done
      else status=1; fi
      unset VRRP_BENCH_RUNS VRRP_BENCH_INTERVALS_MS
      ;;
    P4)
      if [ "$smoke" = 1 ]; then
        export VRRP_BENCH_RUNS=1 VRRP_BENCH_CONNS=4 VRRP_BENCH_SECS=1
      fi
      if e2e bench_datapath; then splice P4 "$work/P4.md" "$LAST_CMD"; else status=1; fi
      unset VRRP_BENCH_RUNS VRRP_BENCH_CONNS VRRP_BENCH_SECS
      ;;
    P5)
      if [ "$smoke" = 1 ]; then
        export VRRP_BENCH_RUNS=1 VRRP_BENCH_SECS=3
      fi
      if e2e bench_footprint; then splice P5 "$work/P5.md" "$LAST_CMD"; else status=1; fi
      unset VRRP_BENCH_RUNS VRRP_BENCH_SECS
      ;;
    P9)
      if [ "$smoke" = 1 ]; then
        export VRRP_BENCH_RUNS=2
      fi
      if e2e bench_pause_clients; then splice P9 "$work/P9.md" "$LAST_CMD"; else status=1; fi
      unset VRRP_BENCH_RUNS
      ;;
    P10)
      # The demo's image takes the static vrrpd docker/build.sh builds, not $VRRPD_BIN.
      [ "$smoke" = 1 ] && export VRRP_BENCH_SECS=60
      if VRRPD_BIN='' e2e bench_soak; then
        LAST_CMD="${VRRP_BENCH_SECS:+VRRP_BENCH_SECS=$VRRP_BENCH_SECS }cargo test -p vrrp-tests --test bench_soak -- --ignored --nocapture --test-threads=1"
        splice P10 "$work/P10.md" "$LAST_CMD"
      else status=1; fi
      unset VRRP_BENCH_SECS
      ;;
    P11)
      if [ "$smoke" = 1 ]; then
        export VRRP_BENCH_RUNS=1 VRRP_BENCH_SECS=3 VRRP_BENCH_SETTLE_SECS=1 VRRP_BENCH_SCALE_N=1,16
      fi
      if e2e bench_scale; then splice P11 "$work/P11.md" "$LAST_CMD"; else status=1; fi
      unset VRRP_BENCH_RUNS VRRP_BENCH_SECS VRRP_BENCH_SETTLE_SECS VRRP_BENCH_SCALE_N
      ;;
    P6)
      if bench/core-size.sh >"$work/core-size.txt"; then
        { echo '```'; cat "$work/core-size.txt"; echo '```'; } >"$work/P6.md"
        splice P6 "$work/P6.md" "bench/core-size.sh"
      else status=1; fi
      ;;
    P7)
      # Smoke: a short simulated run and a few seeds, in the profile already built for tests.
      if [ "$smoke" = 1 ]; then
        cmd=(run --quiet -p vrrp-sim -- bench --seconds 60 --seeds 20)
      else
        cmd=(run --quiet --release -p vrrp-sim -- bench)
      fi
      : >"$work/P7.txt"
      runs=${VRRP_BENCH_RUNS:-3}
      [ "$smoke" = 1 ] && runs=1
      ok=1
      for i in $(seq 1 "$runs"); do
        echo "== run $i: cargo ${cmd[*]}" >&2
        "$CARGO" "${cmd[@]}" >>"$work/P7.txt" || ok=0
      done
      if [ "$ok" = 1 ]; then
        {
          echo "$runs runs, one line per run and figure:"
          echo
          echo '```'; cat "$work/P7.txt"; echo '```'
          echo
          awk '
            /^steady:/ && !/timeline/ { for (i = 1; i <= NF; i++) if ($i ~ /x$/ && $(i-1) == "=") s[ns++] = substr($i, 1, length($i) - 1) }
            /^swarm:/ { for (i = 1; i <= NF; i++) if ($i == "seeds/s,") w[nw++] = $(i-1) }
            function mmm(a, n,   i, j, t, med) {
              for (i = 0; i < n; i++) for (j = i + 1; j < n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
              med = (n % 2) ? a[int(n / 2)] : (a[n / 2 - 1] + a[n / 2]) / 2
              return sprintf("%s / **%s** / %s", a[0], med, a[n - 1])
            }
            END {
              print "| figure | min / median / max | goal |"
              print "|---|---|---|"
              g = (ns && 0 + s[0] >= 0) ? "" : ""
              printf "| 3 routers, 10 ms adverts: simulated / wall | %sx | ≥ 10,000x |\n", mmm(s, ns)
              printf "| swarm: seeds per second | %s | — |\n", mmm(w, nw)
            }' "$work/P7.txt"
        } >"$work/P7.md"
        splice P7 "$work/P7.md" "cargo ${cmd[*]} (x$runs)"
      else status=1; fi
      ;;
  esac
done
for f in "$work"/measure-*.txt; do
  [ -f "$f" ] && mkdir -p "$CARGO_TARGET_DIR/bench" && cp "$f" "$CARGO_TARGET_DIR/bench/"
done
echo "results in $out (MEASURE lines in $CARGO_TARGET_DIR/bench/)"
exit "$status"
