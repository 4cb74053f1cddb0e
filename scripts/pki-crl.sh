#!/usr/bin/env bash
# Revocation for the internal PKI of scripts/pki.sh (which runs this for its revoke and crl commands).
#
#   scripts/pki.sh revoke DIR NAME|FILE.pem [--reason R] [--days N]   revoke a leaf; writes DIR/crl.pem
#   scripts/pki.sh crl DIR [--days N]                                 re-sign DIR/crl.pem with a fresh next update
#
# NAME is a leaf of DIR (hosts/NAME.pem or agents/NAME.pem); a certificate file may be named instead (a copy of
# a leaf that was re-issued since). R is an openssl -crl_reason (keyCompromise, superseded, cessationOfOperation,
# affiliationChanged, unspecified). The CRL is valid N days (default 30): run `crl` from a timer well before
# that, and copy DIR/crl.pem to every node (Listen:Tls:Crl, Gpu:Tls:Crl); both binaries re-read it when it
# changes. The revoked serials are kept in openssl's CA database DIR/crl/index.txt.
set -euo pipefail

me=pki
die() { echo "$me: $*" >&2; exit 2; }

command -v openssl >/dev/null || die "openssl is required (scripts/bootstrap.sh installs it)"
[ $# -ge 1 ] || die "revoke or crl?"
cmd=$1
shift
case "$cmd" in
  revoke|crl) ;;
  *) die "unknown command '$cmd' (revoke or crl)" ;;
esac
[ $# -ge 1 ] && [ -n "$1" ] || die "$cmd needs the PKI directory"
dir=$1
shift
target=""
if [ "$cmd" = revoke ]; then
  [ $# -ge 1 ] && [[ $1 != --* ]] || die "revoke needs a NAME (a leaf in $dir/hosts or $dir/agents) or a certificate file"
  target=$1
  shift
fi

days=30
reason=""
while [ $# -gt 0 ]; do
  case "$1" in
    --days|--reason)
      [ $# -ge 2 ] && [ -n "$2" ] || die "$1 needs a value"
      case "$1" in
        --days) days=$2 ;;
        --reason) [ "$cmd" = revoke ] || die "--reason is for revoke"; reason=$2 ;;
      esac
      shift 2 ;;
    *) die "unknown argument '$1'" ;;
  esac
done
[[ $days =~ ^[1-9][0-9]{0,4}$ ]] || die "--days: '$days' is not a positive number of days"
case "$reason" in
  ""|unspecified|keyCompromise|affiliationChanged|superseded|cessationOfOperation|certificateHold) ;;
  *) die "--reason: '$reason' is not one of unspecified, keyCompromise, affiliationChanged, superseded, cessationOfOperation" ;;
esac
[ -s "$dir/ca.key" ] && [ -s "$dir/ca.pem" ] || die "no CA in $dir: run scripts/pki.sh init $dir first"
dir=$(cd "$dir" && pwd)

leaf=""
if [ "$cmd" = revoke ]; then
  if [ -f "$target" ] && [[ $target == *.pem ]]; then
    leaf=$target
  else
    [[ $target =~ ^[A-Za-z0-9]([A-Za-z0-9.:-]*[A-Za-z0-9])?$ ]] || die "'$target' is neither a leaf name nor a .pem file"
    found=()
    for kind in hosts agents; do
      [ ! -f "$dir/$kind/$target.pem" ] || found+=("$dir/$kind/$target.pem")
    done
    [ ${#found[@]} -gt 0 ] || die "no leaf '$target' in $dir/hosts or $dir/agents"
    [ ${#found[@]} -eq 1 ] || die "both ${found[0]} and ${found[1]} exist; revoke one by its file"
    leaf=${found[0]}
  fi
  openssl x509 -in "$leaf" -noout >/dev/null 2>&1 || die "$leaf is not a PEM certificate"
  openssl verify -no_check_time -CAfile "$dir/ca.pem" "$leaf" >/dev/null 2>&1 ||
    die "$leaf was not issued by the CA in $dir (revocation lists only name certificates of their own CA)"
fi

umask 077
mkdir -p "$dir/crl"
# One change at a time: openssl ca rewrites its database by rename.
if command -v flock >/dev/null; then
  exec 9>"$dir/crl/.lock"
  flock 9
fi
[ -e "$dir/crl/index.txt" ] || : >"$dir/crl/index.txt"
[ -e "$dir/crl/index.txt.attr" ] || echo "unique_subject = no" >"$dir/crl/index.txt.attr"
[ -s "$dir/crl/crlnumber" ] || echo 01 >"$dir/crl/crlnumber"

tmp=$(mktemp -d "$dir/crl/.run.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/ca.cnf" <<CNF
[ ca ]
default_ca = dataplane
[ dataplane ]
database = $dir/crl/index.txt
crlnumber = $dir/crl/crlnumber
certificate = $dir/ca.pem
private_key = $dir/ca.key
default_md = sha256
default_crl_days = $days
unique_subject = no
crl_extensions = crl_extensions
[ crl_extensions ]
authorityKeyIdentifier = keyid:always
CNF

if [ "$cmd" = revoke ]; then
  serial=$(openssl x509 -in "$leaf" -noout -serial | cut -d= -f2)
  subject=$(openssl x509 -in "$leaf" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')
  if awk -F'\t' -v s="$serial" '$1 == "R" && toupper($4) == toupper(s) { found = 1 } END { exit !found }' "$dir/crl/index.txt"; then
    echo "$me: $subject (serial $serial) was already revoked"
  else
    openssl ca -config "$tmp/ca.cnf" -revoke "$leaf" ${reason:+-crl_reason "$reason"} >"$tmp/log" 2>&1 ||
      { cat "$tmp/log" >&2; die "openssl ca could not revoke $leaf"; }
    echo "$me: revoked $subject (serial $serial${reason:+, $reason})"
  fi
fi

openssl ca -config "$tmp/ca.cnf" -gencrl -out "$tmp/crl.pem" >"$tmp/log" 2>&1 ||
  { cat "$tmp/log" >&2; die "openssl ca could not write the CRL"; }
chmod 0644 "$tmp/crl.pem"
# rename(2): readers see the old list or the new one, never a partial one.
mv -f "$tmp/crl.pem" "$dir/crl.pem"
count=$(awk -F'\t' '$1 == "R"' "$dir/crl/index.txt" | wc -l)
next=$(openssl crl -in "$dir/crl.pem" -noout -nextupdate | cut -d= -f2)
echo "$me: $dir/crl.pem lists $count revoked certificate(s), next update $next; copy it to every node (Listen:Tls:Crl, Gpu:Tls:Crl)"
