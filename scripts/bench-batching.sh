#!/usr/bin/env bash
# Batching benchmark: the simulated Triton behind the DataPlane daemon, one daemon per batching
# policy (none, fixed, adaptive), each swept with open-loop Poisson load; plus the bare gRPC hop and
# direct inference against the simulator, all in the same run. Writes, under $OUT:
#   results.csv               every step of every run (columns: see DataPlane.Bench.CsvReport)
#   runs.jsonl                the same, one JSON line per bench run
#   latency-vs-throughput.png p50 and p99 latency (log scale) against achieved throughput, per policy
#   memory.csv                each daemon's resident memory, idle after start and after its sweep
#   summary.md                the five targets, PASS or MISS, with their numbers, the daemon's CPU and
#                             allocations per request, its memory (also printed)
#   reference.csv             for scale, the simulator's CPU per gRPC call that does nothing (ServerLive, 1000 req/s)
#   stages.csv                where a request's time goes in the `none` daemon at 50 req/s: mean per stage of
#                             dataplane_request_stage_seconds (decode, dispatch, validate, queue, upstream,
#                             reply), from its /metrics before and after a step of its own (in summary.md too)
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
#   RATES          offered rates in req/s of the sweeps, space- or comma-separated (default below)
#   LOW_ROUNDS     rounds of the low-load point (default 5)
#   LOW_SECONDS    measured seconds of each step in each low-load round (default 8): 5 x 8 s at
#                  20 req/s is about 800 requests per step, so the 0.1 ms target and the pass-through
#                  ratio are decided from enough samples; the three policies, inference straight to the
#                  simulator and its bare ServerLive hop take turns within each round, so drift hits all five
#
# Targets (simulated `simple` model: max_batch_size 32, one instance, 5 ms + 0.2 ms per row, so a
# capacity of about 32 / 11.4 ms = 2800 rows/s; every request is one row):
#   1. the batching tax at 20 req/s: median over the low-load rounds of (adaptive p50 - none p50)
#      <= 0.1 ms, and adaptive p50 <= fixed p50 (medians); the spread across rounds is reported;
#   2. the highest offered rate with p99 <= 50 ms and no errors: adaptive >= 0.98 x 2800 and >= fixed;
#   3. pass-through cost at 20 req/s, over the low-load rounds: median of (p50 via the daemon with
#      policy none - p50 direct to the simulator) <= 1.0 x the median p50 of a bare ServerLive round
#      trip to the simulator; the spread across rounds is reported;
#   4. the HTTP/REST front end at 50 req/s: HTTP p50 - gRPC p50 through the same (adaptive) daemon
#      <= 0.3 ms (binary tensors, as tritonclient.http sends them; the two runs back to back);
#   5. the daemon's cost at 1000 req/s (adaptive): CPU <= 60 us and managed allocations <= 2 KB per
#      request (read from its /metrics: process_cpu_seconds_total and
#      dotnet_gc_heap_total_allocated_bytes_total), reported for every policy and rate.
# The script exits 0 when the run completed, whatever the targets say; it fails (non-zero, with the
# log tail of the culprit) when a process dies or does not become ready.
set -euo pipefail

readonly SLO_MS=50
readonly CAPACITY=2800
readonly POLICIES=(none fixed adaptive)
readonly DEFAULT_RATES="20 50 100 200 400 800 1000 1200 1600 2000 2200 2400 2520 2600 2700 2750 2800 3000"
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
      hascost = ("server_cpu_us_per_req" in c) && ("server_alloc_bytes_per_req" in c)
      for (i in need) if (!(need[i] in c)) { print "results.csv has no column " need[i] > "/dev/stderr"; bad = 1; exit 1 }
      next
    }
    # The low-load rounds: labels low-<policy>, low-direct and low-hop, one row per round, in order.
    $c["label"] ~ /^low-/ {
      pl = substr($c["label"], 5); lown[pl]++
      lowp50[pl, lown[pl]] = $c["p50_ms"]; lowok[pl] += $c["ok"]; lowerr[pl] += $c["errors"]
      next
    }
    {
      label = $c["label"]; off = $c["offered"] + 0; k = label SUBSEP off
      if (hascost) { cpu[k] = $c["server_cpu_us_per_req"]; alloc[k] = $c["server_alloc_bytes_per_req"] }
      if (!(label in nrates)) { nrates[label] = 0; labels[++nlabels] = label }
      if (!(k in seen)) { seen[k] = 1; rates[label, ++nrates[label]] = off }
      rpc[k] = $c["rpc"]; p50[k] = $c["p50_ms"]; p99[k] = $c["p99_ms"]
      if ("late_sends" in c) { late += $c["late_sends"]; sent += $c["sent"] }
      if ("max_send_lag_ms" in c && $c["max_send_lag_ms"] + 0 > maxlag) maxlag = $c["max_send_lag_ms"] + 0
      errs[k] = $c["errors"] + 0; thr[k] = $c["throughput_rps"]; slo_pct[k] = $c["slo_attainment_pct"]
      if (!(off in allrate)) { allrate[off] = 1; all[++nall] = off }
    }
    # Median of the n values v[1..n] (sorted in place).
    function median(v, n,    i, j, x) {
      for (i = 2; i <= n; i++) { x = v[i]; for (j = i - 1; j >= 1 && v[j] > x; j--) v[j + 1] = v[j]; v[j + 1] = x }
      return n == 0 ? "" : (n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2)
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

      # Target 1: the batching tax at low load, over the rounds.
      rounds = lown["none"] + 0
      if (lown["adaptive"] + 0 < rounds) rounds = lown["adaptive"] + 0
      if (lown["fixed"] + 0 < rounds) rounds = lown["fixed"] + 0
      nt = 0; nf = 0; tmin = ""; tmax = ""; spread = ""
      for (i = 1; i <= rounds; i++) {
        a = lowp50["adaptive", i]; n = lowp50["none", i]; f = lowp50["fixed", i]
        if (a == "" || n == "" || f == "") continue
        tax[++nt] = a - n; vsfixed[++nf] = a - f
        spread = spread (spread == "" ? "" : ", ") sprintf("%+.3f", a - n)
        if (tmin == "" || a - n < tmin) tmin = a - n
        if (tmax == "" || a - n > tmax) tmax = a - n
      }
      mt = median(tax, nt); mf = median(vsfixed, nf)
      ok1 = (nt > 0 && nt == rounds && lowerr["adaptive"] + lowerr["none"] + lowerr["fixed"] == 0 && mt <= 0.1 && mf <= 0)
      print "## Targets"
      print ""
      printf "1. Batching tax at 20 req/s over %d rounds (%d / %d / %d requests for none / fixed / adaptive): median adaptive - none p50 %s ms (rounds %s; range %s .. %s) vs 0.1 ms, median adaptive - fixed p50 %s ms vs 0: %s\n", \
        rounds, lowok["none"], lowok["fixed"], lowok["adaptive"], (mt == "" ? "n/a" : sprintf("%+.3f", mt)), (spread == "" ? "none" : spread), \
        (tmin == "" ? "n/a" : sprintf("%+.3f", tmin)), (tmax == "" ? "n/a" : sprintf("%+.3f", tmax)), (mf == "" ? "n/a" : sprintf("%+.3f", mf)), verdict(ok1)

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
      goal = 0.98 * cap
      ok2 = (best["adaptive"] != "" && best["adaptive"] >= goal && (best["fixed"] == "" || best["adaptive"] >= best["fixed"]))
      printf "2. Highest offered rate with p99 <= %s ms and no errors: none %s, fixed %s, adaptive %s req/s; adaptive must reach 0.98 x %s = %s and fixed'\''s: %s\n", \
        slo, (best["none"] == "" ? "n/a" : best["none"]), (best["fixed"] == "" ? "n/a" : best["fixed"]), \
        (best["adaptive"] == "" ? "n/a" : best["adaptive"]), cap, goal, verdict(ok2)
      for (p = 1; p <= np; p++) if (dip[pol[p]] != "") printf "   - note: %s missed the objective at%s req/s, below its best rate (noisy run?)\n", pol[p], dip[pol[p]]

      # Target 3: pass-through cost of the daemon, over the same rounds.
      np3 = 0; nh = 0; cmin = ""; cmax = ""; cspread = ""
      for (i = 1; i <= lown["none"] + 0; i++) {
        n = lowp50["none", i]; d = lowp50["direct", i]; h = lowp50["hop", i]
        if (h != "") hops[++nh] = h
        if (n == "" || d == "") continue
        passc[++np3] = n - d; dirs[np3] = d; vias[np3] = n
        cspread = cspread (cspread == "" ? "" : ", ") sprintf("%+.3f", n - d)
        if (cmin == "" || n - d < cmin) cmin = n - d
        if (cmax == "" || n - d > cmax) cmax = n - d
      }
      cost = median(passc, np3); hop = median(hops, nh); via = median(vias, np3); direct = median(dirs, np3)
      ok3 = (cost != "" && hop != "" && lowerr["direct"] + lowerr["hop"] + lowerr["none"] == 0 && cost <= hop)
      printf "3. Pass-through cost at 20 req/s over %d rounds (%d / %d / %d requests via none / direct / bare hop): median none - direct p50 %s ms (rounds %s; range %s .. %s; medians %s and %s ms) vs median bare hop p50 %s ms (ratio %s): %s\n", \
        np3, lowok["none"], lowok["direct"], lowok["hop"], (cost == "" ? "n/a" : sprintf("%.3f", cost)), (cspread == "" ? "none" : cspread), \
        fmt(cmin), fmt(cmax), fmt(via), fmt(direct), fmt(hop), (hop == "" || hop == 0 || cost == "" ? "n/a" : sprintf("%.2f", cost / hop)), verdict(ok3)

      # Target 4: the cost of the HTTP front end over gRPC.
      hg = at(p50, "adaptive-grpc", 50); hh = at(p50, "adaptive-http", 50); dh = ""
      ok4 = 0
      if (hg != "" && hh != "") { dh = hh - hg; ok4 = (dh <= 0.3) }
      printf "4. HTTP front end at 50 req/s (adaptive): HTTP p50 %s ms - gRPC p50 %s ms = %s ms vs 0.3 ms: %s\n", \
        fmt(hh), fmt(hg), fmt(dh), verdict(ok4)

      # Target 5: what a request costs the daemon at 1000 req/s.
      kc = "adaptive" SUBSEP 1000
      ok5 = (hascost && (kc in cpu) && cpu[kc] != "" && alloc[kc] != "" && cpu[kc] + 0 <= 60 && alloc[kc] + 0 <= 2048)
      printf "5. Daemon cost at 1000 req/s (adaptive): CPU %s us and %s allocated bytes per request vs 60 us and 2048 B: %s\n", \
        (kc in cpu && cpu[kc] != "" ? cpu[kc] : "n/a"), (kc in alloc && alloc[kc] != "" ? alloc[kc] : "n/a"), verdict(ok5)
      print ""
      if (hascost) {
        print "## Daemon cost per request (CPU us; managed bytes allocated, tensors included)"
        print ""
        print header; print rule
        for (i = 1; i <= nall; i++) {
          r = all[i]; line = "| " r " |"; any = 0
          for (p = 1; p <= np; p++) {
            k = pol[p] SUBSEP r
            if (k in cpu && cpu[k] != "") { any = 1; line = line " " cpu[k] "; " alloc[k] " |" } else line = line " |"
          }
          if (any) print line
        }
        print ""
      }
      printf "Load generator: %d of %d measured sends left more than 1 ms behind schedule (largest lag %.3f ms); their latency counts from the schedule, so a high share means the client, not the server, limited the run.\n", late, sent, maxlag
      print ""
      print "Rows: `results.csv`; plot: `latency-vs-throughput.png`."
    }' "$dir/results.csv" >"$dir/summary.md"
  if [ -s "$dir/stages.csv" ]; then
    {
      echo "## Where the time goes (policy none, 50 req/s; mean us per successful request)"
      echo ""
      echo "| stage | mean (us) | requests |"
      echo "|---|---|---|"
      awk -F, 'NR > 1 { printf "| %s | %s | %s |\n", $1, $2, $3 }' "$dir/stages.csv"
      echo ""
      echo "decode: reading the gRPC message (one copy, the parse); dispatch: parsed message to the handler; validate: validation and admission; queue: admitted to the batch leaving; upstream: the batch leaving to the upstream's answer (Triton included); reply: the answer to the handler returning it. Kestrel's HTTP/2 work before a message is complete and writing the answer are in no stage."
    } >>"$dir/summary.md"
  fi
  if [ -s "$dir/reference.csv" ]; then
    {
      echo
      awk -F, 'NR > 1 { printf "For scale (target 5): the simulator, on the same Kestrel and Grpc.AspNetCore server stack as the daemon, spent %s CPU us per call answering %s ServerLive calls at %s req/s, calls that do no work at all (its /proc ticks around a step of its own).\n", $3, $2, $1 }' "$dir/reference.csv"
    } >>"$dir/summary.md"
  fi
  if [ -s "$dir/memory.csv" ]; then
    {
      echo
      echo "## Daemon resident memory (MiB): idle after start / after its sweep"
      echo
      echo "| policy | idle | after sweep |"
      echo "|---|---:|---:|"
      awk -F, 'NR > 1 { printf "| %s | %.1f | %s |\n", $1, $2 / 1048576, ($3 == "" ? "n/a" : sprintf("%.1f", $3 / 1048576)) }' "$dir/memory.csv"
    } >>"$dir/summary.md"
  fi
  cat "$dir/summary.md"
}

# rss ADMIN_PORT: the daemon's resident memory in bytes from its /metrics: process_working_set_bytes (prometheus-net's name
# for VmRSS) or process_resident_memory_bytes; "" when unreadable.
rss() {
  curl -sf "http://127.0.0.1:$1/metrics" | awk '$1 == "process_resident_memory_bytes" || $1 == "process_working_set_bytes" { printf "%.0f", $2; exit }' || true
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
rates=$(printf '%s\n' "${wanted_rates[@]}" | tr ',' '\n' | grep -v '^$' | sort -n -u | paste -sd, -)
LOW_ROUNDS=${LOW_ROUNDS:-5}
LOW_SECONDS=${LOW_SECONDS:-8}
[[ $LOW_ROUNDS =~ ^[1-9][0-9]*$ ]] || die "LOW_ROUNDS: '$LOW_ROUNDS' is not a positive whole number"
[[ $LOW_SECONDS =~ ^[0-9]+([.][0-9]+)?$ ]] || die "LOW_SECONDS: '$LOW_SECONDS' is not a number"
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
rm -f "$OUT/results.csv" "$OUT/runs.jsonl" "$OUT/summary.md" "$OUT/stages.csv" "$OUT/latency-vs-throughput.png" "$OUT/memory.csv" \
  "$OUT/reference.csv"

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

# For scale, the CPU the simulator spends per gRPC call when the call does nothing (ServerLive at 1000 req/s: the
# same Kestrel and Grpc.AspNetCore server stack as the daemon's, no model, no upstream): its user + system ticks
# around a step of its own (not in results.csv) into reference.csv. Under `dotnet run` the process started is not the
# simulator, so the step is skipped.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
if [ "${dataplane[0]}" != dotnet ]; then
  ticks_before=$(cpu_ticks "$sim_pid")
  echo
  echo "== live-1000"
  if ! "${dataplane[@]}" bench --model "$MODEL" --target "$sim_url" --rpc live --mode poisson --rate 1000 --duration "$STEP_SECONDS" \
      --warmup 0 --slo-ms "$SLO_MS" --timeout-ms "$REQUEST_TIMEOUT_MS" --label live-1000 2>&1 | tee "$OUT/logs/bench-live-1000.log"; then
    fail_with_log "dataplane bench (live-1000) failed" "$OUT/logs/bench-live-1000.log"
  fi
  ticks_after=$(cpu_ticks "$sim_pid")
  awk -v ticks=$((ticks_after - ticks_before)) -v hz="$(getconf CLK_TCK)" '
    $1 == "live-1000" && $5 > 0 { answered = $5 }
    END { print "rate,requests,cpu_us_per_req"; if (answered > 0) printf "1000,%d,%.1f\n", answered, ticks / hz / answered * 1e6 }' \
    "$OUT/logs/bench-live-1000.log" >"$OUT/reference.csv"
  require_alive "the simulator" "$sim_pid" "$OUT/logs/sim.log"
fi

# One daemon per policy, all up at once so that the low-load rounds can take turns between them; the
# resident memory of each, idle right after start and after its sweep, goes to memory.csv.
declare -A idle_rss_of
declare -A grpc_of http_of admin_of pid_of
for policy in "${POLICIES[@]}"; do
  free_port grpc_port
  free_port http_port
  free_port admin_port
  grpc_of[$policy]=$grpc_port http_of[$policy]=$http_port admin_of[$policy]=$admin_port
  extra=()
  [ "$policy" != fixed ] || extra=(--max-queue-delay-ms 5)
  log="$OUT/logs/daemon-$policy.log"
  start "$log" "${dataplane[@]}" serve --upstream "$sim_url" --grpc "127.0.0.1:$grpc_port" --http "127.0.0.1:$http_port" \
    --admin "127.0.0.1:$admin_port" --policy "$policy" "${extra[@]}"
  pid_of[$policy]=$started
  wait_ready "the daemon ($policy)" "$started" "$log" 120 curl -sf "http://127.0.0.1:$admin_port/readyz"
  idle_rss_of[$policy]=$(rss "$admin_port")
done
echo "policy,idle_rss_bytes,after_sweep_rss_bytes" >"$OUT/memory.csv"

# daemon_bench POLICY NAME ARGS...: bench against POLICY's daemon, with its CPU and allocations per request.
daemon_bench() {
  local policy=$1 name=$2
  shift 2
  bench "$name" --target "http://127.0.0.1:${grpc_of[$policy]}" --server-metrics "http://127.0.0.1:${admin_of[$policy]}/metrics" "$@"
  require_alive "the daemon ($policy)" "${pid_of[$policy]}" "$OUT/logs/daemon-$policy.log"
}

# stage_totals URL: "stage sum count" per stage of the model's dataplane_request_stage_seconds on a daemon's /metrics.
stage_totals() {
  curl -sf "$1" | awk -v model="$MODEL" '
    /^dataplane_request_stage_seconds_(sum|count)[{]/ && index($0, "model=\"" model "\"") {
      match($0, /stage="[a-z]+"/); stage = substr($0, RSTART + 7, RLENGTH - 8)
      if ($0 ~ /_sum[{]/) sum[stage] = $NF; else count[stage] = $NF
    }
    END { for (s in count) print s, sum[s] + 0, count[s] + 0 }'
}

# Where the time goes in the none daemon at 50 req/s: a step of its own (not in results.csv), its stage totals
# read before and after, mean per stage into stages.csv.
stages_before=$(stage_totals "http://127.0.0.1:${admin_of[none]}/metrics") || die "could not read the none daemon's /metrics"
echo
echo "== none-stages-50"
if ! "${dataplane[@]}" bench --model "$MODEL" --target "http://127.0.0.1:${grpc_of[none]}" --mode poisson --rate 50 \
    --duration "$STEP_SECONDS" --warmup "$WARMUP_SECONDS" --slo-ms "$SLO_MS" --timeout-ms "$REQUEST_TIMEOUT_MS" \
    2>&1 | tee "$OUT/logs/bench-none-stages-50.log"; then
  fail_with_log "dataplane bench (none-stages-50) failed" "$OUT/logs/bench-none-stages-50.log"
fi
stages_after=$(stage_totals "http://127.0.0.1:${admin_of[none]}/metrics") || die "could not read the none daemon's /metrics"
awk -v before="$stages_before" '
  BEGIN {
    n = split(before, lines, "\n")
    for (i = 1; i <= n; i++) { split(lines[i], f, " "); s0[f[1]] = f[2]; c0[f[1]] = f[3] }
  }
  { s1[$1] = $2; c1[$1] = $3 }
  END {
    print "stage,mean_us,requests"
    k = split("decode dispatch validate queue upstream reply", order, " ")
    for (i = 1; i <= k; i++) {
      st = order[i]; dc = c1[st] - c0[st]
      if (dc > 0) printf "%s,%.1f,%d\n", st, (s1[st] - s0[st]) / dc * 1e6, dc
    }
  }' <<<"$stages_after" >"$OUT/stages.csv"
require_alive "the daemon (none)" "${pid_of[none]}" "$OUT/logs/daemon-none.log"

# The low-load point: rounds in which the three policies, inference straight to the simulator and the bare
# ServerLive hop to it take turns (the order rotates each round), for the tax (target 1) and the pass-through
# cost (target 3) from the same rounds.
low_steps=("${POLICIES[@]}" direct hop)
for round in $(seq "$LOW_ROUNDS"); do
  for i in "${!low_steps[@]}"; do
    step=${low_steps[$(( (round + i) % ${#low_steps[@]} ))]}
    case "$step" in
      direct) rpc=infer ;;
      hop) rpc=live ;;
      *) rpc="" ;;
    esac
    if [ -n "$rpc" ]; then
      STEP_SECONDS=$LOW_SECONDS bench "low-$step-$round" --target "$sim_url" --rpc "$rpc" --mode poisson --rate 20 \
        --label "low-$step" --seed "$round"
      require_alive "the simulator" "$sim_pid" "$OUT/logs/sim.log"
    else
      STEP_SECONDS=$LOW_SECONDS daemon_bench "$step" "low-$step-$round" --mode poisson --rate 20 --label "low-$step" \
        --seed "$round"
    fi
  done
done

for policy in "${POLICIES[@]}"; do
  daemon_bench "$policy" "$policy" --mode poisson --sweep "$rates" --label "$policy"
  if [ "$policy" = adaptive ]; then
    # The HTTP front end against gRPC on the same daemon, back to back, at a light load.
    daemon_bench "$policy" "$policy-grpc-50" --mode poisson --rate 50 --label adaptive-grpc
    bench "$policy-http-50" --target "http://127.0.0.1:${http_of[$policy]}" --protocol http --mode poisson --rate 50 --label adaptive-http
  fi
  require_alive "the simulator" "$sim_pid" "$OUT/logs/sim.log"
  echo "$policy,${idle_rss_of[$policy]},$(rss "${admin_of[$policy]}")" >>"$OUT/memory.csv"
  stop "${pid_of[$policy]}"
done

stop "$sim_pid"
echo
SUMMARY_META="${STEP_SECONDS} s per step after ${WARMUP_SECONDS} s warm-up; low load ${LOW_ROUNDS} rounds of ${LOW_SECONDS} s; $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg); commit $(git -C "$repo_root" rev-parse --short HEAD 2>/dev/null || echo unknown); binary: ${dataplane[*]}." report "$OUT"
