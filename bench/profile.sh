#!/usr/bin/env bash
# Where a gateway's CPU goes per request: perf samples of the gateway's core under wrk's load, per symbol, in ns a request.
#
#   bench/profile.sh CONFIG OUT [VAR=value ...]        e.g. bench/profile.sh bench/configs/observe-all.yaml /tmp/on OTEL_...=...
#   bench/profile-diff.py /tmp/off /tmp/on [ROWS] [DSO]  the difference of two profiles, symbol by symbol
#
# The gateway runs pinned to CPU 1 (`gatehouse run`, with a SQLite store and an admin listener, the portal off), the bench
# backend and wrk on CPU 0, as in bench/pair.sh; after WARM seconds of load, `perf record -F 1999 -g -C 1` samples the
# gateway's core for DUR seconds. Why this way:
#   - `-C 1` (the core), not `-p PID`: sampling the process's threads halves an all-on gateway's speed (issue 19, tenth
#     reading), so that profile is of a gateway doing something else.
#   - DOTNET_PerfMapEnabled=1 names JIT-compiled methods (/tmp/perf-PID.map), and DOTNET_EnableWriteXorExecute=0 lets perf
#     find them: with W^X on, the code runs from a double mapping perf reads as `memfd:doublemapper` addresses.
#   - A VM's perf has no hardware counters here (no `perf stat -e instructions`), so samples are cpu-clock.
# OUT.txt holds the samples per (dso, symbol), OUT.req the requests in the sampled window. Load goes to 127.0.0.1 only.
#   DLL (default: this checkout's Release build, built unless SKIP_BUILD=1)  WARM=40  DUR=10  CONNECTIONS=64
#   KEEP=1 keeps the samples as OUT.data, for call graphs: perf report -i OUT.data --no-children -G -S SYMBOL
#   ORIGIN: an Origin header wrk sends with every request (as bench/pair.sh does), e.g. for a route with CORS; none by default
set -euo pipefail
cd "$(dirname "$0")/.."
die() { echo "profile: $*" >&2; exit 1; }
(( $# >= 2 )) || die "usage: bench/profile.sh CONFIG OUT [VAR=value ...] (see the comment at the top)"
CONFIG=$(realpath "$1") || die "cannot read $1"
OUT=$2
shift 2
WARM=${WARM:-40}
DUR=${DUR:-10}
CONNECTIONS=${CONNECTIONS:-64}
ORIGIN=${ORIGIN:-}
WRK_HEADERS=()
[[ -z $ORIGIN ]] || WRK_HEADERS=(-H "Origin: $ORIGIN")
for n in WARM DUR CONNECTIONS; do [[ ${!n} =~ ^[0-9]+$ ]] || die "$n must be a whole number"; done
command -v perf >/dev/null || die "perf is not installed (apt-get install linux-perf)"
command -v wrk >/dev/null || die "wrk is not installed (apt-get install wrk)"
(( $(nproc) >= 2 )) || die "needs 2 CPUs (the gateway on one, wrk and the backend on the other)"
if [[ ${SKIP_BUILD:-0} != 1 ]]; then
    dotnet build -c Release src/Gatehouse -v q -nologo >/dev/null || die "the Release build failed"
    dotnet build -c Release bench/Gatehouse.Bench.Backend -v q -nologo >/dev/null || die "the backend's build failed"
fi
DLL=${DLL:-$PWD/src/Gatehouse/bin/Release/net10.0/gatehouse.dll}
BACKEND=$PWD/bench/Gatehouse.Bench.Backend/bin/Release/net10.0/Gatehouse.Bench.Backend.dll
[[ -f $DLL && -f $BACKEND ]] || die "a build is missing ($DLL, $BACKEND)"

TMP=$(mktemp -d /tmp/gatehouse-profile.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
BACKEND_PORT=$(free_port); PORT=$(free_port); ADMIN=$(free_port)
taskset -c 0 env DOTNET_gcServer=0 dotnet "$BACKEND" "$BACKEND_PORT" >"$TMP/backend.log" 2>&1 &
PIDS+=($!)
sed "s|\${BENCH_BACKEND:-http://127.0.0.1:9}|http://127.0.0.1:$BACKEND_PORT|; s|@TMP@|$TMP|g" "$CONFIG" >"$TMP/config.yaml"
VARS=()
for word in "$@"; do VARS+=("${word//@BACKEND@/$BACKEND_PORT}"); done
taskset -c 1 env DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 ${VARS[@]+"${VARS[@]}"} dotnet "$DLL" run --config "$TMP/config.yaml" \
    --port "$PORT" --store "sqlite:$TMP/store.db" --admin-url "http://127.0.0.1:$ADMIN" --no-portal >"$TMP/gateway.log" 2>&1 &
GATEWAY=$!
PIDS+=($GATEWAY)
for _ in $(seq 150); do curl -s -o /dev/null "http://127.0.0.1:$PORT/hello" && break; sleep 0.2; done
curl -s -o /dev/null "http://127.0.0.1:$PORT/hello" || die "the gateway did not answer (see $TMP/gateway.log)"
(( WARM == 0 )) || taskset -c 0 wrk -t1 -c"$CONNECTIONS" ${WRK_HEADERS[@]+"${WRK_HEADERS[@]}"} -d"$WARM"s "http://127.0.0.1:$PORT/hello" >/dev/null
# wrk runs a second longer on each side of the sampled window; its requests are scaled to the window.
( sleep 1; perf record -F 1999 -g -C 1 -o "$TMP/perf.data" -- sleep "$DUR" >/dev/null 2>&1 ) &
RECORDER=$!
taskset -c 0 wrk -t1 -c"$CONNECTIONS" ${WRK_HEADERS[@]+"${WRK_HEADERS[@]}"} -d$((DUR + 2))s "http://127.0.0.1:$PORT/hello" >"$TMP/wrk.txt"
wait "$RECORDER"
REQUESTS=$(awk '/requests in/{print $1}' "$TMP/wrk.txt")
[[ -n $REQUESTS && $REQUESTS -gt 0 ]] || die "the load completed no requests"
echo "$REQUESTS $((DUR + 2)) $DUR" >"$OUT.req"
perf report -i "$TMP/perf.data" --no-children --sort dso,sym -F overhead,sample,dso,sym --stdio 2>/dev/null | grep -v '^#' | grep -v '^$' >"$OUT.txt"
[[ ${KEEP:-0} != 1 ]] || cp "$TMP/perf.data" "$OUT.data"
echo "profile: $(awk '/Requests\/sec/{print $2}' "$TMP/wrk.txt") req/s; $OUT.txt, $OUT.req"
