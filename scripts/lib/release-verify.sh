#!/usr/bin/env bash
# Verifies files of a signed release (scripts/release.sh) before anything is installed from it:
#   1. copies SHA256SUMS, its signature and every FILE from the release into STAGE (so that what is
#      verified is exactly what the caller installs, even if the release directory changes meanwhile);
#   2. checks the minisign signature of SHA256SUMS against the trusted public keys (the key id in the
#      signature picks the key, so a list of keys supports rotation);
#   3. checks that every FILE is listed in SHA256SUMS and that its SHA-256 matches.
#
#   release-verify.sh --from DIR --pubkey FILE [--pubkey FILE ...] --stage DIR [--name NAME] FILE...
#
# (--option=value works as well.) NAME prefixes every message (default release-verify).
# A public key file holds one or more minisign public keys: `minisign -G` output (an untrusted comment
# line, then the key) or bare base64 keys, one a line; blank lines and lines starting with '#' are skipped.
# Prints one line on success (the signing key and the signature's trusted comment). Exit status:
# 0 verified, 2 bad arguments or a missing tool, 3 refused (unsigned, wrongly signed or altered);
# every failure is one line on stderr. Needs only bash, coreutils (sha256sum, base64, od) and minisign.
set -euo pipefail

me=release-verify
from=""
stage=""
pubkeys=()
files=()

die() { echo "$me: $*" >&2; exit 2; }
# Callers verify before they install anything, so a refusal always means nothing was installed.
refuse() { echo "$me: refused, nothing installed: $*" >&2; exit 3; }

while [ $# -gt 0 ]; do
  # --option=value as one argument (handy where arguments come from a list, as in the Ansible roles).
  case "$1" in
    --from=*|--stage=*|--pubkey=*|--name=*)
      arg=$1
      shift
      set -- "${arg%%=*}" "${arg#*=}" "$@" ;;
  esac
  case "$1" in
    --from|--stage|--pubkey|--name)
      [ $# -ge 2 ] && [ -n "$2" ] || die "$1 needs a value"
      case "$1" in
        --from) from=$2 ;;
        --stage) stage=$2 ;;
        --pubkey) pubkeys+=("$2") ;;
        --name) me=$2 ;;
      esac
      shift 2 ;;
    --) shift; files+=("$@"); break ;;
    -*) die "unknown argument '$1'" ;;
    *) files+=("$1"); shift ;;
  esac
done

[ -n "$from" ] || die "--from DIR is required (a release directory written by scripts/release.sh)"
[ -n "$stage" ] || die "--stage DIR is required"
[ "${#pubkeys[@]}" -gt 0 ] || die "--pubkey FILE is required: the release is verified against trusted minisign public keys"
[ "${#files[@]}" -gt 0 ] || die "no files to verify"
[ -d "$from" ] || die "release directory '$from' does not exist"
[ -d "$stage" ] || die "stage directory '$stage' does not exist"
command -v minisign >/dev/null 2>&1 || die "minisign is not installed (Debian: apt-get install minisign)"
command -v sha256sum >/dev/null 2>&1 || die "sha256sum is not installed (coreutils)"

# The 8-byte key id at offset 2 of a decoded key or signature, printed as minisign prints it
# (the little-endian 64-bit number in upper-case hex).
key_id() {
  local hex
  hex=$(printf '%s' "$1" | base64 -d 2>/dev/null | od -An -v -tx1 -j2 -N8 | tr -d ' \n') || return 1
  [ ${#hex} -eq 16 ] || return 1
  local id="" i
  for ((i = 14; i >= 0; i -= 2)); do id+=${hex:i:2}; done
  printf '%s' "${id^^}"
}

# Trusted keys: parallel arrays of base64 key and key id.
keys=()
key_ids=()
for file in "${pubkeys[@]}"; do
  [ -f "$file" ] && [ -r "$file" ] || die "public key file '$file' does not exist or cannot be read"
  n=0
  line_no=0
  while IFS= read -r line || [ -n "$line" ]; do
    line_no=$((line_no + 1))
    line=${line%$'\r'}
    case "$line" in
      ''|'#'*|'untrusted comment:'*) continue ;;
    esac
    # 42 bytes (algorithm "Ed", key id, 32-byte Ed25519 key) are 56 base64 characters, starting "RW".
    [[ $line =~ ^RW[A-Za-z0-9+/]{54}$ ]] || die "'$file' line $line_no is not a minisign public key"
    id=$(key_id "$line") || die "'$file' line $line_no is not a minisign public key"
    keys+=("$line")
    key_ids+=("$id")
    n=$((n + 1))
  done <"$file"
  [ "$n" -gt 0 ] || die "'$file' holds no minisign public key"
done

[ -f "$from/SHA256SUMS" ] || refuse "$from/SHA256SUMS is missing: not a release directory (scripts/release.sh writes one)"
[ -f "$from/SHA256SUMS.minisig" ] || refuse "$from/SHA256SUMS.minisig is missing: the release is not signed"

# Stage first, verify the staged copies.
cp -- "$from/SHA256SUMS" "$stage/SHA256SUMS"
cp -- "$from/SHA256SUMS.minisig" "$stage/SHA256SUMS.minisig"
for f in "${files[@]}"; do
  case "$f" in
    /*|../*|*/../*|*/..|..) die "'$f' is not a path inside the release" ;;
  esac
  [ -f "$from/$f" ] || refuse "$from/$f is missing from the release"
  mkdir -p -- "$stage/$(dirname -- "$f")"
  cp -- "$from/$f" "$stage/$f"
done

# The signature's second line is base64 of algorithm (2 bytes), key id (8) and signature (64).
sig_line=$(sed -n 2p "$stage/SHA256SUMS.minisig")
sig_id=$(key_id "$sig_line") || refuse "SHA256SUMS.minisig is not a minisign signature"
key=""
for i in "${!keys[@]}"; do
  if [ "${key_ids[$i]}" = "$sig_id" ]; then
    key=${keys[$i]}
    break
  fi
done
if [ -z "$key" ]; then
  trusted=$(IFS=,; echo "${key_ids[*]}")
  refuse "SHA256SUMS is signed with key $sig_id, which is not a trusted key (trusted: ${trusted//,/, })"
fi
if ! comment=$(minisign -V -Q -m "$stage/SHA256SUMS" -x "$stage/SHA256SUMS.minisig" -P "$key" 2>/dev/null); then
  refuse "the signature of SHA256SUMS does not verify with trusted key $sig_id: SHA256SUMS or its signature was altered"
fi

# sha256sum's format: 64 hex digits, a space, then a space (text) or '*' (binary), then the name.
for f in "${files[@]}"; do
  expected=""
  while IFS= read -r line || [ -n "$line" ]; do
    line=${line%$'\r'}
    if [[ $line =~ ^([0-9a-fA-F]{64})\ [\ *](.*)$ ]] && [ "${BASH_REMATCH[2]}" = "$f" ]; then
      expected=${BASH_REMATCH[1],,}
      break
    fi
  done <"$stage/SHA256SUMS"
  [ -n "$expected" ] || refuse "$f is not listed in SHA256SUMS"
  actual=$(sha256sum -- "$stage/$f" | cut -d' ' -f1)
  [ "$actual" = "$expected" ] || refuse "$f does not match SHA256SUMS (sha256 $actual, signed $expected): the file was altered"
done

echo "$me: verified ${#files[@]} files against SHA256SUMS signed with key $sig_id ($comment)"
