#!/usr/bin/env bash
# Quickstart: the whole system on one machine with embedded defaults, every external part simulated
# and saying so (no Triton, GPU or Raspberry Pi needed; only the .NET 10 SDK):
#   1. batching  `dataplane demo`: the daemon in front of its embedded simulated Triton, an open-loop
#                load sweep through it; throughput, latency percentiles and SLO attainment per rate.
#   2. hybrid    scripts/bench-agent.sh, short: simulated Triton -> `dataplane serve` -> `dataplane-agent`
#                (simulated Pi runtime) with a mixed workload through the agent; local hit rate, time to
#                first token and latency per path, agent overhead and decision time.
#   scripts/demo.sh [--batching-only | --hybrid-only] [dataplane demo options: --rates 20,200,1000,2000 --duration 3]
# Uses the framework-dependent Release builds (scripts/publish.sh makes the NativeAOT binaries).
set -euo pipefail
cd "$(dirname "$0")/.."

batching=yes
hybrid=yes
demo_args=()
for a in "$@"; do
  case "$a" in
    --batching-only) hybrid=no ;;
    --hybrid-only) batching=no ;;
    *) demo_args+=("$a") ;;
  esac
done

echo "demo: building dataplane and dataplane-agent (Release)"
dotnet build src/DataPlane.Host -c Release --nologo -v quiet -clp:ErrorsOnly
dotnet build src/DataPlane.Agent -c Release --nologo -v quiet -clp:ErrorsOnly
dataplane=$PWD/src/DataPlane.Host/bin/Release/net10.0/dataplane
agent=$PWD/src/DataPlane.Agent/bin/Release/net10.0/dataplane-agent

if [ "$batching" = yes ]; then
  echo
  echo "===== 1. Adaptive batching in front of the simulated Triton"
  "$dataplane" demo "${demo_args[@]}"
fi

if [ "$hybrid" = yes ]; then
  echo
  echo "===== 2. The hybrid path: agent (simulated Pi runtime) -> dataplane -> simulated Triton"
  DATAPLANE=$dataplane DATAPLANE_AGENT=$agent SECONDS_PER_RUN=${SECONDS_PER_RUN:-12} WARMUP_SECONDS=${WARMUP_SECONDS:-2} \
    OUT=${OUT:-$PWD/artifacts/demo/hybrid} bash scripts/bench-agent.sh
fi
