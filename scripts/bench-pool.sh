#!/usr/bin/env bash
# GPU pool benchmark: one agent, three daemons each in front of its own simulated Triton, one of the three
# simulators made 5x slower mid-run; agent time to first token and each host's share with round-robin and with
# load-aware balancing (Gpu:Balancing:Policy), while the slow host is slow.
#   dataplane sim (x3)             simulated Triton; its `llm` model: 50 ms to first token, 50 tok/s; the third with
#                                  --Simulation:SlowdownFactor=5 from SLOW_AFTER seconds after its start
#   dataplane serve (x3)           one daemon in front of each
#   dataplane-agent serve          the agent, --gpu host1,host2,host3, every request forced to the GPU (--mode gpu); its
#                                  simulated local runtime takes 20 s to a first token, so a hedge never answers and
#                                  every TTFT measured is a GPU host's
#   dataplane bench-agent          open-loop Poisson load through the agent: a phase while all hosts are fast, then a
#                                  phase while the third is slow
# Per policy, the processes are started afresh. The agent's dataplane_agent_gpu_host_picks_total is scraped around
# each phase for the per-host share.
# Writes, under $OUT:
#   results.csv    one row per policy and phase: requests, errors, TTFT p50/p90/p99 (ms), share per host (%)
#   <policy>-<phase>.csv / .jsonl   the load generator's own output
#   summary.md     the table and the target (load-aware p99 <= half of round-robin's while the host is slow)
#   logs/          output of every process and of the bench
#
#   scripts/bench-pool.sh
#
# Environment:
#   DATAPLANE, DATAPLANE_AGENT   binaries (default artifacts/publish/…/linux-x64/…; absent: dotnet run)
#   OUT              output directory (default artifacts/bench/pool)
#   RATE             offered load in req/s (default 10)
#   FAST_SECONDS     measured seconds before the slowdown (default 10)
#   SLOW_SECONDS     measured seconds while the third host is slow (default 30)
#   MAX_TOKENS       tokens per answer (default 8)
#   POLICIES         policies to run (default "round-robin load-aware")
#   AGENT_ARGS       extra agent switches, e.g. "--Gpu:Balancing:LatencyDecaySeconds=60" (default none)
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
orig_pwd=$PWD
die() { echo "bench-pool: $*" >&2; exit 1; }
abspath() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$orig_pwd/$1" ;; esac; }
[ $# -eq 0 ] || die "unknown argument '$1' (settings are environment variables; see the header)"

dataplane_given=${DATAPLANE:+yes}
agent_given=${DATAPLANE_AGENT:+yes}
DATAPLANE=$(abspath "${DATAPLANE:-$repo_root/artifacts/publish/dataplane/linux-x64/dataplane}")
DATAPLANE_AGENT=$(abspath "${DATAPLANE_AGENT:-$repo_root/artifacts/publish/dataplane-agent/linux-x64/dataplane-agent}")
OUT=$(abspath "${OUT:-$repo_root/artifacts/bench/pool}")
RATE=${RATE:-10}
FAST_SECONDS=${FAST_SECONDS:-10}
SLOW_SECONDS=${SLOW_SECONDS:-30}
MAX_TOKENS=${MAX_TOKENS:-8}
POLICIES=${POLICIES:-round-robin load-aware}
read -r -a agent_args <<<"${AGENT_ARGS:-}"
for v in RATE FAST_SECONDS SLOW_SECONDS MAX_TOKENS; do
  [[ ${!v} =~ ^[0-9]+([.][0-9]+)?$ ]] && ! [[ ${!v} =~ ^0+([.]0+)?$ ]] || die "$v: '${!v}' is not a positive number"
done
for p in $POLICIES; do
  [[ $p == round-robin || $p == load-aware ]] || die "POLICIES: '$p' is not round-robin or load-aware"
done
cd "$repo_root"
command -v curl >/dev/null 2>&1 || die "curl is required"

BENCH_NAME=bench-pool
# shellcheck source=scripts/lib/processes.sh
. "$repo_root/scripts/lib/processes.sh"
resolve_executable dataplane DATAPLANE "$DATAPLANE" "$dataplane_given" src/DataPlane.Host
resolve_executable agent DATAPLANE_AGENT "$DATAPLANE_AGENT" "$agent_given" src/DataPlane.Agent

mkdir -p "$OUT/logs"
rm -f "$OUT"/*.csv "$OUT"/*.jsonl "$OUT/summary.md"

# picks HOST_PORT...: the agent's pick counter of each host, space separated (0 when absent).
picks() {
  local metrics h
  metrics=$(curl -sf "http://127.0.0.1:$agent_admin_port/metrics") || die "could not scrape the agent's metrics"
  for h in "$@"; do
    awk -v h="$h" -F'[{}" ]+' '$1 == "dataplane_agent_gpu_host_picks_total" && $3 == h { v = $4 } END { printf "%s ", (v == "" ? 0 : v) }' <<<"$metrics"
  done
}

# column FILE NAME: the value of column NAME in the agent,all row of a bench-agent CSV.
column() {
  awk -F, -v name="$2" 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next } $c["phase"] == "agent" && $c["path"] == "all" { print $c[name] }' "$1"
}

echo "policy,phase,requests,ok,errors,ttft_p50_ms,ttft_p90_ms,ttft_p99_ms,share_host1_pct,share_host2_pct,share_host3_slow_pct,load_avg_1m" >"$OUT/results.csv"
slow_after=$((FAST_SECONDS + 25))

for policy in $POLICIES; do
  echo "== $policy"
  hosts=() daemon_pids=() sim_pids=()
  sim_start=$(date +%s)
  for i in 1 2 3; do
    sim_port="" grpc_port="" admin_port=""
    free_port sim_port; free_port grpc_port; free_port admin_port
    slow=()
    [ "$i" -eq 3 ] && slow=(--Simulation:SlowdownFactor=5 "--Simulation:SlowdownAfterSeconds=$slow_after")
    start "$OUT/logs/$policy-sim$i.log" "${dataplane[@]}" sim --listen "127.0.0.1:$sim_port" "${slow[@]}"
    sim_pids+=("$started")
    wait_ready "simulated Triton $i" "$started" "$OUT/logs/$policy-sim$i.log" 120 port_open "$sim_port"
    # The slowdown counts from the third simulator's own start, which is before it answers: from its readiness on,
    # slow_after seconds (+2) is certainly inside the slow window.
    [ "$i" -eq 3 ] && sim_start=$(date +%s)
    start "$OUT/logs/$policy-daemon$i.log" "${dataplane[@]}" serve --upstream "http://127.0.0.1:$sim_port" --grpc "127.0.0.1:$grpc_port" \
      --http 127.0.0.1:0 --admin "127.0.0.1:$admin_port"
    daemon_pids+=("$started")
    wait_ready "daemon $i" "$started" "$OUT/logs/$policy-daemon$i.log" 120 curl -sf "http://127.0.0.1:$admin_port/readyz"
    hosts+=("127.0.0.1:$grpc_port")
  done
  api_port="" agent_admin_port=""
  free_port api_port; free_port agent_admin_port
  start "$OUT/logs/$policy-agent.log" "${agent[@]}" serve --api "127.0.0.1:$api_port" --admin "127.0.0.1:$agent_admin_port" \
    --gpu "$(IFS=,; echo "${hosts[*]}")" "--Gpu:Balancing:Policy=$policy" --Local:Simulation:TimeToFirstTokenMs=20000 \
    ${agent_args[@]+"${agent_args[@]}"}
  agent_pid=$started
  wait_ready "the agent" "$agent_pid" "$OUT/logs/$policy-agent.log" 120 curl -sf "http://127.0.0.1:$api_port/readyz"
  slow_from=$(( sim_start + slow_after + 2 ))

  run_phase() {
    local phase=$1 seconds=$2 before after status=0
    before=$(picks "${hosts[@]}")
    "${dataplane[@]}" bench-agent --target "http://127.0.0.1:$api_port" --mode gpu --rate "$RATE" --duration "$seconds" --warmup 0 \
      --max-tokens "$MAX_TOKENS" --stream true --label "$policy-$phase" --json "$OUT/$policy-$phase.jsonl" --csv "$OUT/$policy-$phase.csv" \
      --seed 11 2>&1 </dev/null | tee -a "$OUT/logs/bench.log" >/dev/null || status=$?
    [ "$status" -eq 0 ] || fail_with_log "dataplane bench-agent failed (exit $status)" "$OUT/logs/bench.log"
    after=$(picks "${hosts[@]}")
    read -r b1 b2 b3 <<<"$before"
    read -r a1 a2 a3 <<<"$after"
    local f="$OUT/$policy-$phase.csv"
    awk -v d1="$(awk -v a="$a1" -v b="$b1" 'BEGIN { print a - b }')" -v d2="$(awk -v a="$a2" -v b="$b2" 'BEGIN { print a - b }')" \
      -v d3="$(awk -v a="$a3" -v b="$b3" 'BEGIN { print a - b }')" \
      -v p="$policy" -v ph="$phase" -v req="$(column "$f" requests)" -v ok="$(column "$f" ok)" -v err="$(column "$f" errors)" \
      -v t50="$(column "$f" ttft_p50_ms)" -v t90="$(column "$f" ttft_p90_ms)" -v t99="$(column "$f" ttft_p99_ms)" \
      -v load="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN {
        t = d1 + d2 + d3; if (t == 0) t = 1
        printf "%s,%s,%s,%s,%s,%s,%s,%s,%.1f,%.1f,%.1f,%s\n", p, ph, req, ok, err, t50, t90, t99, 100 * d1 / t, 100 * d2 / t, 100 * d3 / t, load
      }' >>"$OUT/results.csv"
    tail -n 1 "$OUT/results.csv"
  }

  run_phase fast "$FAST_SECONDS"
  now=$(date +%s)
  if [ "$now" -lt "$slow_from" ]; then
    # Unmeasured load until the third simulator is slow, so the agent meets the change under traffic.
    "${dataplane[@]}" bench-agent --target "http://127.0.0.1:$api_port" --mode gpu --rate "$RATE" --duration $((slow_from - now)) \
      --warmup 0 --max-tokens "$MAX_TOKENS" --stream true --label "$policy-bridge" >>"$OUT/logs/bench.log" 2>&1 </dev/null || true
  fi
  run_phase slow "$SLOW_SECONDS"

  stop "$agent_pid"
  for pid in "${daemon_pids[@]}" "${sim_pids[@]}"; do stop "$pid"; done
done

awk -F, -v when="$(date -u '+%Y-%m-%d %H:%M UTC')" -v cpus="$(nproc)" -v rate="$RATE" 'NR == 1 { next }
  { rows[NR] = $0; if ($2 == "slow") p99[$1] = $8 }
  END {
    print "# GPU pool benchmark"
    print ""
    printf "Run %s on %s CPUs; %s req/s, every request to the GPU; three simulated Tritons (`llm` 50 ms to first token), the third 5x slower in the slow phase.\n\n", when, cpus, rate
    print "| policy | phase | requests | ok | TTFT p50 ms | TTFT p90 ms | TTFT p99 ms | host 1 | host 2 | host 3 (slow) | load avg |"
    print "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    for (i = 2; i <= NR; i++) { split(rows[i], f, ","); printf "| %s | %s | %s | %s | %s | %s | %s | %s%% | %s%% | %s%% | %s |\n", f[1], f[2], f[3], f[4], f[6], f[7], f[8], f[9], f[10], f[11], f[12] }
    print ""
    if (("round-robin" in p99) && ("load-aware" in p99)) {
      ok = p99["load-aware"] <= p99["round-robin"] / 2
      printf "Target: load-aware TTFT p99 while the host is slow (%s ms) <= half of round-robin'\''s (%s ms): %s\n", p99["load-aware"], p99["round-robin"], ok ? "**PASS**" : "**MISS**"
    }
  }' "$OUT/results.csv" >"$OUT/summary.md"
cat "$OUT/summary.md"
