#!/usr/bin/env bash
# Batching benchmark: the simulated Triton behind the DataPlane daemon, one daemon per batching
# policy (none, fixed, adaptive), each swept with open-loop Poisson load; plus the bare gRPC hop and
# direct inference against the simulator, all in the same run. Writes, under $OUT:
#   results.csv               every step of every run (columns: see DataPlane.Bench.CsvReport)
#   runs.jsonl                the same, one JSON line per bench run
#   latency-vs-throughput.png p50 and p99 latency (log scale) against achieved throughput, per policy
#   summary.md                the three targets, PASS or MISS, with their numbers (also printed)
#   logs/                     output of the simulator, the daemons and the bench runs
#
#   scripts/bench-batching.sh                 # full run
#   scripts/bench-batching.sh --report DIR    # recompute summary.md and the plot from DIR/results.csv
#
# Environment:
#   DATAPLANE      the dataplane binary (default artifacts/publish/dataplane/linux-x64/dataplane; when
#                  it is absent, src/DataPlane.Host is built and run with `dotnet run`)
#   OUT            output directory (default artifacts/bench/batching-<UTC timestamp>)
#   STEP_SECONDS   measured seconds per step (default 5)
#   WARMUP_SECONDS unmeasured load before each step (default 1)
#   RATES          offered rates in req/s, space- or comma-separated (default below); 20 and 50
#                  are always added because targets 1 and 3 are read at those rates
#
# Targets (simulated `simple` model: max_batch_size 32, one instance, 5 ms + 0.2 ms per row, so a
# capacity of about 32 / 11.4 ms = 2800 rows/s; every request is one row):
#   1. at 20 req/s, adaptive p50 <= none p50 + 0.5 ms, and adaptive p50 <= fixed p50;
#   2. the highest offered rate with p99 <= 50 ms and no errors: adaptive >= 0.9 x 2800 and >= fixed;
#   3. pass-through cost at 50 req/s (p50 via the daemon with policy none minus p50 direct to the
#      simulator) <= 1.25 x p50 of a bare ServerLive round trip to the simulator;
#   4. the HTTP/REST front end at 50 req/s: HTTP p50 - gRPC p50 through the same (adaptive) daemon
#      <= 0.3 ms (binary tensors, as tritonclient.http sends them; the two runs back to back).
# The script exits 0 when the run completed, whatever the targets say; it fails (non-zero, with the
# log tail of the culprit) when a process dies or does not become ready.
set -euo pipefail

readonly SLO_MS=50
readonly CAPACITY=2800
readonly POLICIES=(none fixed adaptive)
readonly DEFAULT_RATES="20 50 100 200 400 800 1200 1600 2000 2200 2400 2520 2600 2700 2800 3000"
readonly MODEL=simple
# Per-request deadline: 40 x the SLO. A request this late has failed anyway, and a short deadline
# keeps overloaded steps (and the queues they leave behind) short.
readonly REQUEST_TIMEOUT_MS=2000

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
orig_pwd=$PWD

die() { echo "bench-batching: $*" >&2; exit 1; }

abspath() {
  case "$1" in
    /*) printf '%s\n' "$1" ;;
    *) printf '%s\n' "$orig_pwd/$1" ;;
  esac
}

# --- summary and plot (also reachable on its own with --report DIR) ---------------------------------

# Prints "offered throughput p50 p99" rows of one label's infer steps, sorted by offered rate.
# Our CSV quotes only fields with commas; labels and URLs here have none, so splitting on ',' is safe.
series() {
  awk -F, -v want="$1" '
    NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
    $c["label"] == want && $c["rpc"] == "infer" && $c["p50_ms"] != "" {
      print $c["offered"], $c["throughput_rps"], $c["p50_ms"], $c["p99_ms"]
    }' "$2" | sort -n -k1,1
}

plot() {
  local dir=$1 csv=$1/results.csv terminal plots="" i=0 color
  command -v gnuplot >/dev/null 2>&1 || { echo "bench-batching: gnuplot not found; no plot" >&2; return 0; }
  mkdir -p "$dir/plot"
  if gnuplot -e 'set terminal' 2>&1 | grep -qw pngcairo; then
    terminal="pngcairo size 1200,800 font ',11'"
  else
    terminal="png size 1200,800"
  fi
  for policy in "${POLICIES[@]}"; do
    i=$((i + 1))
    series "$policy" "$csv" >"$dir/plot/$policy.dat"
    [ -s "$dir/plot/$policy.dat" ] || continue
    case $i in 1) color="#1f77b4" ;; 2) color="#ff7f0e" ;; *) color="#2ca02c" ;; esac
    plots+="${plots:+, }'$dir/plot/$policy.dat' using 2:3 with linespoints lw 2 pt 7 ps 0.8 lc rgb '$color' dt 1 title '$policy p50'"
    plots+=", '' using 2:4 with linespoints lw 2 pt 5 ps 0.8 lc rgb '$color' dt 2 title '$policy p99'"
  done
  [ -n "$plots" ] || { echo "bench-batching: no successful steps to plot" >&2; return 0; }
  gnuplot <<GNUPLOT
set terminal $terminal
set output '$dir/latency-vs-throughput.png'
set title "Latency vs achieved throughput: simulated '$MODEL' (capacity about $CAPACITY rows/s), open-loop Poisson"
set xlabel 'achieved throughput (req/s)'
set ylabel 'latency (ms, log scale)'
set logscale y
set grid xtics ytics mytics
set key top left box opaque
set datafile separator whitespace
set arrow from graph 0, first $SLO_MS to graph 1, first $SLO_MS nohead lw 1 dt 3 lc rgb 'red'
set label 'SLO $SLO_MS ms' at graph 0.01, first $SLO_MS offset 0,0.7 tc rgb 'red'
set arrow from first $CAPACITY, graph 0 to first $CAPACITY, graph 1 nohead lw 1 dt 3 lc rgb 'gray40'
plot $plots
GNUPLOT
}

# Writes summary.md from results.csv and prints it.
summarize() {
  local dir=$1
  awk -F, -v slo="$SLO_MS" -v cap="$CAPACITY" -v when="$(date -u '+%Y-%m-%d %H:%M UTC')" \
      -v meta="${SUMMARY_META:-}" '
    function fmt(v) { return v == "" ? "n/a" : sprintf("%.3f", v) }
    function verdict(ok) { return ok ? "**PASS**" : "**MISS**" }
    # p50 (or another column) of label at an offered rate; "" when absent or nothing succeeded.
    function at(arr, label, rate,    key) { key = label SUBSEP (rate + 0); return (key in arr) ? arr[key] : "" }
    NR == 1 {
      for (i = 1; i <= NF; i++) c[$i] = i
      split("label rpc offered ok errors p50_ms p99_ms throughput_rps slo_attainment_pct", need, " ")
      for (i in need) if (!(need[i] in c)) { print "results.csv has no column " need[i] > "/dev/stderr"; bad = 1; exit 1 }
      next
    }
    {
      label = $c["label"]; off = $c["offered"] + 0; k = label SUBSEP off
      if (!(label in nrates)) { nrates[label] = 0; labels[++nlabels] = label }
      if (!(k in seen)) { seen[k] = 1; rates[label, ++nrates[label]] = off }
      rpc[k] = $c["rpc"]; p50[k] = $c["p50_ms"]; p99[k] = $c["p99_ms"]
      if ("late_sends" in c) { late += $c["late_sends"]; sent += $c["sent"] }
      if ("max_send_lag_ms" in c && $c["max_send_lag_ms"] + 0 > maxlag) maxlag = $c["max_send_lag_ms"] + 0
      errs[k] = $c["errors"] + 0; thr[k] = $c["throughput_rps"]; slo_pct[k] = $c["slo_attainment_pct"]
      if (!(off in allrate)) { allrate[off] = 1; all[++nall] = off }
    }
    END {
      if (bad) exit 1
      np = split("none fixed adaptive", pol, " ")
      # Sort rates ascending (insertion sort: mawk has no asort).
      for (i = 2; i <= nall; i++) { v = all[i]; for (j = i - 1; j >= 1 && all[j] > v; j--) all[j + 1] = all[j]; all[j + 1] = v }

      print "# Batching benchmark"
      print ""
      print "Run " when ". Simulated `simple` model (max_batch_size 32, one instance, 5 ms + 0.2 ms/row: capacity about " cap " rows/s), open-loop Poisson load, SLO " slo " ms." (meta == "" ? "" : " " meta)
      print ""
      print "## Latency by offered rate (ms, p50 / p99; achieved req/s; errors)"
      print ""
      header = "| offered req/s |"; rule = "|---:|"
      for (p = 1; p <= np; p++) { header = header " " pol[p] " |"; rule = rule "---|" }
      print header; print rule
      for (i = 1; i <= nall; i++) {
        r = all[i]; line = "| " r " |"; any = 0
        for (p = 1; p <= np; p++) {
          k = pol[p] SUBSEP r
          if (k in seen && rpc[k] == "infer") {
            any = 1
            line = line " " fmt(p50[k]) " / " fmt(p99[k]) "; " sprintf("%.0f", thr[k]) "; " errs[k] " |"
          } else line = line " |"
        }
        if (any) print line
      }
      print ""

      # Target 1: low-load latency.
      a = at(p50, "adaptive", 20); n = at(p50, "none", 20); f = at(p50, "fixed", 20)
      ok1 = (a != "" && n != "" && f != "" && a + 0 <= n + 0.5 && a + 0 <= f + 0)
      print "## Targets"
      print ""
      printf "1. Low load (20 req/s): adaptive p50 %s ms vs none p50 %s ms (limit none + 0.5 = %s ms) and fixed p50 %s ms: %s\n", \
        fmt(a), fmt(n), (n == "" ? "n/a" : sprintf("%.3f", n + 0.5)), fmt(f), verdict(ok1)

      # Target 2: highest offered rate with p99 <= SLO and no errors, per policy.
      for (p = 1; p <= np; p++) {
        label = pol[p]; best[label] = ""; dip[label] = ""
        m = nrates[label] + 0
        for (i = 1; i <= m; i++) {
          r = rates[label, i]; k = label SUBSEP r
          if (rpc[k] != "infer") continue
          good = (p99[k] != "" && p99[k] + 0 <= slo && errs[k] == 0)
          if (good && (best[label] == "" || r > best[label])) best[label] = r
        }
        # A failing step below the best one means the sweep was noisy; say so.
        for (i = 1; i <= m; i++) {
          r = rates[label, i]; k = label SUBSEP r
          if (rpc[k] == "infer" && best[label] != "" && r < best[label] && !(p99[k] != "" && p99[k] + 0 <= slo && errs[k] == 0)) dip[label] = dip[label] " " r
        }
      }
      goal = 0.9 * cap
      ok2 = (best["adaptive"] != "" && best["adaptive"] >= goal && (best["fixed"] == "" || best["adaptive"] >= best["fixed"]))
      printf "2. Highest offered rate with p99 <= %s ms and no errors: none %s, fixed %s, adaptive %s req/s; adaptive must reach 0.9 x %s = %s and fixed'\''s: %s\n", \
        slo, (best["none"] == "" ? "n/a" : best["none"]), (best["fixed"] == "" ? "n/a" : best["fixed"]), \
        (best["adaptive"] == "" ? "n/a" : best["adaptive"]), cap, goal, verdict(ok2)
      for (p = 1; p <= np; p++) if (dip[pol[p]] != "") printf "   - note: %s missed the objective at%s req/s, below its best rate (noisy run?)\n", pol[p], dip[pol[p]]

      # Target 3: pass-through cost of the daemon.
      via = at(p50, "none", 50); direct = at(p50, "direct", 50); hop = ""
      for (k in seen) { split(k, parts, SUBSEP); if (parts[1] == "bare-hop" && rpc[k] == "live") hop = p50[k] }
      ok3 = 0; cost = ""
      if (via != "" && direct != "" && hop != "") { cost = via - direct; ok3 = (cost <= 1.25 * hop) }
      printf "3. Pass-through cost at 50 req/s: none p50 %s ms - direct p50 %s ms = %s ms vs 1.25 x bare hop p50 %s ms = %s ms: %s\n", \
        fmt(via), fmt(direct), fmt(cost), fmt(hop), (hop == "" ? "n/a" : sprintf("%.3f", 1.25 * hop)), verdict(ok3)

      # Target 4: the cost of the HTTP front end over gRPC.
      hg = at(p50, "adaptive-grpc", 50); hh = at(p50, "adaptive-http", 50); dh = ""
      ok4 = 0
      if (hg != "" && hh != "") { dh = hh - hg; ok4 = (dh <= 0.3) }
      printf "4. HTTP front end at 50 req/s (adaptive): HTTP p50 %s ms - gRPC p50 %s ms = %s ms vs 0.3 ms: %s\n", \
        fmt(hh), fmt(hg), fmt(dh), verdict(ok4)
      print ""
      printf "Load generator: %d of %d measured sends left more than 1 ms behind schedule (largest lag %.3f ms); their latency counts from the schedule, so a high share means the client, not the server, limited the run.\n", late, sent, maxlag
      print ""
      print "Rows: `results.csv`; plot: `latency-vs-throughput.png`."
    }' "$dir/results.csv" >"$dir/summary.md"
  cat "$dir/summary.md"
}

report() {
  local dir=$1
  [ -s "$dir/results.csv" ] || die "$dir/results.csv is missing or empty"
  command -v gnuplot >/dev/null 2>&1 || "$repo_root/scripts/bootstrap.sh" --bench
  summarize "$dir"
  plot "$dir"
  [ ! -f "$dir/latency-vs-throughput.png" ] || echo "bench-batching: plot in $dir/latency-vs-throughput.png"
}

if [ "${1:-}" = "--report" ]; then
  [ $# -eq 2 ] || die "usage: $0 --report DIR"
  report "$(abspath "$2")"
  exit 0
fi
[ $# -eq 0 ] || die "unknown argument '$1' (usage: $0 [--report DIR])"

# --- the run -------------------------------------------------------------------------------------

dataplane_given=${DATAPLANE:+yes}
DATAPLANE=$(abspath "${DATAPLANE:-$repo_root/artifacts/publish/dataplane/linux-x64/dataplane}")
OUT=$(abspath "${OUT:-$repo_root/artifacts/bench/batching-$(date -u +%Y%m%dT%H%M%SZ)}")
STEP_SECONDS=${STEP_SECONDS:-5}
WARMUP_SECONDS=${WARMUP_SECONDS:-1}
read -ra wanted_rates <<<"${RATES:-$DEFAULT_RATES}"
rates=$(printf '%s\n' 20 50 "${wanted_rates[@]}" | tr ',' '\n' | grep -v '^$' | sort -n -u | paste -sd, -)
for r in ${rates//,/ }; do
  if [[ ! $r =~ ^[0-9]+([.][0-9]+)?$ ]] || [[ $r =~ ^0+([.]0+)?$ ]]; then
    die "RATES: '$r' is not a positive number"
  fi
done
[[ $STEP_SECONDS =~ ^[0-9]+([.][0-9]+)?$ ]] || die "STEP_SECONDS: '$STEP_SECONDS' is not a number"
[[ $WARMUP_SECONDS =~ ^[0-9]+([.][0-9]+)?$ ]] || die "WARMUP_SECONDS: '$WARMUP_SECONDS' is not a number"
cd "$repo_root"

"$repo_root/scripts/bootstrap.sh" --bench
command -v curl >/dev/null 2>&1 || die "curl is required"

BENCH_NAME=bench-batching
# shellcheck source=scripts/lib/processes.sh
. "$repo_root/scripts/lib/processes.sh"
resolve_executable dataplane DATAPLANE "$DATAPLANE" "$dataplane_given" src/DataPlane.Host

mkdir -p "$OUT/logs"
rm -f "$OUT/results.csv" "$OUT/runs.jsonl" "$OUT/summary.md" "$OUT/latency-vs-throughput.png"

# Child processes, readiness checks and free ports (shared with the other benchmark script).

sim_port="" grpc_port="" http_port="" admin_port=""

# bench NAME ARGS...: runs `dataplane bench`, appending to results.csv and runs.jsonl.
bench() {
  local name=$1
  shift
  echo
  echo "== $name"
  if ! "${dataplane[@]}" bench --model "$MODEL" --duration "$STEP_SECONDS" --warmup "$WARMUP_SECONDS" --slo-ms "$SLO_MS" \
      --timeout-ms "$REQUEST_TIMEOUT_MS" --csv "$OUT/results.csv" --json "$OUT/runs.jsonl" "$@" 2>&1 | tee "$OUT/logs/bench-$name.log"; then
    fail_with_log "dataplane bench ($name) failed" "$OUT/logs/bench-$name.log"
  fi
  # Without the model's metadata the bench sends empty requests: the step would measure errors only.
  if grep -q "could not read the metadata" "$OUT/logs/bench-$name.log"; then
    fail_with_log "dataplane bench ($name) could not read the metadata of '$MODEL'" "$OUT/logs/bench-$name.log"
  fi
}

echo "bench-batching: output in $OUT; ${STEP_SECONDS}s per step; rates $rates"

free_port sim_port
start "$OUT/logs/sim.log" "${dataplane[@]}" sim --listen "127.0.0.1:$sim_port"
sim_pid=$started
wait_ready "the simulator" "$sim_pid" "$OUT/logs/sim.log" 120 port_open "$sim_port"
sim_url="http://127.0.0.1:$sim_port"

# Direct to the simulator: the bare gRPC hop and inference without the daemon.
bench bare-hop --target "$sim_url" --rpc live --rate 50 --label bare-hop
require_alive "the simulator" "$sim_pid" "$OUT/logs/sim.log"
bench direct --target "$sim_url" --rpc infer --rate 50 --label direct
require_alive "the simulator" "$sim_pid" "$OUT/logs/sim.log"

for policy in "${POLICIES[@]}"; do
  free_port grpc_port
  free_port http_port
  free_port admin_port
  extra=()
  [ "$policy" != fixed ] || extra=(--max-queue-delay-ms 5)
  log="$OUT/logs/daemon-$policy.log"
  start "$log" "${dataplane[@]}" serve --upstream "$sim_url" --grpc "127.0.0.1:$grpc_port" --http "127.0.0.1:$http_port" \
    --admin "127.0.0.1:$admin_port" --policy "$policy" "${extra[@]}"
  daemon_pid=$started
  wait_ready "the daemon ($policy)" "$daemon_pid" "$log" 120 curl -sf "http://127.0.0.1:$admin_port/readyz"
  bench "$policy" --target "http://127.0.0.1:$grpc_port" --mode poisson --sweep "$rates" --label "$policy"
  require_alive "the daemon ($policy)" "$daemon_pid" "$log"
  if [ "$policy" = adaptive ]; then
    # The HTTP front end against gRPC on the same daemon, back to back, at a light load.
    bench "$policy-grpc-50" --target "http://127.0.0.1:$grpc_port" --mode poisson --rate 50 --label adaptive-grpc
    bench "$policy-http-50" --target "http://127.0.0.1:$http_port" --protocol http --mode poisson --rate 50 --label adaptive-http
    require_alive "the daemon ($policy)" "$daemon_pid" "$log"
  fi
  require_alive "the simulator" "$sim_pid" "$OUT/logs/sim.log"
  stop "$daemon_pid"
done

stop "$sim_pid"
echo
SUMMARY_META="${STEP_SECONDS} s per step after ${WARMUP_SECONDS} s warm-up; $(nproc) CPUs; binary: ${dataplane[*]}." report "$OUT"
