#!/usr/bin/env bash
# Quickstart: the whole system on one machine with embedded defaults, every external part simulated
# and saying so (no Triton, GPU or Raspberry Pi needed; only the .NET 10 SDK):
#   1. batching  `dataplane demo`: the daemon in front of its embedded simulated Triton, an open-loop
#                load sweep through it; throughput, latency percentiles and SLO attainment per rate.
#   2. hybrid    scripts/bench-agent.sh, short: simulated Triton -> `dataplane serve` -> `dataplane-agent`
#                (simulated Pi runtime) with a mixed workload through the agent; local hit rate, time to
#                first token and latency per path, agent overhead and decision time.
#   scripts/demo.sh [--batching-only | --hybrid-only] [--jit] [dataplane demo options: --rates 20,200,1000,2000 --duration 3]
# The hybrid part prints its figures without PASS/MISS: its short run decides no target (scripts/bench-agent.sh does).
# Runs the NativeAOT binaries that ship (artifacts/publish/, made by scripts/publish.sh): they are published
# first when missing or older than the sources (the first publish takes about 5 minutes on two cores; later
# runs reuse them). --jit runs the framework-dependent Release builds instead, which start faster but are not
# what ships.
set -euo pipefail
cd "$(dirname "$0")/.."

batching=yes
hybrid=yes
jit=no
demo_args=()
for a in "$@"; do
  case "$a" in
    --batching-only) hybrid=no ;;
    --hybrid-only) batching=no ;;
    --jit) jit=yes ;;
    *) demo_args+=("$a") ;;
  esac
done

case "$(uname -m)" in
  x86_64) rid=linux-x64 ;;
  aarch64) rid=linux-arm64 ;;
  *) rid="" ;;
esac
# publish.sh makes dataplane for linux-x64 only.
[ "$rid" = linux-x64 ] || { [ "$jit" = yes ] || echo "demo: no NativeAOT dataplane for $(uname -m); running the JIT builds"; jit=yes; }

# shellcheck source=scripts/lib/published.sh
. scripts/lib/published.sh

# Twelve seconds give about 30 local answers: enough to show the path, too few to decide the targets, which
# scripts/bench-agent.sh judges from a full run. The demo prints the figures and says so.
judge=(JUDGE=no "JUDGE_WHY=a 12 s demo is too short to decide the targets; scripts/bench-agent.sh judges them")
if [ "$jit" = yes ]; then
  echo "demo: building dataplane and dataplane-agent (Release, JIT)"
  dotnet build src/DataPlane.Host -c Release --nologo -v quiet -clp:ErrorsOnly
  dotnet build src/DataPlane.Agent -c Release --nologo -v quiet -clp:ErrorsOnly
  dataplane=$PWD/src/DataPlane.Host/bin/Release/net10.0/dataplane
  agent=$PWD/src/DataPlane.Agent/bin/Release/net10.0/dataplane-agent
  judge=(JUDGE=no "JUDGE_WHY=JIT build; the targets are for the NativeAOT binaries")
else
  dataplane=$(published_binary dataplane "$rid")
  agent=$(published_binary dataplane-agent "$rid")
fi

if [ "$batching" = yes ]; then
  echo
  echo "===== 1. Adaptive batching in front of the simulated Triton"
  "$dataplane" demo "${demo_args[@]}"
fi

if [ "$hybrid" = yes ]; then
  echo
  echo "===== 2. The hybrid path: agent (simulated Pi runtime) -> dataplane -> simulated Triton"
  env "${judge[@]}" DATAPLANE="$dataplane" DATAPLANE_AGENT="$agent" SECONDS_PER_RUN="${SECONDS_PER_RUN:-12}" \
    WARMUP_SECONDS="${WARMUP_SECONDS:-2}" OUT="${OUT:-$PWD/artifacts/demo/hybrid}" bash scripts/bench-agent.sh
fi
