#!/usr/bin/env bash
# Installs every system package the build, tests and benchmarks need, idempotently.
# Assumes only Debian 12 and the .NET 10 SDK. Safe to run again: it does nothing
# when everything is already present.
#
#   scripts/bootstrap.sh            # build + test prerequisites
#   scripts/bootstrap.sh --bench    # also the plotting tool used by bench scripts
set -euo pipefail

want_bench=0
for arg in "$@"; do
  case "$arg" in
    --bench) want_bench=1 ;;
    *) echo "bootstrap.sh: unknown argument '$arg'" >&2; exit 2 ;;
  esac
done

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "bootstrap.sh: run as root or install sudo" >&2; exit 1; }
  SUDO="sudo"
fi

if ! command -v dotnet >/dev/null 2>&1; then
  echo "bootstrap.sh: the .NET 10 SDK is required (https://dot.net); it is the one thing this script does not install" >&2
  exit 1
fi

# Native AOT (x64 and arm64 cross), the arm64 smoke test, native test libraries, and ip/unshare for
# the tuning tests in a private network namespace; libibverbs-dev for the verbs layout probes (headers only:
# the tests load our fake libibverbs.so.1, never a provider); systemd (systemd-analyze), prometheus (promtool and
# the server) and ansible for the operations tests, which run the real tools; minisign signs and verifies releases
# (scripts/release.sh, scripts/install.sh --from).
packages=(clang lld llvm gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu zlib1g-dev zlib1g-dev:arm64
          qemu-user-static make cmake curl ca-certificates file bc openssl
          iproute2 util-linux libibverbs-dev
          systemd prometheus ansible minisign)
if [ "$want_bench" -eq 1 ]; then
  packages+=(gnuplot-nox)
fi
# node and npm validate the Kubernetes manifests offline (deploy/kubernetes/validate). A node that is already there
# (Debian's, or another packaging of it that brings its own npm) is used as it is.
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)

if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  $SUDO dpkg --add-architecture arm64
  need_update=1
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "bootstrap.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
elif [ "${need_update:-0}" -eq 1 ]; then
  $SUDO apt-get update -qq
fi
echo "bootstrap.sh: system packages present"

# The npm packages of the manifest validator (Kubernetes and prometheus-operator API schemas), exactly as locked;
# installed again only when the lock file changes.
validate="$(cd "$(dirname "$0")/.." && pwd)/deploy/kubernetes/validate"
lock_sum=$(sha256sum "$validate/package-lock.json" | cut -d' ' -f1)
if [ "$(cat "$validate/node_modules/.dataplane-lock.sha256" 2>/dev/null)" != "$lock_sum" ]; then
  echo "bootstrap.sh: installing the manifest validator's npm packages"
  (cd "$validate" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  echo "$lock_sum" >"$validate/node_modules/.dataplane-lock.sha256"
fi
echo "bootstrap.sh: npm packages present"
