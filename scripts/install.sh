#!/usr/bin/env bash
# Installs (or removes) one DataPlane node role under a prefix:
#   gpu-host  dataplane        -> PREFIX/usr/local/bin/dataplane, PREFIX/etc/dataplane/dataplane.json,
#                                 PREFIX/etc/systemd/system/dataplane.service, PREFIX/etc/sysctl.d/90-dataplane-gpu-host.conf
#   pi-edge   dataplane-agent  -> PREFIX/usr/local/bin/dataplane-agent, PREFIX/etc/dataplane/dataplane-agent.json,
#                                 PREFIX/etc/systemd/system/dataplane-agent.service, PREFIX/etc/sysctl.d/90-dataplane-pi-edge.conf
#
#   scripts/install.sh --role gpu-host|pi-edge [--prefix DIR] [--binary PATH] [--unit PATH] [--arch x64|arm64]
#                      [--no-systemctl] [--uninstall]
#   scripts/install.sh --role gpu-host|pi-edge --from RELEASE --pubkey FILE [--pubkey FILE ...] [--prefix DIR]
#                      [--arch x64|arm64] [--no-service]
#
# From a checkout (the first form) the files come from the repository and artifacts/publish/. From a
# release (--from, written by scripts/release.sh) they come from the release directory, and nothing is
# installed until the minisign signature of its SHA256SUMS verifies with one of the trusted public keys
# and every file to be installed matches its checksum (scripts/lib/release-verify.sh; refusal: exit 3).
#
# Idempotent: a file whose content and mode already match is reported "unchanged" and not touched.
# A configuration file that differs from the shipped one is the operator's: it is kept, and the
# shipped version is written beside it as *.json.new. sysctl profiles are never applied (that is an
# explicit `sysctl --system` or `dataplane tune apply`). With prefix / and systemctl present,
# `systemctl daemon-reload` runs when a unit changed; a release install also enables the service and
# (re)starts it when it is not running or a file it uses changed. A checkout install never enables or
# starts anything; --no-service (or --no-systemctl) never calls systemctl at all.
# DATAPLANE_SYSTEMCTL names a stand-in for systemctl (tests); it is called even under a --prefix.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
me=install

die() { echo "$me: $*" >&2; exit 2; }
usage() {
  cat <<EOF
usage: scripts/install.sh --role gpu-host|pi-edge [--prefix DIR] [--binary PATH] [--unit PATH] [--arch x64|arm64]
                          [--no-systemctl] [--uninstall]
       scripts/install.sh --role gpu-host|pi-edge --from RELEASE --pubkey FILE [--pubkey FILE ...] [--prefix DIR]
                          [--arch x64|arm64] [--no-service]
  --role ROLE      gpu-host (dataplane) or pi-edge (dataplane-agent)
  --prefix DIR     install root, an absolute path (default /)
  --binary PATH    the executable to install (default: the published one under artifacts/publish/)
  --unit PATH      the systemd unit to install (default: scripts/systemd/<name>.service)
  --arch ARCH      x64 or arm64: which build of dataplane-agent (default: this machine's; dataplane is x64 only)
  --from RELEASE   install from a signed release directory (scripts/release.sh), verified first
  --pubkey FILE    trusted minisign public key file (one or more keys); repeat to trust several (rotation)
  --no-service     install files only: never call systemctl (no daemon-reload, enable or start)
  --no-systemctl   the same as --no-service
  --uninstall      remove what this script installs (an operator-edited configuration is kept)
EOF
}

role=""
prefix="/"
binary=""
unit=""
arch=""
from=""
pubkeys=()
use_systemctl=1
uninstall=0
while [ $# -gt 0 ]; do
  case "$1" in
    --role|--prefix|--binary|--unit|--arch|--from|--pubkey)
      [ $# -ge 2 ] && [ -n "$2" ] || die "$1 needs a value (see --help)"
      case "$1" in
        --role) role=$2 ;;
        --prefix) prefix=$2 ;;
        --binary) binary=$2 ;;
        --unit) unit=$2 ;;
        --arch) arch=$2 ;;
        --from) from=$2 ;;
        --pubkey) pubkeys+=("$2") ;;
      esac
      shift 2 ;;
    --no-systemctl|--no-service) use_systemctl=0; shift ;;
    --uninstall) uninstall=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done

[ -n "$role" ] || die "--role is required: gpu-host or pi-edge"
if [ -z "$arch" ]; then
  # The Pi build is cross-compiled for arm64; an x64 build serves development machines and CI.
  # The daemon has only the x64 build, whatever machine installs it.
  case "$role:$(uname -m)" in
    pi-edge:aarch64|pi-edge:arm64) arch=arm64 ;;
    *) arch=x64 ;;
  esac
fi
case "$arch" in
  x64|arm64) ;;
  *) die "unknown --arch '$arch': expected x64 or arm64" ;;
esac
case "$role" in
  gpu-host)
    name=dataplane
    config=dataplane.json
    [ "$arch" = x64 ] || die "--arch $arch: dataplane (gpu-host) is built for x64 only" ;;
  pi-edge)
    name=dataplane-agent
    config=dataplane-agent.json ;;
  *) die "unknown role '$role': expected gpu-host or pi-edge" ;;
esac
rid="linux-$arch"
default_binary="$repo/artifacts/publish/$name/$rid/$name"
sysctl_file="90-dataplane-$role.conf"
if [ -n "$from" ]; then
  [ -z "$binary" ] && [ -z "$unit" ] || die "--binary and --unit do not go with --from: a release installs its own files"
  [ "$uninstall" -eq 0 ] || die "--uninstall does not go with --from: run it without --from"
  [ "${#pubkeys[@]}" -gt 0 ] || die "--from needs --pubkey FILE: the release is verified against trusted minisign public keys"
elif [ "${#pubkeys[@]}" -gt 0 ]; then
  die "--pubkey only goes with --from RELEASE"
fi

[[ $prefix == /* ]] || die "--prefix '$prefix' is not an absolute path"
[[ $prefix != *$'\n'* ]] || die "--prefix contains a newline"
root=${prefix%/}
bin_dir="$root/usr/local/bin"
etc_dir="$root/etc/dataplane"
unit_dir="$root/etc/systemd/system"
sysctl_dir="$root/etc/sysctl.d"

changed=0
unchanged=0
units_changed=0
# Whether a file the service reads (binary, unit, configuration) was replaced: a release install restarts it.
service_changed=0
say() { echo "$me: $*"; }
systemctl_cmd=${DATAPLANE_SYSTEMCTL:-systemctl}

# systemctl is called only with the prefix / (or a stand-in from DATAPLANE_SYSTEMCTL) and without --no-service.
can_systemctl() {
  [ "$use_systemctl" -eq 1 ] || return 1
  [ -n "${DATAPLANE_SYSTEMCTL:-}" ] && return 0
  [ -z "$root" ] && command -v systemctl >/dev/null 2>&1
}

# Replaces DEST with SRC at MODE unless it already has that content and mode; the new file is
# written beside DEST and renamed over it, so a running service never reads a half-written file.
# Sets did=1 when it wrote (called plainly, not in a condition, so `set -e` still stops on errors).
did=0
put() {
  local src=$1 dest=$2 mode=$3 tmp
  if [ -f "$dest" ] && cmp -s "$src" "$dest" && [ "$(stat -c %a "$dest")" = "${mode#0}" ]; then
    say "unchanged $dest"
    unchanged=$((unchanged + 1))
    did=0
    return 0
  fi
  mkdir -p "$(dirname "$dest")"
  tmp=$(mktemp "$(dirname "$dest")/.install.XXXXXX")
  cp -- "$src" "$tmp"
  chmod "$mode" "$tmp"
  mv -f -- "$tmp" "$dest"
  say "installed $dest"
  changed=$((changed + 1))
  did=1
}

remove() {
  local path=$1
  did=0
  if [ -e "$path" ] || [ -L "$path" ]; then
    rm -f -- "$path"
    say "removed $path"
    changed=$((changed + 1))
    did=1
  fi
}

daemon_reload() {
  if [ "$units_changed" -eq 0 ] || ! can_systemctl; then
    return 0
  fi
  "$systemctl_cmd" daemon-reload
  say "systemctl daemon-reload"
}

# A release install: the service is enabled, and started or restarted when it is not running or a
# file it reads changed. A failure to start leaves the files in place and says where to look.
start_service() {
  can_systemctl || return 0
  if ! "$systemctl_cmd" is-enabled --quiet "$name.service" 2>/dev/null; then
    "$systemctl_cmd" enable --quiet "$name.service"
    say "systemctl enable $name.service"
  fi
  if [ "$service_changed" -eq 0 ] && "$systemctl_cmd" is-active --quiet "$name.service" 2>/dev/null; then
    return 0
  fi
  if ! "$systemctl_cmd" restart "$name.service"; then
    echo "$me: installed, but $name.service did not start (journalctl -u $name.service); a first install needs its certificates in $etc_dir/tls: use --no-service, add them, then systemctl enable --now $name" >&2
    exit 1
  fi
  say "systemctl restart $name.service"
}

if [ "$uninstall" -eq 1 ]; then
  remove "$bin_dir/$name"
  remove "$unit_dir/$name.service"
  units_changed=$did
  remove "$sysctl_dir/$sysctl_file"
  remove "$etc_dir/$config.new"
  if [ -f "$etc_dir/$config" ]; then
    if cmp -s "$repo/config/$config" "$etc_dir/$config"; then
      remove "$etc_dir/$config"
    else
      say "kept $etc_dir/$config (edited by the operator; remove it by hand)"
    fi
  fi
  # Only empty directories go: certificates and the other role's files stay.
  rmdir "$etc_dir/tls" 2>/dev/null || true
  rmdir "$etc_dir" 2>/dev/null || true
  daemon_reload
  say "$role: $changed removed"
  exit 0
fi

if [ -n "$from" ]; then
  # Everything this role installs is copied out of the release into a private directory, verified
  # there, and installed from there: a release directory that changes after the check changes nothing.
  [ -d "$from" ] || die "release directory '$from' does not exist"
  stage=$(mktemp -d "${TMPDIR:-/tmp}/dataplane-install.XXXXXX")
  trap 'rm -rf -- "$stage"' EXIT
  rel_binary="bin/$rid/$name"
  rel_unit="scripts/systemd/$name.service"
  verify=(bash "$repo/scripts/lib/release-verify.sh" --name "$me" --from "$from" --stage "$stage")
  for k in "${pubkeys[@]}"; do verify+=(--pubkey "$k"); done
  set +e
  "${verify[@]}" "$rel_binary" "$rel_unit" "config/$config" "sysctl/$sysctl_file"
  status=$?
  set -e
  [ "$status" -eq 0 ] || exit "$status"
  binary="$stage/$rel_binary"
  unit="$stage/$rel_unit"
  config_src="$stage/config/$config"
  sysctl_src="$stage/sysctl/$sysctl_file"
else
  binary=${binary:-$default_binary}
  unit=${unit:-$repo/scripts/systemd/$name.service}
  config_src="$repo/config/$config"
  sysctl_src="$repo/sysctl/$sysctl_file"
  [ -f "$binary" ] || die "binary '$binary' does not exist (run scripts/publish.sh or pass --binary)"
  [ -f "$unit" ] || die "unit '$unit' does not exist (pass --unit)"
  for f in "$config_src" "$sysctl_src"; do
    [ -f "$f" ] || die "'$f' is missing from the repository"
  done
fi
[ -x "$binary" ] || [ -n "$from" ] || die "binary '$binary' is not executable"

put "$binary" "$bin_dir/$name" 0755
service_changed=$did
put "$unit" "$unit_dir/$name.service" 0644
units_changed=$did
[ "$did" -eq 0 ] || service_changed=1
put "$sysctl_src" "$sysctl_dir/$sysctl_file" 0644

if [ ! -e "$etc_dir/$config" ] || cmp -s "$config_src" "$etc_dir/$config"; then
  put "$config_src" "$etc_dir/$config" 0644
  [ "$did" -eq 0 ] || service_changed=1
  # A stale .new from an earlier upgrade no longer means anything once the files agree.
  remove "$etc_dir/$config.new"
else
  put "$config_src" "$etc_dir/$config.new" 0644
  say "kept $etc_dir/$config (edited by the operator); the shipped version is $etc_dir/$config.new"
fi
# Certificates and keys go here (scripts/pki.sh); keys must be readable by the service only.
if [ ! -d "$etc_dir/tls" ]; then
  mkdir -p "$etc_dir/tls"
  chmod 0700 "$etc_dir/tls"
  say "created $etc_dir/tls"
  changed=$((changed + 1))
fi

daemon_reload
if [ -n "$from" ]; then
  start_service
fi
if [ "$changed" -eq 0 ]; then
  say "$role: unchanged ($unchanged files)"
else
  say "$role: $changed changed, $unchanged unchanged"
fi
if [ -z "$root" ] && { [ -z "$from" ] || ! can_systemctl; }; then
  say "next: put certificates in $etc_dir/tls, then: systemctl enable --now $name"
fi
