# The NativeAOT binaries that ship, published on demand (sourced by scripts that run them).

# published_binary NAME RID: prints the path of NAME's NativeAOT binary for RID under artifacts/publish/, running
# scripts/publish.sh for it first when it is missing or a source file is newer than it. Run from the repository root.
published_binary() {
  local name=$1 rid=$2
  local binary=$PWD/artifacts/publish/$name/$rid/$name
  if [ ! -x "$binary" ] || [ -n "$(find src Directory.Build.props Directory.Packages.props -newer "$binary" \
      \( -name '*.cs' -o -name '*.csproj' -o -name '*.proto' -o -name '*.props' \) -print -quit 2>/dev/null)" ]; then
    echo "publishing $name ($rid, NativeAOT: what ships; about 2 to 3 minutes on two cores)" >&2
    local started
    started=$(date +%s)
    bash scripts/publish.sh "$name" "$rid" >&2
    echo "published $name in $(( $(date +%s) - started )) s" >&2
  fi
  printf '%s\n' "$binary"
}
