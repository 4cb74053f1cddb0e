#!/usr/bin/env bash
# Issues the certificates for mutual TLS between dataplane-agent (Pi nodes) and dataplane (GPU hosts):
# a private CA, one server certificate per GPU host (subjectAltName = its names and addresses,
# extendedKeyUsage serverAuth) and one client certificate per Pi node (clientAuth). EC P-256 keys
# (cheap handshakes on a Pi), PEM files as the shipped configuration expects them:
#   OUT/ca.pem, OUT/ca.key                     the CA (keep ca.key off the nodes)
#   OUT/hosts/NAME.pem, OUT/hosts/NAME.key     for `dataplane`        -> /etc/dataplane/tls/host.pem, host.key
#   OUT/agents/NAME.pem, OUT/agents/NAME.key   for `dataplane-agent`  -> /etc/dataplane/tls/agent.pem, agent.key
# and ca.pem on every node as /etc/dataplane/tls/ca.pem.
#
#   scripts/make-pki.sh OUT --host gpu-01.dataplane.internal[,10.0.0.11] ... --agent pi-01 ...
#
# An existing CA in OUT is reused, so nodes can be added later. Certificates last DAYS (default 825).
set -euo pipefail

die() { echo "make-pki: $*" >&2; exit 2; }
[ $# -ge 1 ] || die "usage: $0 OUT --host NAME[,ALT...] ... --agent NAME ..."
out=$1
shift
days=${DAYS:-825}
[[ $days =~ ^[1-9][0-9]*$ ]] || die "DAYS: '$days' is not a positive number"
command -v openssl >/dev/null || die "openssl is required (scripts/bootstrap.sh installs it)"

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

# Names become file names and certificate fields: allow only what DNS names and addresses use.
valid_name() { [[ $1 =~ ^[A-Za-z0-9]([A-Za-z0-9.:-]*[A-Za-z0-9])?$ ]]; }

umask 077
mkdir -p "$out/hosts" "$out/agents"
if [ ! -s "$out/ca.key" ]; then
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$out/ca.key" 2>/dev/null
  openssl req -x509 -new -key "$out/ca.key" -sha256 -days "$((days * 2))" -subj "/CN=DataPlane CA" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$out/ca.pem"
  echo "make-pki: new CA $out/ca.pem"
fi

# issue KIND NAME SAN EKU
issue() {
  local kind=$1 name=$2 san=$3 eku=$4
  local key="$out/$kind/$name.key" cert="$out/$kind/$name.pem" csr
  csr=$(mktemp)
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$key" 2>/dev/null
  openssl req -new -key "$key" -subj "/CN=$name" -out "$csr"
  openssl x509 -req -in "$csr" -CA "$out/ca.pem" -CAkey "$out/ca.key" -CAcreateserial -sha256 -days "$days" \
    -extfile <(printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=%s\n%s' \
      "$eku" "${san:+subjectAltName=$san}") -out "$cert" 2>/dev/null
  rm -f "$csr"
  echo "make-pki: $cert"
}

for spec in "${hosts[@]}"; do
  IFS=, read -r -a names <<<"$spec"
  san=""
  for n in "${names[@]}"; do
    valid_name "$n" || die "'$n' is not a host name or address"
    if [[ $n =~ ^[0-9.]+$ || $n == *:* ]]; then san+="${san:+,}IP:$n"; else san+="${san:+,}DNS:$n"; fi
  done
  issue hosts "${names[0]}" "$san" serverAuth
done
for name in "${agents[@]}"; do
  valid_name "$name" || die "'$name' is not a node name"
  issue agents "$name" "" clientAuth
done
