#!/usr/bin/env bash
# Start-up and memory of the published gatehouse binaries (docs/deploy.md, docs/benchmarks.md "Portable binaries"):
# for each binary, the time from exec to the first 200 from /ready, resident memory at idle, and resident memory during
# and after a short wrk load through one route to the bench backend; optionally with the memory of a small board.
#
#   bench/portable.sh BINARY [BINARY...]                     # e.g. .artifacts/publish/linux-x64/gatehouse
#   MEMORY_MAX=1G bench/portable.sh .artifacts/publish/linux-x64/gatehouse
#
# Settings (environment variables):
#   STARTS=5          starts per binary; the start-up time printed is the median
#   IDLE=10           seconds after /ready before the idle RSS is read
#   DURATION=20       seconds of wrk load (CONNECTIONS connections, 2 threads)
#   CONNECTIONS=32
#   MEMORY_MAX=       a memory limit for the gatehouse process (cgroup v2 memory.max or v1 memory.limit_in_bytes,
#                     needs root), as a 1 GB board's: 1G, 512M...
#   GATEHOUSE_ENV=    extra environment for gatehouse, e.g. "GATEHOUSE_GC_GEN0=0"
# Prints one line per binary. Everything it starts is stopped on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STARTS=${STARTS:-5} IDLE=${IDLE:-10} DURATION=${DURATION:-20} CONNECTIONS=${CONNECTIONS:-32}
MEMORY_MAX=${MEMORY_MAX:-} GATEHOUSE_ENV=${GATEHOUSE_ENV:-}

die() { echo "portable.sh: $*" >&2; exit 1; }
[[ $# -gt 0 ]] || die "usage: bench/portable.sh BINARY [BINARY...] (publish one with docs/deploy.md's command)"
for tool in curl wrk ss; do command -v "$tool" >/dev/null || die "$tool is missing (apt-get install curl wrk iproute2)"; done

TMP=$(mktemp -d)
PIDS=()
CGROUP=
cleanup() {
    for pid in "${PIDS[@]+"${PIDS[@]}"}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    [[ -n $CGROUP ]] && rmdir "$CGROUP" 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT

free_port() {
    local port
    for _ in $(seq 200); do
        port=$(( 20000 + RANDOM % 12000 ))
        [[ -z $(ss -Htln "sport = :$port") ]] && { echo "$port"; return; }
    done
    die "no free port found"
}

# A memory cgroup of our own below the one this shell is in, with the limit.
if [[ -n $MEMORY_MAX ]]; then
    bytes=$(numfmt --from=iec "$MEMORY_MAX")
    if [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then
        CGROUP=/sys/fs/cgroup$(sed -n 's/^0:://p' /proc/self/cgroup)/gatehouse-portable-$$
        mkdir "$CGROUP" && echo "$bytes" >"$CGROUP/memory.max"
    else
        CGROUP=/sys/fs/cgroup/memory$(sed -n 's/^[0-9]*:memory://p' /proc/self/cgroup)/gatehouse-portable-$$
        mkdir "$CGROUP" && echo "$bytes" >"$CGROUP/memory.limit_in_bytes"
    fi || die "cannot make a memory cgroup for MEMORY_MAX (root and a writable cgroup memory controller needed)"
fi

BACKEND_PORT=$(free_port)
dotnet build -c Release -nologo -v quiet "$ROOT/bench/Gatehouse.Bench.Backend/Gatehouse.Bench.Backend.csproj" >&2
dotnet "$ROOT/bench/Gatehouse.Bench.Backend/bin/Release/net10.0/Gatehouse.Bench.Backend.dll" "$BACKEND_PORT" >"$TMP/backend.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 300); do curl -fs "http://127.0.0.1:$BACKEND_PORT/" >/dev/null && break; sleep 0.1; done

rss() { awk '/^VmRSS/ {printf "%d", $2 / 1024}' "/proc/$1/status"; }
hwm() { awk '/^VmHWM/ {printf "%d", $2 / 1024}' "/proc/$1/status"; }

# Starts gatehouse (in the cgroup when there is one); sets PID, PORT and ADMIN.
start() {
    local binary=$1
    PORT=$(free_port) ADMIN=$(free_port)
    sed "s|\${BENCH_BACKEND:-http://127.0.0.1:9}|http://127.0.0.1:$BACKEND_PORT|" "$ROOT/bench/configs/gatehouse.yaml" >"$TMP/gatehouse.yaml"
    # shellcheck disable=SC2086 # GATEHOUSE_ENV is a list of VAR=VALUE words
    env $GATEHOUSE_ENV CGROUP="$CGROUP" bash -c '[[ -z $CGROUP ]] || echo $$ >"$CGROUP/cgroup.procs"; exec "$@"' gatehouse \
        "$binary" run --config "$TMP/gatehouse.yaml" --port "$PORT" --admin-url "http://127.0.0.1:$ADMIN" >"$TMP/gatehouse.log" 2>&1 &
    PID=$!
    PIDS+=("$PID")
}

for binary in "$@"; do
    [[ -x $binary ]] || die "$binary is not an executable"
    times=()
    for _ in $(seq "$STARTS"); do
        started=$(date +%s%N)
        start "$binary"
        until curl -fs -o /dev/null "http://127.0.0.1:$ADMIN/ready"; do
            kill -0 "$PID" 2>/dev/null || die "$binary exited: $(tail -n 5 "$TMP/gatehouse.log")"
            sleep 0.01
        done
        times+=($(( ($(date +%s%N) - started) / 1000000 )))
        kill "$PID"; wait "$PID" 2>/dev/null || true
    done
    median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (STARTS + 1) / 2 ))p")

    start "$binary"
    until curl -fs -o /dev/null "http://127.0.0.1:$ADMIN/ready"; do sleep 0.05; done
    curl -fs -o /dev/null "http://127.0.0.1:$PORT/hello" || die "the route does not answer: $(tail -n 5 "$TMP/gatehouse.log")"
    sleep "$IDLE"
    idle=$(rss "$PID")
    gen0=$(tr '\0' '\n' <"/proc/$PID/environ" | sed -n 's/^DOTNET_GCgen0size=//p')
    rps=$(wrk -t 2 -c "$CONNECTIONS" -d "${DURATION}s" "http://127.0.0.1:$PORT/hello" | awk '/^Requests\/sec/ {printf "%d", $2}')
    peak=$(hwm "$PID")
    sleep 5
    after=$(rss "$PID")
    kill "$PID"; wait "$PID" 2>/dev/null || true
    printf '%s: start to /ready %s ms (median of %s: %s); RSS idle %s MB, peak under load %s MB, 5 s after %s MB; %s req/s; gen0 budget %s%s\n' \
        "$binary" "$median" "$STARTS" "${times[*]}" "$idle" "$peak" "$after" "$rps" "${gen0:-runtime default}" "${MEMORY_MAX:+; memory limit $MEMORY_MAX}"
done
