#!/usr/bin/env bash
# Renders every overlay of deploy/kubernetes into deploy/kubernetes/rendered/<overlay>.yaml (plain manifests for
# `kubectl apply -f`), then validates base, overlays and rendered files offline against the Kubernetes and
# prometheus-operator API schemas (docs/KUBERNETES.md, "Validation"). Needs node and the packages of
# deploy/kubernetes/validate (scripts/bootstrap.sh installs both).
#
#   scripts/k8s-render.sh           render, then check
#   scripts/k8s-render.sh --check   check only (what the Ops tests run)
set -euo pipefail
cd "$(dirname "$0")/.."
validate=deploy/kubernetes/validate

command -v node >/dev/null 2>&1 || { echo "k8s-render.sh: node is required (scripts/bootstrap.sh installs it)" >&2; exit 2; }
[ -d "$validate/node_modules/kubernetes-models" ] || { echo "k8s-render.sh: run 'npm ci' in $validate first (scripts/bootstrap.sh does)" >&2; exit 2; }

case "${1:-}" in
  "") node "$validate/cli.mjs" render ;;
  --check) ;;
  *) echo "k8s-render.sh: unknown argument '$1' (only --check)" >&2; exit 2 ;;
esac
exec node "$validate/cli.mjs" check
