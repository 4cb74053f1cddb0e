#!/usr/bin/env bash
# Agent benchmark: the whole hybrid path on one machine, every part simulated and saying so:
#   dataplane sim                  simulated Triton; its `llm` model: 50 ms to first token, 50 tok/s
#   dataplane serve                the GPU-side daemon in front of it
#   dataplane-agent sim-local      simulated Pi runtime (llama.cpp wire format): ~0.3 s to first token, 8 tok/s
#   dataplane-agent serve          the agent: answers locally or escalates to the daemon
#   dataplane bench-agent          open-loop Poisson load with the built-in mix (about 70% short everyday
#                                  prompts, 30% long/complex ones) through the agent, then the same schedule
#                                  and prompts straight to the simulated Pi runtime (--direct-url), with
#                                  the agent's decision-time histogram scraped around the run (--metrics-url)
# Writes, under $OUT:
#   results.csv    one row per phase (agent, direct) and path (columns: see DataPlane.Edge.Bench.AgentBenchCsv)
#   results.jsonl  the same run as one JSON line (fields: see DataPlane.Edge.Bench.AgentBenchJson)
#   summary.md     the two targets, PASS or MISS, local hit rate and TTFT per path (also printed)
#   logs/          output of every process and of the bench
#
#   scripts/bench-agent.sh                 # full run
#   scripts/bench-agent.sh --report DIR    # recompute summary.md from DIR/results.csv
#
# Environment:
#   DATAPLANE        the dataplane binary (default artifacts/publish/dataplane/linux-x64/dataplane; when it
#                    is absent, src/DataPlane.Host is built and run with `dotnet run`)
#   DATAPLANE_AGENT  the dataplane-agent binary (default artifacts/publish/dataplane-agent/linux-x64/dataplane-agent;
#                    when absent, src/DataPlane.Agent is built and run with `dotnet run`)
#   OUT              output directory (default artifacts/bench/agent-<UTC timestamp>)
#   SECONDS_PER_RUN  measured seconds of each phase (default 60: about 170 local answers at the default rate,
#                    enough for a p50 that holds from run to run)
#   WARMUP_SECONDS   unmeasured load before each phase (default 3)
#   RATE             offered load in req/s (default 4: the simulated Pi runtime is slow, about 4.3 s per
#                    32-token answer, so higher rates mostly pile up concurrent local answers)
#   MODEL            the model asked for (default local-small, the agent's local model)
#   CONCURRENCY      closed-loop load with this many clients instead of RATE (e.g. 8: four times the simulated
#                    Pi's 2 generations at once)
#   SHORT_SHARE      share of short everyday prompts in the built-in mix (default 0.7; 1: every prompt local)
#   SIM_PARALLELISM  generations the simulated Pi runtime serves at once (default 64: a runtime that is not the
#                    bottleneck, so the agent-vs-direct overhead compares like with like; 2 is a Pi's own, as the
#                    runtime's default: use it with SIM_SLOWDOWN=0.4 to measure local capacity)
#   SIM_SLOWDOWN     how much each running generation slows the others (default 0; the runtime's own default 0.4)
#   GPU              on (default) or off: off starts the agent without a GPU pool (the pool "down"), so that a
#                    full local runtime queues or refuses (429 with Retry-After) instead of escalating
#   JUDGE            no: print the figures without PASS/MISS (JUDGE_WHY says why, e.g. "JIT build"): the
#                    targets are about the NativeAOT binaries that ship
#
# Targets:
#   1. agent overhead <= 0.2 ms at p50: TTFT p50 of requests the agent answered on the local path minus
#      TTFT p50 of the same prompts (same schedule) sent straight to the local runtime;
#   2. routing decision time <= 5 us mean and <= 10 us bucket-estimated p99 of dataplane_agent_decision_seconds
#      over the measured requests.
# Definitions: local hit rate = successful requests whose final dataplane.answered_by is "local" /
# successful requests; escalation rate = those answered_by "gpu" (path gpu, or speculative answered by
# the GPU) / successful requests.
# The script exits 0 when the run completed, whatever the targets say; it fails (non-zero, with the
# log tail of the culprit) when a process dies or does not become ready, or the bench fails.
set -euo pipefail

readonly OVERHEAD_TARGET_MS=0.2
readonly DECISION_MEAN_TARGET_US=5
readonly DECISION_P99_TARGET_US=10

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
orig_pwd=$PWD

die() { echo "bench-agent: $*" >&2; exit 1; }

abspath() {
  case "$1" in
    /*) printf '%s\n' "$1" ;;
    *) printf '%s\n' "$orig_pwd/$1" ;;
  esac
}

# --- summary (also reachable on its own with --report DIR) -----------------------------------------

# Writes summary.md from results.csv and prints it. The CSV quotes only fields holding commas or
# quotes; the labels, URLs, paths and error codes this script produces hold none, so splitting on ','
# is safe here.
summarize() {
  local dir=$1
  awk -F, -v otarget="$OVERHEAD_TARGET_MS" -v dtarget="$DECISION_MEAN_TARGET_US" -v ptarget="$DECISION_P99_TARGET_US" -v judge="${JUDGE:-yes}" -v judge_why="${JUDGE_WHY:-}" \
      -v when="$(date -u '+%Y-%m-%d %H:%M UTC')" -v meta="${SUMMARY_META:-}" '
    function fmt(v, d) { return v == "" ? "n/a" : sprintf("%." d "f", v) }
    function unit(v, d, u) { return v == "" ? "n/a" : sprintf("%." d "f %s", v, u) }
    function verdict(ok) { return judge == "no" ? "not judged (" judge_why ")" : ok ? "**PASS**" : "**MISS**" }
    function pct(v) { return v == "" ? "n/a" : sprintf("%.1f%%", 100 * v) }
    NR == 1 {
      for (i = 1; i <= NF; i++) c[$i] = i
      n = split("phase path requests ok errors error_codes share_pct ttft_p50_ms ttft_p90_ms ttft_p99_ms total_p50_ms total_p99_ms " \
                "local_hit_rate escalation_rate overhead_p50_ms overhead_paired_p50_ms decision_mean_us decision_p50_us decision_p99_us " \
                "decisions load offered duration_s warmup_s late_sends throughput_rps", need, " ")
      for (i = 1; i <= n; i++) if (!(need[i] in c)) { print "results.csv has no column " need[i] > "/dev/stderr"; bad = 1; exit 1 }
      next
    }
    {
      rows++
      phase = $c["phase"]; path = $c["path"]; k = phase SUBSEP path
      if (!(k in seen)) { seen[k] = 1; if (phase == "agent") agent_paths[++nagent] = path; else direct_paths[++ndirect] = path }
      for (name in c) v[k, name] = $c[name]
    }
    END {
      if (bad) exit 1
      if (!(("agent" SUBSEP "all") in seen)) { print "results.csv has no agent,all row" > "/dev/stderr"; exit 1 }
      a = "agent" SUBSEP "all"
      print "# Agent benchmark"
      print ""
      printf "Run %s. Simulated Pi runtime (~0.3 s to first token, 8 tok/s) behind the agent, simulated Triton `llm` (50 ms, 50 tok/s) behind the daemon. ", when
      printf "Load: %s loop, %s req/s, %s s measured after %s s warm-up per phase; built-in prompt mix.", v[a, "load"], v[a, "offered"], v[a, "duration_s"], v[a, "warmup_s"]
      if (meta != "") printf " %s", meta
      print ""
      print ""
      print "## Targets"
      print ""
      ov = v[a, "overhead_p50_ms"]; ok1 = (ov != "" && ov + 0 <= otarget)
      m = "direct" SUBSEP "matched"; l = "agent" SUBSEP "local"
      printf "1. Agent overhead at p50: agent local-path TTFT p50 %s - direct TTFT p50 of the same prompts %s = %s (paired p50 %s); target <= %s ms: %s\n", \
        unit(v[l, "ttft_p50_ms"], 3, "ms"), unit(v[m, "ttft_p50_ms"], 3, "ms"), unit(ov, 3, "ms"), unit(v[a, "overhead_paired_p50_ms"], 3, "ms"), otarget, verdict(ok1)
      if (ov == "") print "   - n/a: no request was answered on the local path, or the direct phase failed"
      dm = v[a, "decision_mean_us"]; dp = v[a, "decision_p99_us"]
      ok2 = (dm != "" && dp != "" && dm + 0 <= dtarget && dp + 0 <= ptarget)
      printf "2. Routing decision time: mean %s, p99 %s (bucket estimate; p50 %s) over %s decisions; target mean <= %s us, p99 <= %s us: %s\n", \
        unit(dm, 2, "us"), unit(dp, 2, "us"), unit(v[a, "decision_p50_us"], 2, "us"), (v[a, "decisions"] == "" ? "n/a" : v[a, "decisions"]), dtarget, ptarget, verdict(ok2)
      if (dm == "") print "   - n/a: the agent'\''s /metrics could not be scraped or showed no decision (see logs/bench.log)"
      print ""
      print "## Routing"
      print ""
      printf "Local hit rate **%s** (answered_by local), escalation rate **%s** (answered_by gpu), of %s successful requests (%s measured, errors: %s%s).\n", \
        pct(v[a, "local_hit_rate"]), pct(v[a, "escalation_rate"]), v[a, "ok"], v[a, "requests"], v[a, "errors"], \
        (v[a, "error_codes"] == "" ? "" : " (" v[a, "error_codes"] ")")
      print ""
      if (("refused_429" in c) && (v[a, "local_busy_pct"] != "" || v[a, "refused_429"] + 0 > 0))
        printf "Local runtime full: %s%% of requests escalated as `local_busy`, %s refused 429 (Retry-After p50 %s s).\n\n", \
          fmt(v[a, "local_busy_pct"], 1), v[a, "refused_429"], (v[a, "retry_after_p50_s"] == "" ? "n/a" : v[a, "retry_after_p50_s"])
      print "## Time to first token and total latency by path (ms, from the scheduled send)"
      print ""
      print "| phase | path | requests | ok | share | TTFT p50 | TTFT p90 | TTFT p99 | total p50 | total p99 | errors |"
      print "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
      for (i = 1; i <= nagent; i++) row("agent", agent_paths[i])
      for (i = 1; i <= ndirect; i++) row("direct", direct_paths[i])
      print ""
      print "`direct` is the simulated Pi runtime measured without the agent; `matched` are the direct requests whose prompt the agent answered on the local path (what target 1 compares with)."
      late = v[a, "late_sends"] + v["direct" SUBSEP "all", "late_sends"]
      printf "Load generator: %d measured sends left more than 1 ms behind schedule; their latency counts from the schedule.\n", late
      print ""
      print "Rows: `results.csv`; the full run: `results.jsonl`; logs: `logs/`."
    }
    function row(phase, path,    k) {
      k = phase SUBSEP path
      printf "| %s | %s | %s | %s | %s%% | %s | %s | %s | %s | %s | %s |\n", phase, path, v[k, "requests"], v[k, "ok"], fmt(v[k, "share_pct"], 1), \
        fmt(v[k, "ttft_p50_ms"], 3), fmt(v[k, "ttft_p90_ms"], 3), fmt(v[k, "ttft_p99_ms"], 3), fmt(v[k, "total_p50_ms"], 3), \
        fmt(v[k, "total_p99_ms"], 3), (v[k, "error_codes"] == "" ? "-" : v[k, "error_codes"])
    }' "$dir/results.csv" >"$dir/summary.md.tmp" || return 1
  mv "$dir/summary.md.tmp" "$dir/summary.md"
  cat "$dir/summary.md"
}

report() {
  local dir=$1
  [ -s "$dir/results.csv" ] || die "$dir/results.csv is missing or empty"
  if ! summarize "$dir"; then
    rm -f "$dir/summary.md.tmp"
    die "could not summarise $dir/results.csv"
  fi
}

if [ "${1:-}" = "--report" ]; then
  [ $# -eq 2 ] || die "usage: $0 --report DIR"
  report "$(abspath "$2")"
  exit 0
fi
[ $# -eq 0 ] || die "unknown argument '$1' (usage: $0 [--report DIR])"

# --- the run -------------------------------------------------------------------------------------

dataplane_given=${DATAPLANE:+yes}
agent_given=${DATAPLANE_AGENT:+yes}
DATAPLANE=$(abspath "${DATAPLANE:-$repo_root/artifacts/publish/dataplane/linux-x64/dataplane}")
DATAPLANE_AGENT=$(abspath "${DATAPLANE_AGENT:-$repo_root/artifacts/publish/dataplane-agent/linux-x64/dataplane-agent}")
OUT=$(abspath "${OUT:-$repo_root/artifacts/bench/agent-$(date -u +%Y%m%dT%H%M%SZ)}")
SECONDS_PER_RUN=${SECONDS_PER_RUN:-60}
WARMUP_SECONDS=${WARMUP_SECONDS:-3}
RATE=${RATE:-4}
MODEL=${MODEL:-local-small}
CONCURRENCY=${CONCURRENCY:-}
SHORT_SHARE=${SHORT_SHARE:-}
SIM_PARALLELISM=${SIM_PARALLELISM:-64}
SIM_SLOWDOWN=${SIM_SLOWDOWN:-0}
GPU=${GPU:-on}
positive() { [[ $1 =~ ^[0-9]+([.][0-9]+)?$ ]] && ! [[ $1 =~ ^0+([.]0+)?$ ]]; }
positive "$SECONDS_PER_RUN" || die "SECONDS_PER_RUN: '$SECONDS_PER_RUN' is not a positive number"
[[ $WARMUP_SECONDS =~ ^[0-9]+([.][0-9]+)?$ ]] || die "WARMUP_SECONDS: '$WARMUP_SECONDS' is not a number"
positive "$RATE" || die "RATE: '$RATE' is not a positive number"
[ -n "$MODEL" ] || die "MODEL is empty"
[ -z "$CONCURRENCY" ] || [[ $CONCURRENCY =~ ^[1-9][0-9]*$ ]] || die "CONCURRENCY: '$CONCURRENCY' is not a positive integer"
[ -z "$SHORT_SHARE" ] || [[ $SHORT_SHARE =~ ^(0([.][0-9]+)?|1([.]0+)?)$ ]] || die "SHORT_SHARE: '$SHORT_SHARE' is not between 0 and 1"
[[ $SIM_PARALLELISM =~ ^[1-9][0-9]*$ ]] || die "SIM_PARALLELISM: '$SIM_PARALLELISM' is not a positive integer"
[[ $SIM_SLOWDOWN =~ ^[0-9]+([.][0-9]+)?$ ]] || die "SIM_SLOWDOWN: '$SIM_SLOWDOWN' is not a number"
[[ $GPU == on || $GPU == off ]] || die "GPU: '$GPU' is not on or off"
load_args=(--rate "$RATE")
[ -z "$CONCURRENCY" ] || load_args=(--concurrency "$CONCURRENCY")
[ -z "$SHORT_SHARE" ] || load_args+=(--short-share "$SHORT_SHARE")
gpu_args=()
cd "$repo_root"
command -v curl >/dev/null 2>&1 || die "curl is required"

BENCH_NAME=bench-agent
# shellcheck source=scripts/lib/processes.sh
. "$repo_root/scripts/lib/processes.sh"
resolve_executable dataplane DATAPLANE "$DATAPLANE" "$dataplane_given" src/DataPlane.Host
resolve_executable agent DATAPLANE_AGENT "$DATAPLANE_AGENT" "$agent_given" src/DataPlane.Agent

mkdir -p "$OUT/logs"
rm -f "$OUT/results.csv" "$OUT/results.jsonl" "$OUT/summary.md"

# Child processes, readiness checks and free ports (shared with the other benchmark script).

sim_port="" grpc_port="" admin_port="" local_port="" api_port="" agent_admin_port=""
free_port sim_port
free_port grpc_port
free_port admin_port
free_port local_port
free_port api_port
free_port agent_admin_port

[ "$GPU" = off ] || gpu_args=(--gpu "127.0.0.1:$grpc_port")
echo "bench-agent: output in $OUT; ${CONCURRENCY:+$CONCURRENCY clients, closed loop}${CONCURRENCY:-${RATE} req/s}, ${SECONDS_PER_RUN} s per phase after ${WARMUP_SECONDS} s warm-up; simulated Pi: $SIM_PARALLELISM generations at once; GPU pool $GPU"

start "$OUT/logs/sim.log" "${dataplane[@]}" sim --listen "127.0.0.1:$sim_port"
sim_pid=$started
start "$OUT/logs/sim-local.log" "${agent[@]}" sim-local --listen "127.0.0.1:$local_port" --Simulation:Parallelism="$SIM_PARALLELISM" --Simulation:ConcurrencySlowdown="$SIM_SLOWDOWN"
local_pid=$started
wait_ready "the simulated Triton (dataplane sim)" "$sim_pid" "$OUT/logs/sim.log" 120 port_open "$sim_port"
wait_ready "the simulated Pi runtime (dataplane-agent sim-local)" "$local_pid" "$OUT/logs/sim-local.log" 120 \
  curl -sf "http://127.0.0.1:$local_port/health"

start "$OUT/logs/daemon.log" "${dataplane[@]}" serve --upstream "http://127.0.0.1:$sim_port" --grpc "127.0.0.1:$grpc_port" --http 127.0.0.1:0 \
  --admin "127.0.0.1:$admin_port"
daemon_pid=$started
wait_ready "the daemon (dataplane serve)" "$daemon_pid" "$OUT/logs/daemon.log" 120 curl -sf "http://127.0.0.1:$admin_port/readyz"

start "$OUT/logs/agent.log" "${agent[@]}" serve --api "127.0.0.1:$api_port" --admin "127.0.0.1:$agent_admin_port" \
  --local-url "http://127.0.0.1:$local_port" "${gpu_args[@]}"
agent_pid=$started
wait_ready "the agent (dataplane-agent serve)" "$agent_pid" "$OUT/logs/agent.log" 120 curl -sf "http://127.0.0.1:$api_port/readyz"

require_alive "the simulated Triton" "$sim_pid" "$OUT/logs/sim.log"
require_alive "the simulated Pi runtime" "$local_pid" "$OUT/logs/sim-local.log"
require_alive "the daemon" "$daemon_pid" "$OUT/logs/daemon.log"

echo
echo "== mixed workload through the agent, then direct to the simulated Pi runtime"
bench_status=0
"${dataplane[@]}" bench-agent --target "http://127.0.0.1:$api_port" --direct-url "http://127.0.0.1:$local_port" \
  --metrics-url "http://127.0.0.1:$agent_admin_port/metrics" --model "$MODEL" "${load_args[@]}" --duration "$SECONDS_PER_RUN" \
  --warmup "$WARMUP_SECONDS" --label mixed --json "$OUT/results.jsonl" --csv "$OUT/results.csv" \
  2>&1 </dev/null | tee "$OUT/logs/bench.log" || bench_status=$?
[ "$bench_status" -eq 0 ] || fail_with_log "dataplane bench-agent failed (exit $bench_status)" "$OUT/logs/bench.log"
require_alive "the simulated Triton" "$sim_pid" "$OUT/logs/sim.log"
require_alive "the simulated Pi runtime" "$local_pid" "$OUT/logs/sim-local.log"
require_alive "the daemon" "$daemon_pid" "$OUT/logs/daemon.log"
require_alive "the agent" "$agent_pid" "$OUT/logs/agent.log"
[ -s "$OUT/results.csv" ] || fail_with_log "the bench wrote no results" "$OUT/logs/bench.log"

stop "$agent_pid"
stop "$daemon_pid"
stop "$local_pid"
stop "$sim_pid"
echo
SUMMARY_META="$(nproc) CPUs; binaries: ${dataplane[*]} and ${agent[*]}." report "$OUT"
