#!/usr/bin/env bash
# Builds a signed release of DataPlane into one directory:
#
#   bin/linux-x64/dataplane              the GPU host daemon (NativeAOT)
#   bin/linux-x64/dataplane-agent        the edge agent, x64 (development, CI)
#   bin/linux-arm64/dataplane-agent      the edge agent, arm64 (Raspberry Pi)
#   config/ sysctl/ scripts/systemd/     shipped configuration, sysctl profiles and units
#   scripts/install.sh, scripts/lib/release-verify.sh   the installer and its verifier
#   SHA256SUMS                           sha256sum of every file above
#   SHA256SUMS.minisig                   minisign signature of SHA256SUMS
#   provenance.intoto.json               in-toto Statement v1 with a SLSA Provenance v1 predicate
#   provenance.intoto.json.minisig       minisign signature of the statement
#
#   scripts/release.sh --out DIR (--sign-key KEY | --no-sign) [--no-build] [--publish-dir DIR] [--builder-id URI]
#
# The executables come from scripts/publish.sh (run here unless --no-build, which takes the ones already
# under --publish-dir, default artifacts/publish, as CI does after `scripts/publish.sh all`). --no-sign
# writes everything but the two signatures and prints the minisign commands to run where the key is
# kept (docs/INSTALL.md: signing on an offline machine). DIR must not exist or be empty; the release is
# written beside it and renamed into place, so a DIR that exists is complete.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
me=release

die() { echo "$me: $*" >&2; exit 2; }
say() { echo "$me: $*"; }
usage() {
  cat <<EOF
usage: scripts/release.sh --out DIR (--sign-key KEY | --no-sign) [--no-build] [--publish-dir DIR] [--builder-id URI]
  --out DIR          where the release goes; must not exist or be empty
  --sign-key KEY     minisign secret key that signs SHA256SUMS and the provenance statement
  --no-sign          write the release unsigned and print the commands to sign it elsewhere
  --no-build         do not run scripts/publish.sh; take the executables already under --publish-dir
  --publish-dir DIR  where scripts/publish.sh put the executables (default artifacts/publish)
  --builder-id URI   the provenance's runDetails.builder.id (default \$DATAPLANE_BUILDER_ID, else
                     urn:dataplane:builder:<host name>)
EOF
}

out=""
sign_key=""
no_sign=0
build=1
publish_dir="$repo/artifacts/publish"
builder_id=${DATAPLANE_BUILDER_ID:-}
while [ $# -gt 0 ]; do
  case "$1" in
    --out|--sign-key|--publish-dir|--builder-id)
      [ $# -ge 2 ] && [ -n "$2" ] || die "$1 needs a value (see --help)"
      case "$1" in
        --out) out=$2 ;;
        --sign-key) sign_key=$2 ;;
        --publish-dir) publish_dir=$2 ;;
        --builder-id) builder_id=$2 ;;
      esac
      shift 2 ;;
    --no-sign) no_sign=1; shift ;;
    --no-build) build=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done

[ -n "$out" ] || die "--out DIR is required"
if [ -n "$sign_key" ] && [ "$no_sign" -eq 1 ]; then
  die "--sign-key and --no-sign exclude each other"
fi
[ -n "$sign_key" ] || [ "$no_sign" -eq 1 ] || die "--sign-key KEY is required (or --no-sign to sign elsewhere)"
if [ -n "$sign_key" ]; then
  command -v minisign >/dev/null 2>&1 || die "minisign is not installed (scripts/bootstrap.sh installs it)"
  [ -f "$sign_key" ] && [ -r "$sign_key" ] || die "signing key '$sign_key' does not exist or cannot be read"
  head -1 "$sign_key" | grep -q '^untrusted comment: .*secret key' \
    || die "signing key '$sign_key' is not a minisign secret key (minisign -G writes one)"
  sign_key=$(cd "$(dirname "$sign_key")" && pwd)/$(basename "$sign_key")
fi
if [ -e "$out" ] && { [ ! -d "$out" ] || [ -n "$(ls -A "$out")" ]; }; then
  die "--out '$out' exists and is not an empty directory"
fi
if [ -n "$builder_id" ]; then
  [[ $builder_id =~ ^[A-Za-z][A-Za-z0-9+.-]*:[^[:space:]]+$ ]] || die "--builder-id '$builder_id' is not a URI"
else
  builder_id="urn:dataplane:builder:$(hostname -f 2>/dev/null || hostname)"
fi

started_on=$(date -u +%Y-%m-%dT%H:%M:%SZ)
cd "$repo"
commit=$(git rev-parse --verify HEAD 2>/dev/null) || die "not a git checkout: the provenance needs the source commit"
# Untracked files count: the projects compile every .cs file under their folders.
if [ -n "$(git status --porcelain 2>/dev/null)" ]; then
  tree_state=dirty
  say "warning: the working tree has uncommitted changes; the provenance records the tree as dirty"
else
  tree_state=clean
fi
version=$(git describe --tags --always --dirty 2>/dev/null || echo "${commit:0:12}")
source_uri=$(git config --get remote.origin.url 2>/dev/null || true)

if [ "$build" -eq 1 ]; then
  bash scripts/publish.sh all
  publish_dir="$repo/artifacts/publish"
else
  say "--no-build: taking the executables under $publish_dir as they are"
fi

binaries=(
  "dataplane/linux-x64/dataplane:bin/linux-x64/dataplane"
  "dataplane-agent/linux-x64/dataplane-agent:bin/linux-x64/dataplane-agent"
  "dataplane-agent/linux-arm64/dataplane-agent:bin/linux-arm64/dataplane-agent"
)
# Repository files shipped as they are, at the same relative paths (so the release's own install.sh finds them).
shipped=(
  config/dataplane.json config/dataplane-agent.json
  sysctl/90-dataplane-gpu-host.conf sysctl/90-dataplane-pi-edge.conf
  scripts/systemd/dataplane.service scripts/systemd/dataplane-agent.service
  scripts/systemd/dataplane.service.d/tuning.conf
  scripts/install.sh scripts/lib/release-verify.sh
)
for b in "${binaries[@]}"; do
  src="$publish_dir/${b%%:*}"
  [ -f "$src" ] && [ -x "$src" ] || die "'$src' does not exist or is not executable (run scripts/publish.sh all, or drop --no-build)"
done
for f in "${shipped[@]}"; do
  [ -f "$f" ] || die "'$f' is missing from the repository"
done

# Write beside the destination, rename at the end: an interrupted run leaves no half-written release.
out_parent=$(dirname "$out")
mkdir -p "$out_parent"
stage=$(mktemp -d "$out_parent/.release.XXXXXX")
trap 'rm -rf -- "$stage"' EXIT

names=()
for b in "${binaries[@]}"; do
  dest=${b#*:}
  mkdir -p "$stage/$(dirname "$dest")"
  cp -- "$publish_dir/${b%%:*}" "$stage/$dest"
  chmod 0755 "$stage/$dest"
  names+=("$dest")
done
for f in "${shipped[@]}"; do
  mkdir -p "$stage/$(dirname "$f")"
  cp -- "$f" "$stage/$f"
  case "$f" in
    *.sh) chmod 0755 "$stage/$f" ;;
    *) chmod 0644 "$stage/$f" ;;
  esac
  names+=("$f")
done
mapfile -t names < <(printf '%s\n' "${names[@]}" | LC_ALL=C sort)
(cd "$stage" && sha256sum -- "${names[@]}") >"$stage/SHA256SUMS"

# JSON string literal; names, hashes and git facts never hold control characters other than these.
json() {
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\t'/\\t}
  s=${s//$'\n'/\\n}
  s=${s//$'\r'/\\r}
  printf '"%s"' "$s"
}

dotnet_sdk=$(dotnet --version 2>/dev/null || echo unknown)
invocation=$(cat /proc/sys/kernel/random/uuid 2>/dev/null || date -u +%s%N)
finished_on=$(date -u +%Y-%m-%dT%H:%M:%SZ)
dirty=false
[ "$tree_state" = clean ] || dirty=true
if [ "$build" -eq 1 ]; then
  build_step='scripts/publish.sh all'
else
  build_step='none: prebuilt executables (--no-build)'
fi
{
  printf '{\n'
  printf '  "_type": "https://in-toto.io/Statement/v1",\n'
  printf '  "subject": [\n'
  sep=""
  while read -r hash name; do
    printf '%s    {"name": %s, "digest": {"sha256": %s}}' "$sep" "$(json "$name")" "$(json "$hash")"
    sep=$',\n'
  done <"$stage/SHA256SUMS"
  printf '\n  ],\n'
  printf '  "predicateType": "https://slsa.dev/provenance/v1",\n'
  printf '  "predicate": {\n'
  printf '    "buildDefinition": {\n'
  printf '      "buildType": "urn:dataplane:buildtype:release-sh:v1",\n'
  printf '      "externalParameters": {\n'
  printf '        "source": {"commit": %s, "treeState": %s, "dirty": %s, "describe": %s},\n' \
    "$(json "$commit")" "$(json "$tree_state")" "$dirty" "$(json "$version")"
  printf '        "targets": ["dataplane linux-x64", "dataplane-agent linux-x64", "dataplane-agent linux-arm64"],\n'
  printf '        "configuration": "Release",\n'
  printf '        "build": %s\n' "$(json "$build_step")"
  printf '      },\n'
  printf '      "internalParameters": {"dotnetSdk": %s},\n' "$(json "$dotnet_sdk")"
  printf '      "resolvedDependencies": [\n'
  if [ -n "$source_uri" ]; then
    printf '        {"uri": %s, "digest": {"gitCommit": %s}, "annotations": {"dirty": %s}}\n' \
      "$(json "git+$source_uri")" "$(json "$commit")" "$dirty"
  else
    printf '        {"name": "dataplane-source", "digest": {"gitCommit": %s}, "annotations": {"dirty": %s}}\n' \
      "$(json "$commit")" "$dirty"
  fi
  printf '      ]\n'
  printf '    },\n'
  printf '    "runDetails": {\n'
  printf '      "builder": {"id": %s, "version": {"release.sh": "1", "dotnet-sdk": %s}},\n' \
    "$(json "$builder_id")" "$(json "$dotnet_sdk")"
  printf '      "metadata": {"invocationId": %s, "startedOn": %s, "finishedOn": %s}\n' \
    "$(json "$invocation")" "$(json "$started_on")" "$(json "$finished_on")"
  printf '    }\n'
  printf '  }\n'
  printf '}\n'
} >"$stage/provenance.intoto.json"

# The trusted comment is signed too (minisign's global signature): it ties each signature to its file,
# the source commit and the time of signing. Single-space separated key:value pairs.
comment() {
  printf 'timestamp:%s file:%s version:%s commit:%s tree:%s' "$(date -u +%s)" "$1" "$version" "$commit" "$tree_state"
}

chmod 0644 "$stage/SHA256SUMS" "$stage/provenance.intoto.json"
if [ -n "$sign_key" ]; then
  for f in SHA256SUMS provenance.intoto.json; do
    # With a password-protected key minisign asks for the password on the terminal, once per file.
    minisign -S -s "$sign_key" -m "$stage/$f" -x "$stage/$f.minisig" -c "dataplane release $version: $f" \
      -t "$(comment "$f")" >/dev/null \
      || die "minisign could not sign $f with '$sign_key'"
    chmod 0644 "$stage/$f.minisig"
  done
fi

chmod 0755 "$stage"
[ -d "$out" ] && rmdir -- "$out"
mv -- "$stage" "$out"
trap - EXIT
say "wrote $out: ${#names[@]} files, SHA256SUMS, provenance.intoto.json (commit ${commit:0:12}, tree $tree_state)"
if [ -n "$sign_key" ]; then
  # The key id is bytes 2..9 of the signature, little-endian, as minisign prints it.
  id=$(sed -n 2p "$out/SHA256SUMS.minisig" | base64 -d | od -An -v -tx1 -j2 -N8 | tr -d ' \n')
  rid=""
  for ((i = 14; i >= 0; i -= 2)); do rid+=${id:i:2}; done
  say "signed SHA256SUMS and provenance.intoto.json with key ${rid^^}"
else
  say "unsigned; copy $out/SHA256SUMS and $out/provenance.intoto.json to the machine that holds the key and run there:"
  for f in SHA256SUMS provenance.intoto.json; do
    printf '  minisign -S -s KEY -m %s -t %q\n' "$f" "$(comment "$f")"
  done
  say "then copy SHA256SUMS.minisig and provenance.intoto.json.minisig back into $out"
fi
