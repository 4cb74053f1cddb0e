#!/usr/bin/env bash
# Compatibility front end for scripts/pki.sh (the PKI script; see it for files and lifetimes):
#
#   scripts/make-pki.sh OUT --host gpu-01.dataplane.internal[,10.0.0.11] ... --agent pi-01 ...
#
# creates the CA in OUT unless one is there (so nodes can be added later), then one server
# certificate per --host (the first name is the file name; every name or address goes into
# subjectAltName) and one client certificate per --agent. DAYS sets the leaf lifetime.
set -euo pipefail

pki="$(dirname "$0")/pki.sh"
die() { echo "make-pki: $*" >&2; exit 2; }
[ $# -ge 1 ] || die "usage: $0 OUT --host NAME[,ALT...] ... --agent NAME ..."
out=$1
shift
days=()
if [ -n "${DAYS:-}" ]; then days=(--days "$DAYS"); fi

hosts=()
agents=()
while [ $# -gt 0 ]; do
  case "$1" in
    --host) [ $# -ge 2 ] || die "--host needs NAME[,ALT...]"; hosts+=("$2"); shift 2 ;;
    --agent) [ $# -ge 2 ] || die "--agent needs NAME"; agents+=("$2"); shift 2 ;;
    *) die "unknown argument '$1'" ;;
  esac
done
[ ${#hosts[@]} -gt 0 ] || [ ${#agents[@]} -gt 0 ] || die "nothing to issue: give --host and/or --agent"

[ -s "$out/ca.key" ] || bash "$pki" init "$out"
for spec in "${hosts[@]}"; do
  IFS=, read -r -a names <<<"$spec"
  [ ${#names[@]} -gt 0 ] || die "--host needs NAME[,ALT...]"
  alts=()
  for n in "${names[@]:1}"; do
    if [[ $n =~ ^[0-9.]+$ || $n == *:* ]]; then alts+=(--ip "$n"); else alts+=(--dns "$n"); fi
  done
  bash "$pki" issue-server "$out" "${names[0]}" "${alts[@]}" "${days[@]}"
done
for name in "${agents[@]}"; do
  bash "$pki" issue-client "$out" "$name" "${days[@]}"
done
