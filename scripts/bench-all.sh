#!/usr/bin/env bash
# Every benchmark in one command, and docs/BENCHMARKS.md regenerated from what they measured:
#   batching   scripts/bench-batching.sh   policies none / fixed / adaptive in front of the simulated Triton
#   agent      scripts/bench-agent.sh      the hybrid path through dataplane-agent
#   pool       scripts/bench-pool.sh       load-aware balancing over three daemons, one made slow
#   overload   scripts/bench-overload.sh   deadline-aware admission at 10x capacity
#   transfer   dataplane xfer-bench        the transfer engine over TCP on loopback, mutual TLS and clear
# The NativeAOT binaries that ship are used (published first when missing or older than the sources).
# Writes, under $OUT (default artifacts/bench/all-<UTC timestamp>): one directory per benchmark with its
# own results and logs, and machine.txt. Then docs/BENCHMARKS.md is rewritten: the machine, the commit
# and the load average around each benchmark, the summary each benchmark printed, its rows copied to
# docs/bench/<name>.csv and its plots to docs/img/bench-<name>.png. The hand-written history of earlier
# runs stays in docs/BENCHMARK-HISTORY.md.
#
#   scripts/bench-all.sh                     # everything, about 25 minutes on two cores
#   ONLY="batching agent" scripts/bench-all.sh   # some of them (the others then show as not run)
#   scripts/bench-all.sh --report DIR        # rewrite docs/BENCHMARKS.md from an earlier run's DIR
#
# Run it on an otherwise idle machine: the figures are only as quiet as the machine was, and the load
# average recorded next to each benchmark says how quiet that was.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
orig_pwd=$PWD
readonly ALL="batching agent pool overload transfer"

die() { echo "bench-all: $*" >&2; exit 1; }
abspath() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$orig_pwd/$1" ;; esac; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# --- the document ----------------------------------------------------------------------------------

# Lowers every markdown heading of stdin by one level, so a benchmark's summary nests under its section, and
# writes paths inside the repository relative to it (the document names no machine's directories).
demote() { sed -E -e 's/^(#+) /\1# /' -e "s|$repo_root/||g"; }

# section NAME TITLE DIR: one benchmark's part of the document, from DIR (empty when it did not run).
section() {
  local name=$1 title=$2 dir=$3
  echo "## $title"
  echo
  if [ ! -s "$dir/loadavg.txt" ]; then
    echo "Not run in this regeneration (see the commit history of this file for its last figures)."
    echo
    return
  fi
  echo "Load average before / after: $(cat "$dir/loadavg.txt")."
  echo
  [ ! -s "$dir/failed.txt" ] || { cat "$dir/failed.txt"; echo; }
  if [ -s "$dir/summary.md" ] && [ ! -s "$dir/failed.txt" ]; then
    grep -v '^# ' "$dir/summary.md" | demote
  else
    # A benchmark without a summary of its own: what it printed.
    echo '```'
    tail -n 40 "$dir/output.log" | sed "s|$repo_root/||g"
    echo '```'
  fi
  echo
  local csv
  for csv in "$dir"/results.csv; do
    [ -s "$csv" ] || continue
    mkdir -p "$repo_root/docs/bench"
    cp "$csv" "$repo_root/docs/bench/$name.csv"
    echo "Rows: [bench/$name.csv](bench/$name.csv)."
    echo
  done
  local png i=0
  for png in "$dir"/*.png; do
    [ -s "$png" ] || continue
    i=$((i + 1))
    local target="bench-$name$([ $i -eq 1 ] || echo "-$i").png"
    cp "$png" "$repo_root/docs/img/$target"
    echo "![$title](img/$target)"
    echo
  done
}

# pick SED-SCRIPT FILE: the first line sed prints for FILE; empty when the file is missing or nothing matches.
pick() { { sed -n "$1" "$2" 2>/dev/null || true; } | head -1; }

# starting_points DIR: issue 13's independent measurements next to this run's.
starting_points() {
  local dir=$1 b=$1/batching/summary.md a=$1/agent/summary.md
  local tax cap pass cpu alloc rss over dec
  tax=$(pick 's/.*median adaptive - none p50 \([-+0-9.]*\) ms.*/\1 ms/p' "$b")
  cap=$(pick 's/.*adaptive \([0-9.]*\) req\/s; adaptive must reach.*/\1/p' "$b")
  [ -z "$cap" ] || cap="$(awk -v r="$cap" 'BEGIN { printf "%.2f (%s req/s)", r / 2800, r }')"
  pass=$(pick 's/.*(ratio \([-0-9.]*\)).*/\1/p' "$b")
  cpu=$(pick 's/^5\. .*: CPU \([0-9.]*\) us and [0-9.]* allocated.*/\1/p' "$b")
  alloc=$(pick 's/^5\. .*: CPU [0-9.]* us and \([0-9.]*\) allocated.*/\1/p' "$b")
  rss=$(pick 's/^| adaptive | \([0-9.]*\) |.*/\1/p' "$b")
  over=$(pick 's/^1\. Agent overhead.* = \([0-9.]* ms\).*/\1/p' "$a")
  dec=$(pick 's/^2\. Routing decision time: mean \([0-9.]* us\), p99 \([0-9.]* us\).*/\1 mean, \2 p99/p' "$a")
  cpu=${cpu:+$cpu µs} alloc=${alloc:+$alloc B} rss=${rss:+$rss MiB}
  cat <<EOF
## Against the starting points

The figures measured independently before the performance work (h2load at a constant rate against the
NativeAOT daemon, quiet 2-core machine) and the targets, next to this run:

| Figure | Starting point | Target | This run |
|---|---|---|---|
| Batching tax at 20 req/s (adaptive p50 − none p50) | +0.19 ms | ≤ 0.1 ms | ${tax:-n/a} |
| Highest rate with p99 ≤ 50 ms ÷ capacity (2800/s), Poisson | 0.96 (own load tool) | ≥ 0.98 | ${cap:-n/a} |
| Pass-through: (none p50 − direct p50) ÷ bare hop p50 | 1.53 (h2load), 1.16 (own tool) | ≤ 1.0 | ${pass:-n/a} |
| Daemon CPU per request at 1000 req/s (adaptive) | 214 µs | ≤ 60 µs | ${cpu:-n/a} |
| Daemon managed allocations per request at 1000 req/s | not measured | ≤ 2 KB (tensors aside) | ${alloc:-n/a} |
| Daemon resident memory idle | 38 MiB | ≤ 30 MiB | ${rss:-n/a} |
| Agent overhead over the local runtime, p50 | 0.54 ms (AOT) | ≤ 0.2 ms | ${over:-n/a} |
| Agent decision time | 14.8 µs mean | ≤ 5 µs mean, ≤ 10 µs p99 | ${dec:-n/a} |

EOF
}

# document DIR: rewrites docs/BENCHMARKS.md from the run in DIR.
document() {
  local dir=$1 doc=$repo_root/docs/BENCHMARKS.md
  mkdir -p "$repo_root/docs/img"
  {
    echo "# Benchmarks"
    echo
    echo "Generated by \`scripts/bench-all.sh\` (do not edit by hand; the history of earlier runs, with their"
    echo "analyses, is in [BENCHMARK-HISTORY.md](BENCHMARK-HISTORY.md)). Every figure below comes from the run"
    echo "described here and can be reproduced with the same command on the same kind of machine."
    echo
    sed -e 's/^/    /' "$dir/machine.txt"
    echo
    starting_points "$dir"
    section batching "Batching: \`scripts/bench-batching.sh\`" "$dir/batching"
    section agent "Agent: \`scripts/bench-agent.sh\`" "$dir/agent"
    section pool "GPU pool balancing: \`scripts/bench-pool.sh\`" "$dir/pool"
    section overload "Overload: \`scripts/bench-overload.sh\`" "$dir/overload"
    section transfer "Transfer engine: \`dataplane xfer-bench\`" "$dir/transfer"
  } >"$doc.tmp"
  mv "$doc.tmp" "$doc"
  echo "bench-all: wrote docs/BENCHMARKS.md"
}

if [ "${1:-}" = "--report" ]; then
  [ $# -eq 2 ] || die "usage: $0 --report DIR"
  document "$(abspath "$2")"
  exit 0
fi
[ $# -eq 0 ] || die "unknown argument '$1' (usage: $0 [--report DIR])"

# --- the run -------------------------------------------------------------------------------------------

OUT=$(abspath "${OUT:-$repo_root/artifacts/bench/all-$(date -u +%Y%m%dT%H%M%SZ)}")
read -ra only <<<"${ONLY:-$ALL}"
for name in "${only[@]}"; do
  case " $ALL " in *" $name "*) ;; *) die "ONLY: '$name' is not one of: $ALL" ;; esac
done
cd "$repo_root"
mkdir -p "$OUT"

# The binaries that ship, published when missing or older than the sources.
# shellcheck source=scripts/lib/published.sh
. scripts/lib/published.sh
dataplane=$(published_binary dataplane linux-x64)
agent=$(published_binary dataplane-agent linux-x64)

{
  echo "date:     $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "commit:   $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
  echo "cpu:      $(nproc) x $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
  echo "memory:   $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
  echo "kernel:   $(uname -sr)"
  echo "os:       $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")"
  echo "binaries: dataplane $(stat -c %s "$dataplane") B, dataplane-agent $(stat -c %s "$agent") B (NativeAOT, linux-x64)"
  echo "load:     $(loadavg) at the start"
} >"$OUT/machine.txt"
cat "$OUT/machine.txt"

# run NAME COMMAND...: one benchmark into $OUT/NAME, with the load average around it.
run() {
  local name=$1
  shift
  mkdir -p "$OUT/$name"
  echo
  echo "===== $name"
  local before
  before=$(loadavg)
  local rc=0
  "$@" 2>&1 | tee "$OUT/$name/output.log" || rc=$?
  echo "$before / $(loadavg)" >"$OUT/$name/loadavg.txt"
  if [ $rc -ne 0 ]; then
    echo "bench-all: $name failed; its output is under $OUT/$name" >&2
    echo "**This benchmark failed (exit status $rc); what it printed last is below.**" >"$OUT/$name/failed.txt"
    return 1
  fi
}

# transfer: xfer-bench server and client over loopback, with mutual TLS and with --encryption none.
transfer() {
  local dir=$OUT/transfer pki=$OUT/transfer/pki port
  rm -rf "$pki"
  bash scripts/pki.sh init "$pki" >/dev/null
  bash scripts/pki.sh issue-server "$pki" gpu-a.test >/dev/null
  bash scripts/pki.sh issue-server "$pki" gpu-b.test >/dev/null
  {
    echo "# Transfer engine"
    echo
    echo "TCP transport on loopback, window 16, both processes on this machine (CPU-bound figures; RDMA needs hardware"
    echo "this machine lacks). Host certificates from \`scripts/pki.sh\`."
    echo
  } >"$dir/summary.md"
  for mode in tls none; do
    port=$(( 18600 + RANDOM % 1000 ))
    "$dataplane" xfer-bench --server --once --listen "127.0.0.1:$port" --transport tcp --region 64M \
      --cert "$pki/hosts/gpu-a.test.pem" --key "$pki/hosts/gpu-a.test.key" --ca "$pki/ca.pem" --encryption "$mode" \
      >"$dir/server-$mode.log" 2>&1 &
    local server=$!
    local i
    for i in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
    "$dataplane" xfer-bench --connect "gpu-a.test@127.0.0.1:$port" --transport tcp --sizes 4K,64K,1M,64M --lat-sizes 8,4K \
      --cert "$pki/hosts/gpu-b.test.pem" --key "$pki/hosts/gpu-b.test.key" --ca "$pki/ca.pem" --encryption "$mode" \
      --json "$dir/client-$mode.json" | tee "$dir/client-$mode.log"
    wait "$server" || true
    {
      echo "## \`--encryption $mode\`"
      echo
      echo '```'
      cat "$dir/client-$mode.log"
      echo '```'
      echo
    } >>"$dir/summary.md"
  done
}

failed=""
for name in "${only[@]}"; do
  case $name in
    batching) run batching env DATAPLANE="$dataplane" OUT="$OUT/batching" bash scripts/bench-batching.sh || failed+=" batching" ;;
    agent) run agent env DATAPLANE="$dataplane" DATAPLANE_AGENT="$agent" OUT="$OUT/agent" bash scripts/bench-agent.sh || failed+=" agent" ;;
    pool) run pool env DATAPLANE="$dataplane" DATAPLANE_AGENT="$agent" OUT="$OUT/pool" bash scripts/bench-pool.sh || failed+=" pool" ;;
    overload) run overload env DATAPLANE="$dataplane" OUT="$OUT/overload" bash scripts/bench-overload.sh || failed+=" overload" ;;
    transfer) run transfer transfer || failed+=" transfer" ;;
  esac
done

echo "load:     $(loadavg) at the end" >>"$OUT/machine.txt"
document "$OUT"
[ -z "$failed" ] || die "failed:$failed (their sections show what they printed)"
