#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls exactly this):
#   1. installs the system packages it needs (scripts/bootstrap.sh, idempotent);
#   2. publishes the NativeAOT executables (the end-to-end tests start them; the arm64 agent
#      runs under qemu-user-static);
#   3. builds the solution and runs every test project;
#   4. prints one last line: "N passed, N failed" (totals over all test projects).
set -uo pipefail
cd "$(dirname "$0")/.."

results=artifacts/test-results
mkdir -p artifacts/logs
rm -rf "$results"

give_up() {
  echo "test.sh: $1" >&2
  echo "0 passed, 1 failed"
  exit 1
}

bash scripts/bootstrap.sh || give_up "installing prerequisites failed"
bash scripts/publish.sh all || give_up "NativeAOT publish failed (see artifacts/logs)"

export DATAPLANE_BIN="$PWD/artifacts/publish/dataplane/linux-x64/dataplane"
export DATAPLANE_AGENT_BIN="$PWD/artifacts/publish/dataplane-agent/linux-x64/dataplane-agent"
export DATAPLANE_AGENT_ARM64_BIN="$PWD/artifacts/publish/dataplane-agent/linux-arm64/dataplane-agent"

if ! dotnet build DataPlane.sln -c Release --nologo -v:q >artifacts/logs/build.log 2>&1; then
  grep -E "error|warning" artifacts/logs/build.log | sort -u | head -40 >&2
  give_up "build failed (log: artifacts/logs/build.log)"
fi

# One test project at a time: several start servers and processes, and these machines have two cores.
dotnet test DataPlane.sln -c Release --no-build --nologo -m:1 \
  --logger "trx;LogFilePrefix=results" --logger "console;verbosity=minimal" \
  --results-directory "$results" 2>&1 | tee artifacts/logs/test.log
status=${PIPESTATUS[0]}

passed=0
failed=0
shopt -s nullglob
for trx in "$results"/*.trx; do
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
  f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  e=$(sed -n 's/.* error="\([0-9]*\)".*/\1/p' <<<"$counters")
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0} + ${e:-0}))
done

# A test host that crashed or a project that produced no results still counts as a failure.
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed=1
fi

echo "${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
