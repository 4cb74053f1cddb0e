#!/usr/bin/env bash
# The internal PKI for mutual TLS between dataplane-agent (Pi nodes) and dataplane (GPU hosts), with openssl.
# EC P-256 keys throughout (cheap handshakes on a Pi); short-lived leaves so that rotation is routine.
#
#   scripts/pki.sh init DIR [--days N]                                 CA, default 1095 days (3 years)
#   scripts/pki.sh issue-server DIR NAME [--dns D]... [--ip A]... [--days N]   server certificate, default 30 days
#   scripts/pki.sh issue-client DIR NAME [--days N]                    client certificate, default 30 days
#   ... issue-server|issue-client ... --renew-within N    only when the leaf expires within N days or is not
#                                                         from this CA (for a daily timer); else leave it
#   scripts/pki.sh revoke DIR NAME|FILE.pem [--reason R] [--days N]   revoke a leaf, write DIR/crl.pem (N days, default 30)
#   scripts/pki.sh crl DIR [--days N]                                 re-sign DIR/crl.pem (for a timer)
#
# Files (keys 0600, certificates 0644):
#   DIR/ca.pem, DIR/ca.key                     the CA: keep ca.key off the nodes
#   DIR/hosts/NAME.pem, DIR/hosts/NAME.key     dataplane        -> /etc/dataplane/tls/host.pem, host.key
#   DIR/agents/NAME.pem, DIR/agents/NAME.key   dataplane-agent  -> /etc/dataplane/tls/agent.pem, agent.key
#   DIR/ca.pem on every node                                    -> /etc/dataplane/tls/ca.pem
#
# A server certificate names NAME (as DNS or IP) plus every --dns/--ip in subjectAltName; the agent
# checks the name it dials against it. Host certificates carry serverAuth and clientAuth: spill peers
# authenticate each other with them, by the DNS name (the transfer engine's identity, never an IP).
# `init` refuses to replace an existing CA. Re-issuing a leaf
# replaces its files atomically (new key, new certificate); both binaries reload changed files
# without a restart (docs/INSTALL.md, "Rotation").
set -euo pipefail

me=pki
die() { echo "$me: $*" >&2; exit 2; }
usage() { sed -n '4,11p' "$0" | sed 's/^# \{0,1\}//'; }

command -v openssl >/dev/null || die "openssl is required (scripts/bootstrap.sh installs it)"
[ $# -ge 1 ] || { usage >&2; exit 2; }
cmd=$1
shift
case "$cmd" in
  -h|--help) usage; exit 0 ;;
  init|issue-server|issue-client) ;;
  revoke|crl) exec bash "$(dirname "$0")/pki-crl.sh" "$cmd" "$@" ;;
  *) die "unknown command '$cmd' (init, issue-server, issue-client, revoke or crl)" ;;
esac
[ $# -ge 1 ] && [ -n "$1" ] || die "$cmd needs the output directory"
dir=$1
shift
name=""
if [ "$cmd" != init ]; then
  [ $# -ge 1 ] && [[ $1 != --* ]] || die "$cmd needs a NAME"
  name=$1
  shift
fi

# Names become file names and certificate fields: allow only what DNS names and addresses use.
valid_dns() { [[ $1 =~ ^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$ ]]; }
valid_ip() { [[ $1 =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ || ( $1 == *:* && $1 =~ ^[0-9A-Fa-f:.]+$ ) ]]; }

days=""
renew_within=""
dns=()
ips=()
while [ $# -gt 0 ]; do
  case "$1" in
    --days|--dns|--ip|--renew-within)
      [ $# -ge 2 ] && [ -n "$2" ] || die "$1 needs a value"
      case "$1" in
        --days) days=$2 ;;
        --renew-within) [ "$cmd" != init ] || die "--renew-within is for issue-server and issue-client"; renew_within=$2 ;;
        --dns) [ "$cmd" = issue-server ] || die "--dns is for issue-server"; valid_dns "$2" || die "'$2' is not a DNS name"; dns+=("$2") ;;
        --ip) [ "$cmd" = issue-server ] || die "--ip is for issue-server"; valid_ip "$2" || die "'$2' is not an IP address"; ips+=("$2") ;;
      esac
      shift 2 ;;
    *) die "unknown argument '$1'" ;;
  esac
done
if [ -z "$days" ]; then
  if [ "$cmd" = init ]; then days=1095; else days=30; fi
fi
[[ $days =~ ^[1-9][0-9]{0,4}$ ]] || die "--days: '$days' is not a positive number of days"
[ -z "$renew_within" ] || [[ $renew_within =~ ^[0-9]{1,5}$ ]] || die "--renew-within: '$renew_within' is not a number of days"

umask 077
new_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
serial() { echo "0x$(openssl rand -hex 16)"; }

if [ "$cmd" = init ]; then
  if [ -e "$dir/ca.key" ] || [ -e "$dir/ca.pem" ]; then
    die "$dir already holds a CA ($dir/ca.pem); refusing to replace it (every node trusts it). Remove it by hand to start over."
  fi
  mkdir -p "$dir"
  tmp=$(mktemp -d "$dir/.init.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  new_key "$tmp/ca.key"
  openssl req -x509 -new -key "$tmp/ca.key" -sha256 -days "$days" -subj "/CN=DataPlane CA" -set_serial "$(serial)" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash" -out "$tmp/ca.pem"
  chmod 0600 "$tmp/ca.key"
  chmod 0644 "$tmp/ca.pem"
  mv "$tmp/ca.key" "$dir/ca.key"
  mv "$tmp/ca.pem" "$dir/ca.pem"
  echo "$me: new CA $dir/ca.pem (valid $days days)"
  exit 0
fi

if [ "$cmd" = issue-server ]; then
  kind=hosts
  # Both uses: a GPU host is the server of its gRPC/transfer listeners and the client of the transfer
  # connections it opens to its spill peers (mutual TLS with the same certificate both ways).
  eku=serverAuth,clientAuth
  # The certificate always names NAME itself, so dialling it by that name verifies.
  if valid_ip "$name"; then ips=("$name" "${ips[@]}"); elif valid_dns "$name"; then dns=("$name" "${dns[@]}"); else die "'$name' is not a host name or address"; fi
else
  kind=agents
  eku=clientAuth
  valid_dns "$name" || die "'$name' is not a node name (letters, digits, dots and dashes)"
fi
[ -s "$dir/ca.key" ] && [ -s "$dir/ca.pem" ] || die "no CA in $dir: run scripts/pki.sh init $dir first"

# --renew-within: keep a leaf that this CA issued and that stays valid beyond the window. Names are not
# compared: after changing --dns/--ip, issue without --renew-within.
leaf="$dir/$kind/$name.pem"
if [ -n "$renew_within" ] && [ -s "$leaf" ] &&
  openssl verify -CAfile "$dir/ca.pem" "$leaf" >/dev/null 2>&1 &&
  openssl x509 -in "$leaf" -noout -checkend $((renew_within * 86400)) >/dev/null; then
  echo "$me: $leaf is valid until $(openssl x509 -in "$leaf" -noout -enddate | cut -d= -f2), beyond $renew_within days; not re-issued"
  exit 0
fi

san=""
for d in "${dns[@]}"; do san+="${san:+,}DNS:$d"; done
for a in "${ips[@]}"; do san+="${san:+,}IP:$a"; done

mkdir -p "$dir/$kind"
tmp=$(mktemp -d "$dir/$kind/.issue.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
new_key "$tmp/leaf.key"
openssl req -new -key "$tmp/leaf.key" -subj "/CN=$name" -out "$tmp/leaf.csr"
{
  echo "basicConstraints=critical,CA:FALSE"
  echo "keyUsage=critical,digitalSignature"
  echo "extendedKeyUsage=$eku"
  echo "authorityKeyIdentifier=keyid"
  [ -z "$san" ] || echo "subjectAltName=$san"
} >"$tmp/ext"
openssl x509 -req -in "$tmp/leaf.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -set_serial "$(serial)" -sha256 \
  -days "$days" -extfile "$tmp/ext" -out "$tmp/leaf.pem" 2>/dev/null
chmod 0600 "$tmp/leaf.key"
chmod 0644 "$tmp/leaf.pem"
# rename(2) within one directory: a reader sees the old file or the new one, never a partial one.
# The key goes first; a reader that catches the new key with the old certificate fails to pair them
# and keeps its previous pair until the certificate follows.
mv -f "$tmp/leaf.key" "$dir/$kind/$name.key"
mv -f "$tmp/leaf.pem" "$dir/$kind/$name.pem"
echo "$me: $dir/$kind/$name.pem (valid $days days${san:+, $san})"
