#!/usr/bin/env bash
# User-mode and kernel CPU per request, read apart, for nginx, Gatehouse and the floor (issue 25; docs/benchmarks.md,
# "The floor"), and how much a proxy's own work costs in this bench: with EXTRA_NS=N a fourth target, the floor with a
# busy wait of N ns per request (FLOOR_EXTRA_NS), is measured right after the plain floor in every round.
#
#   bench/cpu-split.sh                       # nginx, gatehouse, floor: ROUNDS=3 rounds of SECONDS_EACH=8 s
#   EXTRA_NS=1000 ROUNDS=4 SECONDS_EACH=6 bench/cpu-split.sh
#
# Why beside bench/run.sh: run.sh reads utime+stime together; here they are read apart, per target and round, from
# /proc/PID/stat. The proxies run on CPU 1, wrk and the backend on CPU 0, as in run.sh; each target gets WARMUP (20) s of
# load first. nginx gets run.sh's config (one worker, upstream keepalive, the same headers set). Needs the Release
# builds (bench/run.sh makes them, or SKIP_BUILD=0 here), nginx and wrk. Load goes to 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
die() { echo "cpu-split: $*" >&2; exit 1; }
ROUNDS=${ROUNDS:-3}
SECONDS_EACH=${SECONDS_EACH:-8}
WARMUP=${WARMUP:-20}
EXTRA_NS=${EXTRA_NS:-0}
for n in ROUNDS SECONDS_EACH WARMUP EXTRA_NS; do [[ ${!n} =~ ^[0-9]+$ ]] || die "$n must be a whole number"; done
(( $(nproc) >= 2 )) || die "needs 2 CPUs"
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[[ -x $NGINX ]] && command -v wrk >/dev/null || die "needs nginx and wrk (apt-get install nginx wrk, or run bench/run.sh once)"
if [[ ${SKIP_BUILD:-1} != 1 ]]; then
    for p in src/Gatehouse/Gatehouse.csproj bench/Gatehouse.Bench.Backend/Gatehouse.Bench.Backend.csproj bench/Gatehouse.Bench.Floor/Gatehouse.Bench.Floor.csproj; do
        dotnet build -c Release -nologo -v quiet "$p" >&2
    done
fi
GATEHOUSE=src/Gatehouse/bin/Release/net10.0/gatehouse.dll
BACKEND=bench/Gatehouse.Bench.Backend/bin/Release/net10.0/Gatehouse.Bench.Backend.dll
FLOOR=bench/Gatehouse.Bench.Floor/bin/Release/net10.0/Gatehouse.Bench.Floor.dll
for f in $GATEHOUSE $BACKEND $FLOOR; do [[ -f $f ]] || die "no Release build at $f (run with SKIP_BUILD=0)"; done

TMP=$(mktemp -d /tmp/gatehouse-cpu-split.XXXXXX)
chmod 755 "$TMP" # nginx's workers run as nobody
STARTED=()
cleanup() { for p in "${STARTED[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT
# Five consecutive free ports below the ephemeral range.
for _ in $(seq 100); do
    BASE=$(( 20000 + RANDOM % 12000 ))
    busy=0
    for i in 0 1 2 3 4; do [[ -z $(ss -Htln "sport = :$((BASE + i))") ]] || busy=1; done
    (( busy == 0 )) && break
done
(( busy == 0 )) || die "no free ports"
ready() { for _ in $(seq 300); do curl -fs -o /dev/null "http://127.0.0.1:$1/hello" && return; sleep 0.1; done; die "port $1 did not answer"; }

BP=$BASE; NP=$((BASE + 1)); GP=$((BASE + 2)); FP=$((BASE + 3)); XP=$((BASE + 4))
taskset -c 0 dotnet $BACKEND "$BP" >"$TMP/backend.log" 2>&1 & STARTED+=($!)
ready "$BP"
cat >"$TMP/nginx.conf" <<EOF
daemon off; worker_processes 1; pid $TMP/nginx.pid; error_log $TMP/nginx-error.log warn;
events { worker_connections 4096; }
http {
    access_log off; client_body_temp_path $TMP/b; proxy_temp_path $TMP/p; fastcgi_temp_path $TMP/f; uwsgi_temp_path $TMP/u; scgi_temp_path $TMP/s;
    upstream backend { server 127.0.0.1:$BP; keepalive 256; }
    server {
        listen 127.0.0.1:$NP;
        location / {
            proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection "";
            proxy_set_header X-Forwarded-For \$remote_addr; proxy_set_header X-Forwarded-Proto \$scheme;
            proxy_set_header X-Forwarded-Host \$host; proxy_set_header X-Request-Id \$request_id;
            add_header X-Request-Id \$request_id always;
        }
    }
}
EOF
taskset -c 1 "$NGINX" -p "$TMP" -c "$TMP/nginx.conf" >"$TMP/nginx.log" 2>&1 & STARTED+=($!); NGINX_PID=$!
ready "$NP"
sed "s|\${BENCH_BACKEND:-http://127.0.0.1:9}|http://127.0.0.1:$BP|" bench/configs/gatehouse.yaml >"$TMP/gatehouse.yaml"
taskset -c 1 dotnet $GATEHOUSE run --config "$TMP/gatehouse.yaml" --port "$GP" >"$TMP/gatehouse.log" 2>&1 & STARTED+=($!); GATEHOUSE_PID=$!
ready "$GP"
# The floor with the gatehouse command's gen0 budget, read from its process (as bench/run.sh does).
GEN0=$(tr '\0' '\n' <"/proc/$GATEHOUSE_PID/environ" | grep -E '^DOTNET_GCgen0size=' || echo GATEHOUSE_GC_GEN0=0)
taskset -c 1 env "$GEN0" dotnet $FLOOR "$FP" "http://127.0.0.1:$BP" >"$TMP/floor.log" 2>&1 & STARTED+=($!); FLOOR_PID=$!
ready "$FP"
TARGETS=("nginx:$NP:$(pgrep -P "$NGINX_PID" | head -n 1)" "gatehouse:$GP:$GATEHOUSE_PID" "floor:$FP:$FLOOR_PID")
if (( EXTRA_NS > 0 )); then
    taskset -c 1 env "$GEN0" FLOOR_EXTRA_NS="$EXTRA_NS" dotnet $FLOOR "$XP" "http://127.0.0.1:$BP" >"$TMP/floor-extra.log" 2>&1 & STARTED+=($!); EXTRA_PID=$!
    ready "$XP"
    TARGETS+=("floor+${EXTRA_NS}ns:$XP:$EXTRA_PID")
fi

ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12, $13 }'; } # utime stime
HZ=$(getconf CLK_TCK)
for t in "${TARGETS[@]}"; do IFS=: read -r _ p _ <<<"$t"; taskset -c 0 wrk -t1 -c64 -d"$WARMUP"s "http://127.0.0.1:$p/hello" >/dev/null; done
echo "round target requests user_us_per_req kernel_us_per_req total_us_per_req"
for round in $(seq "$ROUNDS"); do
    for t in "${TARGETS[@]}"; do
        IFS=: read -r name p pid <<<"$t"
        read -r u0 s0 < <(ticks "$pid")
        requests=$(taskset -c 0 wrk -t1 -c64 -d"$SECONDS_EACH"s "http://127.0.0.1:$p/hello" | awk '/requests in/ { print $1 }')
        read -r u1 s1 < <(ticks "$pid")
        awk -v r="$round" -v n="$name" -v q="$requests" -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v hz="$HZ" \
            'BEGIN { printf "%d %s %d %.2f %.2f %.2f\n", r, n, q, u * 1e6 / hz / q, s * 1e6 / hz / q, (u + s) * 1e6 / hz / q }'
    done
done
