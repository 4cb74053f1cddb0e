#!/usr/bin/env bash
# Installs (or removes) one DataPlane node role under a prefix:
#   gpu-host  dataplane        -> PREFIX/usr/local/bin/dataplane, PREFIX/etc/dataplane/dataplane.json,
#                                 PREFIX/etc/systemd/system/dataplane.service, PREFIX/etc/sysctl.d/90-dataplane-gpu-host.conf
#   pi-edge   dataplane-agent  -> PREFIX/usr/local/bin/dataplane-agent, PREFIX/etc/dataplane/dataplane-agent.json,
#                                 PREFIX/etc/systemd/system/dataplane-agent.service, PREFIX/etc/sysctl.d/90-dataplane-pi-edge.conf
#
#   scripts/install.sh --role gpu-host|pi-edge [--prefix DIR] [--binary PATH] [--unit PATH] [--no-systemctl] [--uninstall]
#
# Idempotent: a file whose content and mode already match is reported "unchanged" and not touched.
# A configuration file that differs from the shipped one is the operator's: it is kept, and the
# shipped version is written beside it as *.json.new. Nothing is enabled, started or applied
# (sysctl profiles are applied by an explicit `sysctl --system` or `dataplane tune apply`); with
# prefix / and systemctl present, `systemctl daemon-reload` runs when a unit changed.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
me=install

die() { echo "$me: $*" >&2; exit 2; }
usage() {
  cat <<EOF
usage: scripts/install.sh --role gpu-host|pi-edge [--prefix DIR] [--binary PATH] [--unit PATH] [--no-systemctl] [--uninstall]
  --role ROLE      gpu-host (dataplane) or pi-edge (dataplane-agent)
  --prefix DIR     install root, an absolute path (default /)
  --binary PATH    the executable to install (default: the published one under artifacts/publish/)
  --unit PATH      the systemd unit to install (default: scripts/systemd/<name>.service)
  --no-systemctl   never call systemctl (default: daemon-reload after unit changes when the prefix is /)
  --uninstall      remove what this script installs (an operator-edited configuration is kept)
EOF
}

role=""
prefix="/"
binary=""
unit=""
use_systemctl=1
uninstall=0
while [ $# -gt 0 ]; do
  case "$1" in
    --role|--prefix|--binary|--unit)
      [ $# -ge 2 ] && [ -n "$2" ] || die "$1 needs a value (see --help)"
      case "$1" in
        --role) role=$2 ;;
        --prefix) prefix=$2 ;;
        --binary) binary=$2 ;;
        --unit) unit=$2 ;;
      esac
      shift 2 ;;
    --no-systemctl) use_systemctl=0; shift ;;
    --uninstall) uninstall=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done

[ -n "$role" ] || die "--role is required: gpu-host or pi-edge"
case "$role" in
  gpu-host)
    name=dataplane
    config=dataplane.json
    default_binary="$repo/artifacts/publish/dataplane/linux-x64/dataplane" ;;
  pi-edge)
    name=dataplane-agent
    config=dataplane-agent.json
    # The Pi build is cross-compiled for arm64; an x64 build serves development machines and CI.
    case "$(uname -m)" in
      aarch64|arm64) default_binary="$repo/artifacts/publish/dataplane-agent/linux-arm64/dataplane-agent" ;;
      *) default_binary="$repo/artifacts/publish/dataplane-agent/linux-x64/dataplane-agent" ;;
    esac ;;
  *) die "unknown role '$role': expected gpu-host or pi-edge" ;;
esac
sysctl_file="90-dataplane-$role.conf"

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
say() { echo "$me: $*"; }

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
  if [ "$units_changed" -eq 0 ] || [ "$use_systemctl" -eq 0 ] || [ -n "$root" ]; then
    return 0
  fi
  if command -v systemctl >/dev/null 2>&1; then
    systemctl daemon-reload
    say "systemctl daemon-reload"
  fi
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

binary=${binary:-$default_binary}
unit=${unit:-$repo/scripts/systemd/$name.service}
[ -f "$binary" ] || die "binary '$binary' does not exist (run scripts/publish.sh or pass --binary)"
[ -x "$binary" ] || die "binary '$binary' is not executable"
[ -f "$unit" ] || die "unit '$unit' does not exist (pass --unit)"
for f in "$repo/config/$config" "$repo/sysctl/$sysctl_file"; do
  [ -f "$f" ] || die "'$f' is missing from the repository"
done

put "$binary" "$bin_dir/$name" 0755
put "$unit" "$unit_dir/$name.service" 0644
units_changed=$did
put "$repo/sysctl/$sysctl_file" "$sysctl_dir/$sysctl_file" 0644

if [ ! -e "$etc_dir/$config" ] || cmp -s "$repo/config/$config" "$etc_dir/$config"; then
  put "$repo/config/$config" "$etc_dir/$config" 0644
  # A stale .new from an earlier upgrade no longer means anything once the files agree.
  remove "$etc_dir/$config.new"
else
  put "$repo/config/$config" "$etc_dir/$config.new" 0644
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
if [ "$changed" -eq 0 ]; then
  say "$role: unchanged ($unchanged files)"
else
  say "$role: $changed changed, $unchanged unchanged"
fi
if [ -z "$root" ]; then
  say "next: put certificates in $etc_dir/tls, then: systemctl enable --now $name"
fi
