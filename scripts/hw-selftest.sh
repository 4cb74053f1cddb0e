#!/usr/bin/env bash
# Hardware self-test on a real GPU host (docs/HARDWARE.md): records what NVIDIA's and rdma-core's tools say about
# the host and compares DataPlane's own discovery with it, then shows the IRQ plan and, when an RDMA port is
# active, runs an RDMA loopback transfer. Reads the host only; it never tunes anything. Not part of CI.
#
#   scripts/hw-selftest.sh [REPORT]       # REPORT defaults to artifacts/hw-selftest/report.json
#
# Steps (each tool's output is kept next to the report, under outputs/):
#   1. nvidia-smi topo -m, nvidia-smi -q -x, nvidia-smi nvlink -s, and ibv_devinfo -v when it is installed
#   2. dataplane selftest against those files: every matrix cell, GPU PCI addresses, names and UUIDs, NVLink
#      states and speeds, RDMA devices and ports (exit 1 on a mismatch)
#   3. dataplane tune plan --profile gpu-host --only irq --json: the IRQ plan for the real NICs (a dry run)
#   4. when ibv_devinfo shows a PORT_ACTIVE port: dataplane xfer-bench over RDMA, server and client on this host
#      through that device (a short run: a few sizes, 1 s per size)
# The report is one JSON document: {"ok", "host", "date", "selftest", "irq_plan", "xfer_bench", exit statuses}.
#
# Environment:
#   DATAPLANE   the dataplane binary (default artifacts/publish/dataplane/linux-x64/dataplane; when it is absent,
#               src/DataPlane.Host is built and run with `dotnet run`)
#   RDMA_DEVICE the device for the loopback run (default: the first with a PORT_ACTIVE port)
#   XFER_PORT   the loopback server's TCP port (default: a free one)
#
# Exit status: 0 every check agreed and every step ran; 1 a mismatch or a failed step (the report says which);
# 2 this is not a GPU host (no nvidia-smi) or bad usage.
set -uo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
orig_pwd=$PWD
die() { echo "hw-selftest: $*" >&2; exit 2; }
abspath() {
  case "$1" in
    /*) printf '%s\n' "$1" ;;
    *) printf '%s\n' "$orig_pwd/$1" ;;
  esac
}

[ $# -le 1 ] || die "usage: $0 [REPORT]"
case "${1:-}" in -h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
REPORT=$(abspath "${1:-$repo_root/artifacts/hw-selftest/report.json}")
command -v nvidia-smi >/dev/null 2>&1 || die "nvidia-smi is not installed: run this on a GPU host with the NVIDIA driver"

BENCH_NAME=hw-selftest
# shellcheck source=scripts/lib/processes.sh
. "$repo_root/scripts/lib/processes.sh"
dataplane_given=${DATAPLANE:+yes}
DATAPLANE=$(abspath "${DATAPLANE:-$repo_root/artifacts/publish/dataplane/linux-x64/dataplane}")
cd "$repo_root"
resolve_executable dataplane DATAPLANE "$DATAPLANE" "$dataplane_given" src/DataPlane.Host

out_dir=$(dirname "$REPORT")
outputs="$out_dir/outputs"
mkdir -p "$outputs" || die "cannot create $outputs"
failed=()

# --- 1. the vendors' tools ---------------------------------------------------------------------------------------
record() {
  local file=$1
  shift
  if ! "$@" >"$outputs/$file" 2>"$outputs/$file.stderr"; then
    echo "hw-selftest: '$*' failed (see $outputs/$file.stderr)" >&2
    failed+=("$*")
    return 1
  fi
}
selftest_args=()
record nvidia-smi-topo-m.txt nvidia-smi topo -m && selftest_args+=(--nvidia-smi-topo "$outputs/nvidia-smi-topo-m.txt")
record nvidia-smi-q.xml nvidia-smi -q -x && selftest_args+=(--nvidia-smi-query "$outputs/nvidia-smi-q.xml")
# A host without NVLink prints no links here; the self-test then expects none.
record nvidia-smi-nvlink-s.txt nvidia-smi nvlink -s && selftest_args+=(--nvidia-smi-nvlink "$outputs/nvidia-smi-nvlink-s.txt")
have_ibv=false
if command -v ibv_devinfo >/dev/null 2>&1; then
  have_ibv=true
  # ibv_devinfo exits non-zero when there is no device ("No IB devices found"); an empty list is still an answer.
  ibv_devinfo -v >"$outputs/ibv_devinfo-v.txt" 2>"$outputs/ibv_devinfo-v.txt.stderr" || true
  selftest_args+=(--ibv-devinfo "$outputs/ibv_devinfo-v.txt")
fi

# --- 2. dataplane selftest ---------------------------------------------------------------------------------------
selftest_json="$outputs/selftest.json"
if [ ${#selftest_args[@]} -gt 0 ]; then
  "${dataplane[@]}" selftest "${selftest_args[@]}" --report "$selftest_json" >"$outputs/selftest.txt" 2>"$outputs/selftest.stderr"
  selftest_exit=$?
  cat "$outputs/selftest.txt"
  [ "$selftest_exit" -eq 0 ] || failed+=("dataplane selftest (exit $selftest_exit)")
else
  selftest_exit=2
  failed+=("dataplane selftest (no tool output to compare with)")
fi
[ -s "$selftest_json" ] || echo null >"$selftest_json"

# --- 3. the IRQ plan (dry run) -----------------------------------------------------------------------------------
irq_json="$outputs/irq-plan.json"
"${dataplane[@]}" tune plan --profile gpu-host --only irq --json >"$irq_json" 2>"$outputs/irq-plan.stderr"
irq_exit=$?
[ "$irq_exit" -eq 0 ] || failed+=("dataplane tune plan --only irq (exit $irq_exit)")
[ -s "$irq_json" ] || echo null >"$irq_json"

# --- 4. RDMA loopback --------------------------------------------------------------------------------------------
xfer_json="$outputs/xfer-bench.json"
echo null >"$xfer_json"
xfer_exit=null
xfer_device=${RDMA_DEVICE:-}
if [ -z "$xfer_device" ] && $have_ibv; then
  xfer_device=$(awk '$1 == "hca_id:" { dev = $2 } $1 == "state:" && $2 == "PORT_ACTIVE" && dev != "" { print dev; exit }' \
    "$outputs/ibv_devinfo-v.txt")
fi
if [ -n "$xfer_device" ]; then
  port=${XFER_PORT:-}
  [ -n "$port" ] || free_port port
  common=(--transport rdma --rdma-device "$xfer_device")
  start "$outputs/xfer-bench-server.log" "${dataplane[@]}" xfer-bench --server --once --listen "127.0.0.1:$port" "${common[@]}"
  server=$started
  deadline=$((SECONDS + 30))
  until port_open "$port" || ! alive "$server" || [ "$SECONDS" -ge "$deadline" ]; do sleep 0.2; done
  rm -f "$xfer_json"
  "${dataplane[@]}" xfer-bench --connect "127.0.0.1:$port" "${common[@]}" \
    --sizes 64K,1M,16M --lat-sizes 8,4K --duration 1 --json "$xfer_json" >"$outputs/xfer-bench-client.log" 2>&1
  xfer_exit=$?
  stop "$server"
  [ "$xfer_exit" -eq 0 ] || failed+=("dataplane xfer-bench over $xfer_device (exit $xfer_exit; see $outputs/xfer-bench-*.log)")
  [ -s "$xfer_json" ] || echo null >"$xfer_json"
fi

# --- the report --------------------------------------------------------------------------------------------------
json_string() {
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\t'/\\t}
  s=${s//$'\n'/\\n}
  printf '"%s"' "$s"
}
ok=true
[ ${#failed[@]} -eq 0 ] || ok=false
{
  printf '{\n'
  printf '  "ok": %s,\n' "$ok"
  printf '  "host": %s,\n' "$(json_string "$(hostname)")"
  printf '  "date": %s,\n' "$(json_string "$(date -u +%Y-%m-%dT%H:%M:%SZ)")"
  printf '  "dataplane_version": %s,\n' "$(json_string "$("${dataplane[@]}" --version 2>/dev/null | head -n 1)")"
  printf '  "driver": %s,\n' "$(json_string "$(nvidia-smi --query-gpu=driver_version --format=csv,noheader 2>/dev/null | head -n 1)")"
  printf '  "ibv_devinfo": %s,\n' "$have_ibv"
  printf '  "failed": ['
  sep=''
  for f in "${failed[@]}"; do printf '%s%s' "$sep" "$(json_string "$f")"; sep=', '; done
  printf '],\n'
  printf '  "selftest_exit": %s,\n' "$selftest_exit"
  printf '  "selftest": '; cat "$selftest_json"; printf ',\n'
  printf '  "irq_plan_exit": %s,\n' "$irq_exit"
  printf '  "irq_plan": '; cat "$irq_json"; printf ',\n'
  printf '  "xfer_bench_device": %s,\n' "$([ -n "$xfer_device" ] && json_string "$xfer_device" || echo null)"
  printf '  "xfer_bench_exit": %s,\n' "$xfer_exit"
  printf '  "xfer_bench": '; cat "$xfer_json"; printf '\n'
  printf '}\n'
} >"$REPORT"

echo "hw-selftest: report $REPORT (tool outputs in $outputs)"
if ! $ok; then
  printf 'hw-selftest: FAILED: %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "hw-selftest: every check agreed"
