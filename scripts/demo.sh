#!/usr/bin/env bash
# Quickstart: runs the daemon with its embedded defaults in front of the simulated Triton (a
# simulation; no Triton or GPU needed), drives an open-loop load sweep through it and prints
# throughput, latency percentiles and SLO attainment. Needs only the .NET 10 SDK.
#   scripts/demo.sh [--rates 20,200,1000,2000] [--duration 3]
set -euo pipefail
cd "$(dirname "$0")/.."
exec dotnet run --project src/DataPlane.Host -c Release -- demo "$@"
