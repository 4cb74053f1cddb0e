#!/usr/bin/env bash
# Overload benchmark: deadline-aware admission at 10x capacity. The simulated Triton serves one slow
# model (`slow`: 200 ms per batch of up to 8 rows, one instance: about 40 requests/s), the daemon fronts
# it with default settings (queue-time bound 1 s), and `dataplane bench` offers 10x its capacity,
# open-loop Poisson, with a 4 s deadline per request. Prints the bench row (ok latency, and how fast the
# refused requests came back) and writes results.csv under $OUT.
#
#   scripts/bench-overload.sh
#
# Environment: DATAPLANE (default artifacts/publish/dataplane/linux-x64/dataplane), OUT (default
# artifacts/bench/overload-<UTC timestamp>), SECONDS_MEASURED (default 10), FACTOR (default 10).
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DATAPLANE=${DATAPLANE:-$repo_root/artifacts/publish/dataplane/linux-x64/dataplane}
OUT=${OUT:-$repo_root/artifacts/bench/overload-$(date -u +%Y%m%dT%H%M%SZ)}
SECONDS_MEASURED=${SECONDS_MEASURED:-10}
FACTOR=${FACTOR:-10}
readonly CAPACITY=40

[ -x "$DATAPLANE" ] || { echo "bench-overload: $DATAPLANE not found; run scripts/publish.sh dataplane" >&2; exit 1; }
[[ $FACTOR =~ ^[0-9]+$ ]] || { echo "bench-overload: FACTOR '$FACTOR' is not a whole number" >&2; exit 1; }
command -v curl >/dev/null 2>&1 || { echo "bench-overload: curl is required" >&2; exit 1; }
mkdir -p "$OUT/logs"

BENCH_NAME=bench-overload
# shellcheck source=scripts/lib/processes.sh
. "$repo_root/scripts/lib/processes.sh"

cat >"$OUT/sim.json" <<JSON
{ "Simulation": { "Models": [ { "Name": "slow", "MaxBatchSize": 8, "Instances": 1, "BaseLatencyMs": 200,
  "PerItemLatencyMs": 0, "Inputs": [ { "Name": "INPUT0", "DataType": "INT32", "Dims": "1" } ] } ] } }
JSON

sim_port="" grpc_port="" http_port="" admin_port=""
free_port sim_port
free_port grpc_port
free_port http_port
free_port admin_port
start "$OUT/logs/sim.log" "$DATAPLANE" sim --listen "127.0.0.1:$sim_port" --config "$OUT/sim.json"
sim_pid=$started
wait_ready "the simulator" "$sim_pid" "$OUT/logs/sim.log" 60 port_open "$sim_port"
start "$OUT/logs/daemon.log" "$DATAPLANE" serve --upstream "http://127.0.0.1:$sim_port" --grpc "127.0.0.1:$grpc_port" \
  --http "127.0.0.1:$http_port" --admin "127.0.0.1:$admin_port" --Batching:Models:slow:PipelineDepth=0
daemon_pid=$started
wait_ready "the daemon" "$daemon_pid" "$OUT/logs/daemon.log" 60 curl -sf "http://127.0.0.1:$admin_port/readyz"

# A few requests first, so the daemon has fitted the model's latency before the burst.
"$DATAPLANE" bench --target "http://127.0.0.1:$grpc_port" --model slow --rate 2 --duration 2 --warmup 0 >"$OUT/logs/warm-up.log" 2>&1
"$DATAPLANE" bench --target "http://127.0.0.1:$grpc_port" --model slow --mode poisson --rate $((CAPACITY * FACTOR)) \
  --duration "$SECONDS_MEASURED" --warmup 1 --timeout-ms 4000 --slo-ms 1500 --label "overload-${FACTOR}x" --csv "$OUT/results.csv" \
  | tee "$OUT/logs/bench.log"
require_alive "the daemon" "$daemon_pid" "$OUT/logs/daemon.log"
curl -sf "http://127.0.0.1:$admin_port/metrics" | grep '^dataplane_rejections_total' || true
stop "$daemon_pid"
stop "$sim_pid"
echo "bench-overload: results in $OUT"
