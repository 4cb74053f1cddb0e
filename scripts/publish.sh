#!/usr/bin/env bash
# Publishes the NativeAOT executables into artifacts/publish/<name>/<rid>/ and fails on any
# trim/AOT warning:
#   dataplane        linux-x64     (GPU hosts)
#   dataplane-agent  linux-x64     (development, CI)
#   dataplane-agent  linux-arm64   (Raspberry Pi; cross-compiled with clang/lld)
# Usage: scripts/publish.sh [dataplane|dataplane-agent|all] [RID]   (default all; RID: only that runtime)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh >/dev/null

which=${1:-all}
only_rid=${2:-}
case "$only_rid" in
  "" | linux-x64 | linux-arm64) ;;
  *) echo "publish.sh: unknown runtime '$only_rid' (linux-x64 or linux-arm64)" >&2; exit 2 ;;
esac
mkdir -p artifacts/logs

publish() {
  local project=$1 name=$2 rid=$3
  local out="artifacts/publish/$name/$rid"
  [ -z "$only_rid" ] || [ "$rid" = "$only_rid" ] || return 0
  local log="artifacts/logs/publish-$name-$rid.log"
  rm -rf "$out"
  echo "publish: $name ($rid)"
  if ! dotnet publish "src/$project" -c Release -r "$rid" -o "$out" --nologo -v:m \
      -p:TreatWarningsAsErrors=true -p:IlcTreatWarningsAsErrors=true >"$log" 2>&1; then
    tail -40 "$log" >&2
    echo "publish: $name ($rid) FAILED (log: $log)" >&2
    return 1
  fi
  if grep -E "warning (IL|AOT|CS|NU)[0-9]+" "$log" >&2; then
    echo "publish: $name ($rid) produced trim/AOT warnings (log: $log)" >&2
    return 1
  fi
  # Symbols live in the .dbg file next to the stripped binary; other build leftovers are not shipped.
  find "$out" -maxdepth 1 -type f \( -name '*.pdb' -o -name '*.xml' -o -name '*.staticwebassets*' \) -delete
  local size
  size=$(stat -c %s "$out/$name")
  printf 'publish: %-16s %-12s %6.1f MiB  %s\n' "$name" "$rid" "$(echo "$size / 1048576" | bc -l)" "$(file -b "$out/$name" | cut -d, -f1-2)"
}

case "$which" in
  dataplane) publish DataPlane.Host dataplane linux-x64 ;;
  dataplane-agent)
    publish DataPlane.Agent dataplane-agent linux-x64
    publish DataPlane.Agent dataplane-agent linux-arm64 ;;
  all)
    publish DataPlane.Host dataplane linux-x64
    publish DataPlane.Agent dataplane-agent linux-x64
    publish DataPlane.Agent dataplane-agent linux-arm64 ;;
  *) echo "publish.sh: unknown target '$which' (dataplane, dataplane-agent or all)" >&2; exit 2 ;;
esac
