# Process helpers shared by the benchmark scripts (sourced; not run on its own). The sourcing script sets
# BENCH_NAME (used in messages) and defines die().

# Children run in their own process groups (setsid), so stopping one also stops what it started
# (`dotnet run` starts the program as its own child).
children=()
cleanup() {
  local pid
  for pid in "${children[@]}"; do stop "$pid"; done
}
trap cleanup EXIT
trap 'echo "$BENCH_NAME: interrupted" >&2; exit 130' INT TERM

alive() {
  local state
  state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

stop() {
  local pid=$1 _
  if alive "$pid"; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      alive "$pid" || break
      sleep 0.1
    done
    if alive "$pid"; then
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  wait "$pid" 2>/dev/null || true
  # Forget it, so that cleanup never signals a later process that reuses the pid.
  local kept=() c
  for c in "${children[@]}"; do [ "$c" = "$pid" ] || kept+=("$c"); done
  children=("${kept[@]}")
}

# start LOG CMD...: starts CMD in the background; its pid is left in $started.
start() {
  local log=$1
  shift
  if command -v setsid >/dev/null 2>&1; then
    setsid "$@" >"$log" 2>&1 </dev/null &
  else
    "$@" >"$log" 2>&1 </dev/null &
  fi
  started=$!
  children+=("$started")
}

fail_with_log() {
  echo "$BENCH_NAME: $1" >&2
  echo "--- last lines of $2 ---" >&2
  tail -n 30 "$2" >&2 || true
  exit 1
}

# wait_ready WHAT PID LOG SECONDS CHECK...: polls CHECK until it succeeds; fails if PID exits.
wait_ready() {
  local what=$1 pid=$2 log=$3 limit=$4
  shift 4
  local deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    alive "$pid" || fail_with_log "$what exited before it was ready" "$log"
    [ "$SECONDS" -lt "$deadline" ] || fail_with_log "$what was not ready after ${limit}s" "$log"
    sleep 0.2
  done
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# free_port VAR: a port nothing listens on, outside the usual ephemeral range, not handed out before.
used_ports=" "
free_port() {
  local p _
  for _ in $(seq 1 500); do
    p=$((10000 + (RANDOM * 32768 + RANDOM) % 20000))
    case "$used_ports" in *" $p "*) continue ;; esac
    if ! port_open "$p"; then
      used_ports+="$p "
      printf -v "$1" '%s' "$p"
      return 0
    fi
  done
  die "found no free port"
}

require_alive() {
  alive "$2" || fail_with_log "$1 died during the run" "$3"
}

# resolve_executable ARRAY VAR PATH GIVEN PROJECT: sets the array named ARRAY to the command that runs PATH when it is
# an executable file; when the caller named it (GIVEN non-empty, from environment variable VAR) and it is not, stops;
# otherwise builds PROJECT (Release) now, before anything runs, so that two `dotnet run`s never build it at once.
resolve_executable() {
  local -n command_=$1
  local var=$2 path=$3 given=$4 project=$5
  if [ -x "$path" ]; then
    command_=("$path")
  elif [ -n "$given" ]; then
    die "$var=$path is not an executable file"
  else
    echo "$BENCH_NAME: $path not found; building $project (Release)"
    dotnet build "$project" -c Release -nologo -v quiet
    command_=(dotnet run --no-build --no-launch-profile --project "$project" -c Release --)
  fi
}
