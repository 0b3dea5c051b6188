#!/usr/bin/env bash
# Load benchmark: a tiny Kestrel backend, reached directly, through nginx, through Gatehouse (and through
# HAProxy when it is installed), measured with wrk in alternating rounds. See docs/benchmarks.md.
#
#   bench/run.sh                          # the full run (5 rounds of 10 s per target)
#   ROUNDS=2 DURATION=3 bench/run.sh      # a quick look while developing
#
# Settings (environment variables):
#   ROUNDS=5          rounds; each round runs every target once, in a rotating order
#   DURATION=10       seconds of load per target per round
#   WARMUP=20         seconds of unmeasured load per target before the first round (.NET's tiered JIT
#                     needs 10-30 s of load to settle, the longer the busier the machine)
#   CONNECTIONS=64    wrk connections
#   THREADS=          wrk threads (default: the number of CPUs the load generator may use)
#   PIN=split         split: proxies on CPU 1, wrk + backend on CPU 0 (needs 2+ CPUs); none: no pinning
#   PROXY_CPUS=1      CPU list (taskset) for the proxies when PIN=split
#   LOAD_CPUS=0       CPU list for wrk and the backend when PIN=split
#   HAPROXY=auto      auto: include HAProxy if installed or installable; 1: require it; 0: leave it out
#   CGROUP=auto       auto/1: each proxy in a CPU cgroup of its own weighing as much as one ordinary thread, so a
#                     one-thread nginx and a many-thread Gatehouse compete alike with other people's processes on
#                     a shared machine (needs root and the cgroup cpu controller); 0: no cgroups
#   REQUEST_PATH=/hello   the path requested
#   GATEHOUSE_ENV=    extra environment for the Gatehouse process only, e.g. "DOTNET_gcServer=1"
#   VARIANTS=         more Gatehouse processes measured side by side, each with its own environment:
#                     "NAME:VAR=VALUE,VAR=VALUE NAME2:VAR=VALUE", e.g. "gcserver:DOTNET_gcServer=1";
#                     each is a column "gatehouse:NAME" (on top of GATEHOUSE_ENV). GATEHOUSE_DLL=PATH in a
#                     variant runs another build, e.g. "before:GATEHOUSE_DLL=/tmp/before/gatehouse.dll"
#                     GATEHOUSE_CONFIG=PATH in a variant runs it with another config file (its
#                     ${BENCH_BACKEND:-http://127.0.0.1:9} is replaced with the bench backend, as in gatehouse.yaml).
#   ACCESS=0          1: add the column "gatehouse:access": the same route behind key auth + plan check + a rate
#                     limit + a quota (limits high enough never to refuse). wrk then sends the key to every target
#                     (the others ignore the header), so "gatehouse" vs "gatehouse:access" is the price of the steps.
#   POLICIES=0        1: add "gatehouse:policies" (the same route with header transforms and CORS, configs/policies.yaml)
#                     and "gatehouse:cached" (the same route behind a shared response cache: every measured request
#                     is a hit, configs/cached.yaml); wrk then sends an allowed Origin to every target (issue 23).
#   SCALE=0           1: add "gatehouse:scale": "access" with SCALE_ROUTES more routes and SCALE_APPS applications
#   SCALE_ROUTES=10000  (each with a key) loaded; the revision's compile time is in its log ("compiled in").
#   SCALE_APPS=100000
#   OBSERVE=0         1: add the observability columns (issue 19), each on the plain route: "gatehouse:all" with usage
#                     recording into a SQLite store, /metrics on the admin listener, the access log to a file and
#                     traces sampled at 1% (OTLP/HTTP to the backend, which answers 200 to anything), next to one
#                     column per feature ("usage", "metrics", "accesslog", "tracing") and "storeoff" (the same store
#                     with everything off: the baseline of "usage" and "all", which run with a store). See
#                     docs/benchmarks.md, "Observability".
#   CLUSTER=0         1: limits across nodes (issue 21): "gatehouse:access" with its limits counted per node
#                     ("scope: node", the baseline) next to the same limits counted in a counter engine,
#                     "gatehouse:redis-strict", "gatehouse:redis-fast" (a redis-server the script starts) and
#                     "gatehouse:pg-strict", "gatehouse:pg-fast" (a PostgreSQL the script starts: --store postgres://,
#                     whose baseline is "gatehouse:pg-node", the same store with the limits per node);
#                     strict leases 1,000 requests at a time, fast syncs every 200 ms. wrk sends the key to every
#                     target. See docs/benchmarks.md, "Limits across nodes".
#   FLOOR=0           1: add "floor": a minimal Kestrel + HttpClient pass-through (bench/Gatehouse.Bench.Floor) run with
#                     the plain gatehouse column's runtime environment (inline socket completions, its gen0 budget, read
#                     from its process), pinned and grouped like the other proxies: what proxying costs on Gatehouse's
#                     stack before any of Gatehouse's own work (issue 25's "floor"). With TLS=1 also "floor-tls-h1" and
#                     "floor-tls-h2", the same process's TLS listener loaded as the other TLS rows are.
#   TLS=0             1: add four HTTPS fronts (issue 25), measured with h2load (nghttp2-client) instead of wrk:
#                     "nginx-tls-h1" and "gatehouse-tls-h1" (HTTP/1.1, h2load --h1 -cTLS_CONNECTIONS), "nginx-tls-h2"
#                     and "gatehouse-tls-h2" (HTTP/2, -cTLS_CONNECTIONS -mTLS_STREAMS), served by the same nginx and
#                     Gatehouse processes on a second, TLS listener with a self-signed P-256 certificate the script
#                     makes (openssl), TLS 1.3 with one cipher suite offered; the upstream stays plain HTTP/1.1. nginx keeps
#                     connections open past 1,000 requests there. h2load reports no percentiles: their p50/p99
#                     columns are "-". "vs nginx" of a TLS row is against nginx's row of the same protocol.
#   TLS_CONNECTIONS=32, TLS_STREAMS=10
#   GATEHOUSE_STORE=  (in a variant) run with --store sqlite:PATH (importing GATEHOUSE_CONFIG) and an admin API
#   GATEHOUSE_PGSTORE= (in a variant) the same with --store postgres://URL
#   SKIP_BUILD=0      1: use the Release build already in bin/ (faster iteration)
#   INSTALL=1         0: never call apt-get; fail with the list of what is missing instead
#   QUIET_WAIT=0      on a shared machine: wait up to this many seconds for it to be at most QUIET_BUSY% busy
#   QUIET_BUSY=15     (percent of all CPUs) before the measured load starts
#   BENCH_KEEP=       a folder to copy the run's working folder to at exit (every target's log and config), which
#                     is otherwise removed: for a run that fails without saying why
#
# Load goes to 127.0.0.1 only; every run of wrk is bounded by DURATION (and a timeout). Everything the
# script starts is stopped on exit, also when it fails or is interrupted.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH="$ROOT/bench"

ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-10}
DURATION=${DURATION%s}
WARMUP=${WARMUP:-20}
WARMUP=${WARMUP%s}
CONNECTIONS=${CONNECTIONS:-64}
PIN=${PIN:-split}
PROXY_CPUS=${PROXY_CPUS:-1}
LOAD_CPUS=${LOAD_CPUS:-0}
HAPROXY=${HAPROXY:-auto}
REQUEST_PATH=${REQUEST_PATH:-/hello}
GATEHOUSE_ENV=${GATEHOUSE_ENV:-}
VARIANTS=${VARIANTS:-}
ACCESS=${ACCESS:-0}
SCALE=${SCALE:-0}
CLUSTER=${CLUSTER:-0}
OBSERVE=${OBSERVE:-0}
POLICIES=${POLICIES:-0}
FLOOR=${FLOOR:-0}
SCALE_ROUTES=${SCALE_ROUTES:-10000}
SCALE_APPS=${SCALE_APPS:-100000}
WRK_HEADER=()
SKIP_BUILD=${SKIP_BUILD:-0}
INSTALL=${INSTALL:-1}
CGROUP=${CGROUP:-auto}
QUIET_WAIT=${QUIET_WAIT:-0}
QUIET_BUSY=${QUIET_BUSY:-15}
TLS=${TLS:-0}
TLS_CONNECTIONS=${TLS_CONNECTIONS:-32}
TLS_STREAMS=${TLS_STREAMS:-10}

die() { echo "bench: $*" >&2; exit 1; }
say() { echo "bench: $*" >&2; }

for n in ROUNDS DURATION WARMUP CONNECTIONS QUIET_WAIT QUIET_BUSY TLS_CONNECTIONS TLS_STREAMS; do
    [[ ${!n} =~ ^[0-9]+$ ]] || die "$n must be a whole number (got '${!n}')"
done
(( ROUNDS >= 1 && ROUNDS <= 50 )) || die "ROUNDS must be 1..50"
(( DURATION >= 1 && DURATION <= 120 )) || die "DURATION must be 1..120 seconds"
(( WARMUP <= 60 )) || die "WARMUP must be 0..60 seconds"
(( CONNECTIONS >= 1 && CONNECTIONS <= 1024 )) || die "CONNECTIONS must be 1..1024"
(( QUIET_WAIT <= 3600 )) || die "QUIET_WAIT must be 0..3600 seconds"

NPROC=$(nproc)
case "$PIN" in
    split)
        (( NPROC >= 2 )) || { say "only $NPROC CPU: PIN=split needs 2, running unpinned"; PIN=none; } ;;
    none) ;;
    *) die "PIN must be split or none (got '$PIN')" ;;
esac

if [[ $PIN == split ]]; then
    cpus_in() { local n=0 part; IFS=, read -ra parts <<<"$1"; for part in "${parts[@]}"; do
        if [[ $part == *-* ]]; then n=$((n + ${part#*-} - ${part%-*} + 1)); else n=$((n + 1)); fi; done; echo "$n"; }
    PROXY_WORKERS=$(cpus_in "$PROXY_CPUS")
    LOAD_WORKERS=$(cpus_in "$LOAD_CPUS")
    ON_PROXY=(taskset -c "$PROXY_CPUS")
    ON_LOAD=(taskset -c "$LOAD_CPUS")
else
    PROXY_WORKERS=$NPROC
    LOAD_WORKERS=$NPROC
    ON_PROXY=()
    ON_LOAD=()
fi
THREADS=${THREADS:-$LOAD_WORKERS}
(( THREADS <= CONNECTIONS )) || THREADS=$CONNECTIONS

# ---- tools ---------------------------------------------------------------------------------------------

have() { command -v "$1" >/dev/null 2>&1; }
# nginx and haproxy live in /usr/sbin, which is not on every PATH.
export PATH="$PATH:/usr/sbin:/sbin"

APT_UPDATED=0
apt_install() {
    [[ $INSTALL == 1 ]] || return 1
    [[ $(id -u) == 0 ]] && have apt-get || return 1
    if [[ $APT_UPDATED == 0 ]]; then
        say "apt-get update"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || return 1
        APT_UPDATED=1
    fi
    say "apt-get install $*"
    # The packaged nginx/haproxy services must not start (port 80, a stray daemon): the benchmark runs its
    # own instances. Debian asks /usr/sbin/policy-rc.d before starting a service; 101 means "not now".
    local policy=/usr/sbin/policy-rc.d made=0 status=0
    if [[ ! -e $policy ]]; then printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && made=1; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2 || status=$?
    if [[ $made == 1 ]]; then rm -f "$policy"; fi
    return "$status"
}

missing=()
tools=(nginx wrk curl taskset)
if [[ $TLS == 1 ]]; then tools+=(h2load openssl); fi
for tool in "${tools[@]}"; do
    have "$tool" || missing+=("$tool")
done
if (( ${#missing[@]} > 0 )); then
    pkgs=()
    for tool in "${missing[@]}"; do
        case $tool in taskset) pkgs+=(util-linux) ;; h2load) pkgs+=(nghttp2-client) ;; *) pkgs+=("$tool") ;; esac
    done
    apt_install "${pkgs[@]}" || true
    still=()
    for tool in "${missing[@]}"; do have "$tool" || still+=("$tool"); done
    (( ${#still[@]} == 0 )) || die "missing: ${still[*]}. Install them (Debian: apt-get install ${pkgs[*]}) and run again."
fi
have dotnet || die "missing: dotnet (the .NET 10 SDK)."

USE_HAPROXY=0
case "$HAPROXY" in
    0) ;;
    1|auto)
        if ! have haproxy; then apt_install haproxy || true; fi
        if have haproxy; then
            USE_HAPROXY=1
        elif [[ $HAPROXY == 1 ]]; then
            die "missing: haproxy (Debian: apt-get install haproxy)."
        else
            say "haproxy is not installed and could not be installed: leaving its column out"
        fi ;;
    *) die "HAPROXY must be auto, 1 or 0" ;;
esac

# ---- build ---------------------------------------------------------------------------------------------

GATEHOUSE_DLL="$ROOT/src/Gatehouse/bin/Release/net10.0/gatehouse.dll"
BACKEND_DLL="$BENCH/Gatehouse.Bench.Backend/bin/Release/net10.0/Gatehouse.Bench.Backend.dll"
FLOOR_DLL="$BENCH/Gatehouse.Bench.Floor/bin/Release/net10.0/Gatehouse.Bench.Floor.dll"
if [[ $SKIP_BUILD != 1 ]]; then
    say "building Gatehouse and the backend (Release)"
    dotnet build -c Release -nologo -v quiet "$ROOT/src/Gatehouse/Gatehouse.csproj" >&2
    dotnet build -c Release -nologo -v quiet "$BENCH/Gatehouse.Bench.Backend/Gatehouse.Bench.Backend.csproj" >&2
    if [[ $FLOOR == 1 ]]; then dotnet build -c Release -nologo -v quiet "$BENCH/Gatehouse.Bench.Floor/Gatehouse.Bench.Floor.csproj" >&2; fi
fi
[[ $FLOOR != 1 || -f $FLOOR_DLL ]] || die "no Release build at $FLOOR_DLL (run without SKIP_BUILD=1)"
[[ -f $GATEHOUSE_DLL ]] || die "no Release build at $GATEHOUSE_DLL (run without SKIP_BUILD=1)"
[[ -f $BACKEND_DLL ]] || die "no Release build at $BACKEND_DLL (run without SKIP_BUILD=1)"

# ---- processes -----------------------------------------------------------------------------------------

TMP=$(mktemp -d /tmp/gatehouse-bench.XXXXXX)
chmod 755 "$TMP" # nginx workers run as nobody
STARTED=()        # every PID this script started, stopped in reverse order on exit
GROUPS_MADE=()    # cgroups this script made, removed on exit

cleanup() {
    local status=$? pid i
    trap - EXIT INT TERM
    for (( i = ${#STARTED[@]} - 1; i >= 0; i-- )); do
        pid=${STARTED[i]}
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${STARTED[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    if [[ $status != 0 ]]; then
        say "failed (exit $status); logs were in $TMP:"
        tail -n 20 "$TMP"/*.log 2>/dev/null >&2 || true
    fi
    for group in "${GROUPS_MADE[@]}"; do rmdir "$group" 2>/dev/null || true; done
    [[ -n ${BENCH_KEEP:-} ]] && cp -r "$TMP" "$BENCH_KEEP"; rm -rf "$TMP"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

CHOSEN_PORTS=" "
free_port() {
    local port
    for _ in $(seq 200); do
        # Below the usual ephemeral range (32768-60999), so outgoing connections cannot take it meanwhile.
        port=$(( 20000 + RANDOM % 12000 ))
        [[ $CHOSEN_PORTS == *" $port "* ]] && continue
        if have ss; then
            [[ -z $(ss -Htln "sport = :$port") ]] || continue
        elif (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            continue
        fi
        CHOSEN_PORTS+="$port "
        echo "$port"
        return
    done
    die "no free port found"
}

# Waits until http://127.0.0.1:PORT$REQUEST_PATH answers 200 with the backend's body.
wait_ready() {
    local name=$1 port=$2 pid=$3 body
    # 120 s: the scale variant first reads a config of 100,000 applications.
    for _ in $(seq 1200); do
        kill -0 "$pid" 2>/dev/null || die "$name exited during start-up (log: $(tail -n 5 "$TMP/$name.log" 2>/dev/null))"
        if body=$(curl -fsS --max-time 2 "${WRK_HEADER[@]}" "http://127.0.0.1:$port$REQUEST_PATH" 2>/dev/null); then
            [[ $body == "Hello, World!" ]] || die "$name answered an unexpected body: $body"
            return
        fi
        sleep 0.1
    done
    die "$name did not answer on port $port within 120 s"
}

# CPU cgroups (see CGROUP above). On a shared machine the scheduler shares CPU time per thread: a proxy
# with many threads gets more of a contended core than nginx's single worker does. In a group of its own
# with the weight of one thread, every proxy gets the same share however many threads it runs.
CG_KIND=none
if [[ $CGROUP != 0 ]]; then
    if [[ -w /sys/fs/cgroup/cgroup.procs ]] && grep -qw cpu /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null; then
        CG_KIND=v2 CG_ROOT=/sys/fs/cgroup
    elif [[ -w /sys/fs/cgroup/cpu/cgroup.procs ]]; then
        CG_KIND=v1 CG_ROOT=/sys/fs/cgroup/cpu
    elif [[ $CGROUP == 1 ]]; then
        die "CGROUP=1: no writable cgroup cpu controller (needs root)"
    else
        say "no writable cgroup cpu controller: proxies are not grouped (RPS on a busy machine favours many-thread proxies)"
    fi
fi
in_own_group() { # name pid: the process and its child processes (nginx's workers)
    [[ $CG_KIND != none ]] || return 0
    local group="$CG_ROOT/gatehouse-bench-$$-$1" p
    mkdir "$group" || die "cannot make cgroup $group"
    GROUPS_MADE+=("$group")
    if [[ $CG_KIND == v1 ]]; then echo 1024 >"$group/cpu.shares"; else echo 100 >"$group/cpu.weight"; fi
    for p in "$2" $(pgrep -P "$2" || true); do
        echo "$p" >"$group/cgroup.procs" || die "cannot move $1 into cgroup $group"
    done
}

BACKEND_PORT=$(free_port)
NGINX_PORT=$(free_port)
HAPROXY_PORT=$(free_port)
NGINX_TLS_PORT=$(free_port)
GATEHOUSE_TLS_PORT=$(free_port)
NGINX_TLS=""
if [[ $TLS == 1 ]]; then
    # One self-signed P-256 certificate for both proxies (h2load does not verify it).
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=127.0.0.1 \
        -addext subjectAltName=IP:127.0.0.1 -keyout "$TMP/tls.key" -out "$TMP/tls.crt" >"$TMP/openssl.log" 2>&1 \
        || die "openssl could not make the certificate: $(cat "$TMP/openssl.log")"
    NGINX_TLS="server {
        listen 127.0.0.1:$NGINX_TLS_PORT ssl http2;
        ssl_certificate $TMP/tls.crt;
        ssl_certificate_key $TMP/tls.key;
        # TLS 1.3 as Kestrel negotiates it (nginx 1.22 offers 1.2 at most by default), and no end to a connection
        # after 1,000 requests (the default, which on HTTP/2 left h2load's clients idle: it does not reconnect).
        ssl_protocols TLSv1.2 TLSv1.3;
        keepalive_requests 1000000;
        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
            proxy_set_header X-Forwarded-For \$remote_addr;
            proxy_set_header X-Forwarded-Proto \$scheme;
            proxy_set_header X-Forwarded-Host \$host;
            proxy_set_header X-Request-Id \$request_id;
            add_header X-Request-Id \$request_id always;
        }
    }"
fi

"${ON_LOAD[@]}" env DOTNET_gcServer=0 dotnet "$BACKEND_DLL" "$BACKEND_PORT" >"$TMP/backend.log" 2>&1 &
BACKEND_PID=$!
STARTED+=("$BACKEND_PID")
wait_ready backend "$BACKEND_PORT" "$BACKEND_PID"

# nginx: the same work as Gatehouse does per request (X-Forwarded-*, a request id both ways), keep-alive
# to the upstream, no access log.
cat >"$TMP/nginx.conf" <<EOF
daemon off;
worker_processes $PROXY_WORKERS;
pid $TMP/nginx.pid;
error_log $TMP/nginx-error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $TMP/nginx-body;
    proxy_temp_path $TMP/nginx-proxy;
    fastcgi_temp_path $TMP/nginx-fastcgi;
    uwsgi_temp_path $TMP/nginx-uwsgi;
    scgi_temp_path $TMP/nginx-scgi;
    upstream backend {
        server 127.0.0.1:$BACKEND_PORT;
        keepalive 256;
    }
    server {
        listen 127.0.0.1:$NGINX_PORT;
        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Forwarded-For \$remote_addr;
            proxy_set_header X-Forwarded-Proto \$scheme;
            proxy_set_header X-Forwarded-Host \$host;
            proxy_set_header X-Request-Id \$request_id;
            add_header X-Request-Id \$request_id always;
        }
    }
    $NGINX_TLS
}
EOF
nginx -t -q -e "$TMP/nginx-error.log" -p "$TMP" -c "$TMP/nginx.conf" 2>"$TMP/nginx.log" || die "nginx refused its config: $(cat "$TMP/nginx.log")"
"${ON_PROXY[@]}" nginx -e "$TMP/nginx-error.log" -p "$TMP" -c "$TMP/nginx.conf" >>"$TMP/nginx.log" 2>&1 &
NGINX_PID=$!
STARTED+=("$NGINX_PID")
wait_ready nginx "$NGINX_PORT" "$NGINX_PID"
in_own_group nginx "$NGINX_PID" # after start-up, when the workers exist

# The configs are files in bench/configs (validated against the config schema by the tests); the backend's URL is
# written into a copy.
sed "s|\${BENCH_BACKEND:-http://127.0.0.1:9}|http://127.0.0.1:$BACKEND_PORT|" "$BENCH/configs/gatehouse.yaml" >"$TMP/gatehouse.yaml"
BENCH_KEY=ghk_benchbenchbenchbenchbenchbench0000
access_config() { # extra-routes extra-apps
    cat "$TMP/gatehouse.yaml"
    awk -v n="$1" 'BEGIN { for (i = 0; i < n; i++) printf "  r%d:\n    path: /r%d/{id}/items/{**rest}\n    service: bench\n", i, i }'
    cat "$BENCH/configs/access.yaml"
    # Other applications, each with its own (random-looking, unusable) key hash.
    awk -v n="$2" 'BEGIN { for (i = 0; i < n; i++) { h = sprintf("%064x", i + 1); printf "  app%d:\n    account: bench\n    plan: bench\n    keys: [ { sha256: %s } ]\n", i, h } }'
}
if [[ $ACCESS == 1 || $SCALE == 1 ]]; then
    access_config 0 0 >"$TMP/gatehouse-access.yaml"
    VARIANTS="$VARIANTS access:GATEHOUSE_CONFIG=$TMP/gatehouse-access.yaml"
    WRK_HEADER=(-H "X-Api-Key: $BENCH_KEY")
fi
if [[ $POLICIES == 1 ]]; then
    for name in policies cached; do
        sed "s|\${BENCH_BACKEND:-http://127.0.0.1:9}|http://127.0.0.1:$BACKEND_PORT|" "$BENCH/configs/$name.yaml" >"$TMP/gatehouse-$name.yaml"
        VARIANTS="$VARIANTS $name:GATEHOUSE_CONFIG=$TMP/gatehouse-$name.yaml"
    done
    WRK_HEADER+=(-H "Origin: https://app.example.com")
fi
if [[ $SCALE == 1 ]]; then
    access_config "$SCALE_ROUTES" "$SCALE_APPS" >"$TMP/gatehouse-scale.yaml"
    VARIANTS="$VARIANTS scale:GATEHOUSE_CONFIG=$TMP/gatehouse-scale.yaml"
fi

# The limits-across-nodes variants (CLUSTER=1): the access config's plan with limits per node, or in an engine.
cluster_config() { # limit-keys redis-url
    if [[ -n $2 ]]; then
        printf 'version: 1\ngateway:\n  limits: { redis: "%s" }\n' "$2"
        sed -n '/^services:/,$p' "$TMP/gatehouse.yaml"
    else
        cat "$TMP/gatehouse.yaml"
    fi
    sed "s|per: minute }|per: minute, $1 }|; s|per: day }|per: day, $1 }|" "$BENCH/configs/access.yaml"
}
if [[ $CLUSTER == 1 ]]; then
    [[ -x /usr/bin/redis-server ]] || die "CLUSTER=1 needs redis-server (apt-get install redis-server)"
    PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort | tail -n 1)
    [[ -x $PG_BIN/initdb ]] || die "CLUSTER=1 needs PostgreSQL's server (apt-get install postgresql)"
    REDIS_PORT=$(free_port)
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no >"$TMP/redis.log" 2>&1 &
    STARTED+=("$!")
    PG_PORT=$(free_port)
    mkdir -p "$TMP/pg"
    as_pg=()
    if [[ $(id -u) == 0 ]]; then chown postgres "$TMP/pg"; as_pg=(runuser -u postgres --); fi
    "${as_pg[@]}" "$PG_BIN/initdb" -D "$TMP/pg/data" -U postgres --auth=trust --no-sync >"$TMP/pg-init.log" 2>&1
    "${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$TMP/pg/data" -l "$TMP/pg/server.log" -o "-p $PG_PORT -k $TMP/pg -c listen_addresses=127.0.0.1" -w start >/dev/null
    STARTED+=("$(head -n 1 "$TMP/pg/data/postmaster.pid")")
    for db in pgnode pgstrict pgfast; do psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -qc "CREATE DATABASE $db" >/dev/null; done
    cluster_config "scope: node" "" >"$TMP/gatehouse-access.yaml"
    cluster_config "scope: cluster, sync: strict, lease: 1000" "127.0.0.1:$REDIS_PORT" >"$TMP/gatehouse-redis-strict.yaml"
    cluster_config "scope: cluster, sync: fast" "127.0.0.1:$REDIS_PORT" >"$TMP/gatehouse-redis-fast.yaml"
    cluster_config "scope: cluster, sync: strict, lease: 1000" "" >"$TMP/gatehouse-pg-strict.yaml"
    cluster_config "scope: cluster, sync: fast" "" >"$TMP/gatehouse-pg-fast.yaml"
    [[ $ACCESS == 1 || $SCALE == 1 ]] || VARIANTS="$VARIANTS access:GATEHOUSE_CONFIG=$TMP/gatehouse-access.yaml"
    VARIANTS="$VARIANTS redis-strict:GATEHOUSE_CONFIG=$TMP/gatehouse-redis-strict.yaml"
    VARIANTS="$VARIANTS redis-fast:GATEHOUSE_CONFIG=$TMP/gatehouse-redis-fast.yaml"
    # The PostgreSQL variants run with --store (an admin API, usage recording): their baseline is "pg-node", the same
    # store with the limits per node, not "access".
    VARIANTS="$VARIANTS pg-node:GATEHOUSE_PGSTORE=postgres://postgres@127.0.0.1:$PG_PORT/pgnode,GATEHOUSE_CONFIG=$TMP/gatehouse-access.yaml"
    VARIANTS="$VARIANTS pg-strict:GATEHOUSE_PGSTORE=postgres://postgres@127.0.0.1:$PG_PORT/pgstrict,GATEHOUSE_CONFIG=$TMP/gatehouse-pg-strict.yaml"
    VARIANTS="$VARIANTS pg-fast:GATEHOUSE_PGSTORE=postgres://postgres@127.0.0.1:$PG_PORT/pgfast,GATEHOUSE_CONFIG=$TMP/gatehouse-pg-fast.yaml"
    WRK_HEADER=(-H "X-Api-Key: $BENCH_KEY")
fi

# The observability variants (OBSERVE=1): the plain route, with one feature on each, or all of them.
observe_config() { # usage(true|false) metrics(true|false) metrics-url access-log-path
    printf 'version: 1\ngateway:\n  observability:\n    usage: { enabled: %s }\n    metrics: { enabled: %s%s }\n' "$1" "$2" "${3:+, url: \"$3\"}"
    if [[ -n $4 ]]; then printf '    accessLog: { path: "%s", maxFileSize: 64MB, maxFiles: 2 }\n' "$4"; fi
    sed -n '/^services:/,$p' "$TMP/gatehouse.yaml"
}
if [[ $OBSERVE == 1 ]]; then
    TRACING="OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$BACKEND_PORT,OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf,OTEL_TRACES_SAMPLER=parentbased_traceidratio,OTEL_TRACES_SAMPLER_ARG=0.01"
    observe_config false false "" "" >"$TMP/gatehouse-storeoff.yaml"
    observe_config true false "" "" >"$TMP/gatehouse-usage.yaml"
    observe_config false true "http://127.0.0.1:$(free_port)" "" >"$TMP/gatehouse-metrics.yaml"
    observe_config false false "" "$TMP/access-accesslog.log" >"$TMP/gatehouse-accesslog.yaml"
    observe_config true true "" "$TMP/access-all.log" >"$TMP/gatehouse-all.yaml"
    VARIANTS="$VARIANTS storeoff:GATEHOUSE_STORE=$TMP/storeoff.db,GATEHOUSE_CONFIG=$TMP/gatehouse-storeoff.yaml"
    VARIANTS="$VARIANTS usage:GATEHOUSE_STORE=$TMP/usage.db,GATEHOUSE_CONFIG=$TMP/gatehouse-usage.yaml"
    VARIANTS="$VARIANTS metrics:GATEHOUSE_CONFIG=$TMP/gatehouse-metrics.yaml"
    VARIANTS="$VARIANTS accesslog:GATEHOUSE_CONFIG=$TMP/gatehouse-accesslog.yaml"
    VARIANTS="$VARIANTS tracing:$TRACING"
    VARIANTS="$VARIANTS all:GATEHOUSE_STORE=$TMP/all.db,GATEHOUSE_CONFIG=$TMP/gatehouse-all.yaml,$TRACING"
fi

declare -A PORT=([direct]=$BACKEND_PORT [nginx]=$NGINX_PORT)
declare -A PID=([direct]=$BACKEND_PID [nginx]=$NGINX_PID)
GATEHOUSES=(gatehouse)
declare -A GATEHOUSE_ENVS=([gatehouse]="$GATEHOUSE_ENV")
for variant in $VARIANTS; do
    name=${variant%%:*}
    [[ $variant == *:* && $name =~ ^[A-Za-z0-9_.-]+$ ]] || die "VARIANTS: '$variant' is not NAME:VAR=VALUE[,VAR=VALUE]"
    GATEHOUSES+=("gatehouse:$name")
    GATEHOUSE_ENVS["gatehouse:$name"]="$GATEHOUSE_ENV ${variant#*:}"
    GATEHOUSE_ENVS["gatehouse:$name"]=${GATEHOUSE_ENVS["gatehouse:$name"]//,/ }
done
for target in "${GATEHOUSES[@]}"; do
    PORT[$target]=$(free_port)
    log="$TMP/${target//:/-}.log"
    # GATEHOUSE_DLL=PATH in a variant runs another build (a "before" next to the "after").
    dll=$GATEHOUSE_DLL
    config="$TMP/gatehouse.yaml"
    if [[ $target == gatehouse && $TLS == 1 ]]; then
        # The plain column's process also serves the TLS fronts, on a second listener (--port sets the first).
        config="$TMP/gatehouse-tls.yaml"
        { printf 'version: 1\ngateway:\n  listeners:\n    - url: http://127.0.0.1:%s\n    - url: https://127.0.0.1:%s\n      certificate: { certFile: %s, keyFile: %s }\n' \
            "${PORT[$target]}" "$GATEHOUSE_TLS_PORT" "$TMP/tls.crt" "$TMP/tls.key"
          sed -n '/^services:/,$p' "$TMP/gatehouse.yaml"; } >"$config"
    fi
    store=()
    envs=()
    for kv in ${GATEHOUSE_ENVS[$target]}; do
        if [[ $kv == GATEHOUSE_DLL=* ]]; then dll=${kv#GATEHOUSE_DLL=}
        elif [[ $kv == GATEHOUSE_CONFIG=* ]]; then
            # The variant's file may point at the bench backend as gatehouse.yaml does (${BENCH_BACKEND:-...}).
            # A file of its own: the variant's file may itself be in $TMP under the target's name (OBSERVE=1 writes them there).
            config="$TMP/${target//:/-}.run.yaml"
            sed "s|\${BENCH_BACKEND:-http://127.0.0.1:9}|http://127.0.0.1:$BACKEND_PORT|" "${kv#GATEHOUSE_CONFIG=}" >"$config"
        elif [[ $kv == GATEHOUSE_STORE=* ]]; then store=(--store "sqlite:${kv#GATEHOUSE_STORE=}" --admin-url "http://127.0.0.1:$(free_port)" --no-portal)
        elif [[ $kv == GATEHOUSE_PGSTORE=* ]]; then store=(--store "${kv#GATEHOUSE_PGSTORE=}" --admin-url "http://127.0.0.1:$(free_port)" --no-portal)
        else envs+=("$kv"); fi
    done
    [[ -f $dll ]] || die "$target: no such build: $dll"
    (( ${#store[@]} == 0 )) || envs+=("GATEHOUSE_ADMIN_TOKEN=gha_bench")
    "${ON_PROXY[@]}" env "${envs[@]}" dotnet "$dll" run --config "$config" "${store[@]}" --port "${PORT[$target]}" >"$log" 2>&1 &
    PID[$target]=$!
    STARTED+=("${PID[$target]}")
    in_own_group "${target//:/-}" "${PID[$target]}"
    wait_ready "${target//:/-}" "${PORT[$target]}" "${PID[$target]}"
done

if [[ $FLOOR == 1 ]]; then
    # The plain column's own runtime environment: its gen0 budget (the gatehouse command sets it for itself at start,
    # Gen0Budget, so it is read from its process rather than worked out twice here) and what decides inline socket
    # completions (the floor applies the command's rule to it).
    floor_env=()
    while IFS= read -r kv; do floor_env+=("$kv"); done < <(tr '\0' '\n' <"/proc/${PID[gatehouse]}/environ" | grep -E '^(DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS|GATEHOUSE_INLINE_IO|DOTNET_GCgen0size)=' || true)
    PORT[floor]=$(free_port)
    floor_tls=()
    if [[ $TLS == 1 ]]; then FLOOR_TLS_PORT=$(free_port); floor_tls=("$FLOOR_TLS_PORT" "$TMP/tls.crt" "$TMP/tls.key"); fi
    "${ON_PROXY[@]}" env "${floor_env[@]}" dotnet "$FLOOR_DLL" "${PORT[floor]}" "http://127.0.0.1:$BACKEND_PORT" "${floor_tls[@]}" >"$TMP/floor.log" 2>&1 &
    PID[floor]=$!
    STARTED+=("${PID[floor]}")
    in_own_group floor "${PID[floor]}"
    wait_ready floor "${PORT[floor]}" "${PID[floor]}"
    say "floor runs with: ${floor_env[*]:-(nothing set by the gatehouse command)}"
fi

if [[ $USE_HAPROXY == 1 ]]; then
    cat >"$TMP/haproxy.cfg" <<EOF
global
    nbthread $PROXY_WORKERS
    maxconn 4096
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:$HAPROXY_PORT
    option forwardfor
    http-request set-header X-Forwarded-Proto http
    http-request set-header X-Forwarded-Host %[req.hdr(host)]
    unique-id-format %{+X}o%ci%cp%fi%fp%Ts%rt%pid
    unique-id-header X-Request-Id
    http-response set-header X-Request-Id %[unique-id]
    default_backend be
backend be
    http-reuse always
    server s1 127.0.0.1:$BACKEND_PORT
EOF
    haproxy -c -q -f "$TMP/haproxy.cfg" >"$TMP/haproxy.log" 2>&1 || die "haproxy refused its config: $(cat "$TMP/haproxy.log")"
    "${ON_PROXY[@]}" haproxy -db -f "$TMP/haproxy.cfg" >>"$TMP/haproxy.log" 2>&1 &
    PID[haproxy]=$!
    PORT[haproxy]=$HAPROXY_PORT
    STARTED+=("${PID[haproxy]}")
    in_own_group haproxy "${PID[haproxy]}"
    wait_ready haproxy "$HAPROXY_PORT" "${PID[haproxy]}"
fi

# ---- measuring -----------------------------------------------------------------------------------------

TARGETS=(direct nginx "${GATEHOUSES[@]}")
if (( USE_HAPROXY == 1 )); then TARGETS+=(haproxy); fi
if [[ $FLOOR == 1 ]]; then TARGETS+=(floor); fi
declare -A MODE=()
if [[ $TLS == 1 ]]; then
    for proto in h1 h2; do
        PID[nginx-tls-$proto]=$NGINX_PID PORT[nginx-tls-$proto]=$NGINX_TLS_PORT MODE[nginx-tls-$proto]=$proto
        PID[gatehouse-tls-$proto]=${PID[gatehouse]} PORT[gatehouse-tls-$proto]=$GATEHOUSE_TLS_PORT MODE[gatehouse-tls-$proto]=$proto
        TARGETS+=(nginx-tls-$proto gatehouse-tls-$proto)
        if [[ $FLOOR == 1 ]]; then
            PID[floor-tls-$proto]=${PID[floor]} PORT[floor-tls-$proto]=$FLOOR_TLS_PORT MODE[floor-tls-$proto]=$proto
            TARGETS+=(floor-tls-$proto)
        fi
    done
    curl -sk -o /dev/null "https://127.0.0.1:$NGINX_TLS_PORT$REQUEST_PATH" || die "nginx's TLS front did not answer (see $TMP/nginx-error.log)"
    curl -sk -o /dev/null "https://127.0.0.1:$GATEHOUSE_TLS_PORT$REQUEST_PATH" || die "Gatehouse's TLS front did not answer (see $TMP/gatehouse.log)"
fi
CLK_TCK=$(getconf CLK_TCK)

# utime+stime (clock ticks) of a process and its child processes (nginx's workers). For one process,
# /proc/PID/stat already sums all its threads.
cpu_ticks() {
    local root=$1 total=0 p t
    for p in "$root" $(pgrep -P "$root" || true); do
        # Fields after "(comm) ": state is 1st, utime 12th, stime 13th.
        t=$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | awk '{ print $12 + $13 }') || t=0
        total=$(( total + ${t:-0} ))
    done
    echo "$total"
}

# Busy and total clock ticks of the whole machine, from /proc/stat's "cpu" line:
# user nice system idle iowait irq softirq steal.
machine_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat; }

# "1m2.345s" (bash's times) in clock ticks.
times_to_ticks() { awk -v v="$1" -v hz="$CLK_TCK" 'BEGIN { split(v, p, "m"); sub(/s$/, "", p[2]); printf "%.0f", (p[1] * 60 + p[2]) * hz }'; }

# wrk's latency ("812.00us", "1.20ms", "1.01s") in microseconds.
to_us() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) f = 1; else if (v ~ /ms$/) f = 1000; else if (v ~ /m$/) f = 60e6; else f = 1e6; printf "%.0f", n * f }'; }

# Columns: target round rps requests proxy_ticks backend_ticks p50_us p99_us errors wrk_ticks other_load_pct
RESULTS="$TMP/results.tsv"
: >"$RESULTS"

run_wrk() { # target seconds -> wrk's output
    "${ON_LOAD[@]}" timeout $(( $2 + 30 )) wrk -t"$THREADS" -c"$CONNECTIONS" -d"$2"s --latency "${WRK_HEADER[@]}" "http://127.0.0.1:${PORT[$1]}$REQUEST_PATH"
}

run_h2load() { # target seconds -> h2load's output, reshaped so that measure() reads it as it reads wrk's
    local proto=(--h1) out
    [[ ${MODE[$1]} == h2 ]] && proto=(-m"$TLS_STREAMS")
    # One cipher suite offered, so that both servers use the same (left to them, nginx chose AES-128 and Kestrel AES-256).
    out=$("${ON_LOAD[@]}" timeout $(( $2 + 30 )) h2load -t"$THREADS" -c"$TLS_CONNECTIONS" "${proto[@]}" -D "$2" --tls13-ciphers=TLS_AES_128_GCM_SHA256 "${WRK_HEADER[@]}" \
        "https://127.0.0.1:${PORT[$1]}$REQUEST_PATH") || { echo "$out"; return 1; }
    echo "$out" >>"$TMP/h2load-$1.txt" # as h2load wrote it (BENCH_KEEP keeps it)
    awk -v d="$2" '
        /^finished in/ { gsub(/,/, ""); rps = $4 }
        /^requests:/ { done = $8; failed = $10 + $12 + $14 }
        /^status codes:/ { bad = $7 + $9 }
        END { if (done == "") exit 1
              printf "  %d requests in %ss\nRequests/sec: %s\n     50%% 0us\n     99%% 0us\n", done, d, rps
              if (failed + bad > 0) printf "  Non-2xx or 3xx responses: %d\n", failed + bad }' <<<"$out" || { echo "$out"; return 1; }
}

measure() { # target round
    local target=$1 round=$2 out before=0 after=0 bbefore bafter mbefore mafter rps requests p50 p99 errors proxy_ticks wrk_ticks other
    mbefore=$(machine_ticks)
    bbefore=$(cpu_ticks "$BACKEND_PID")
    if [[ $target != direct ]]; then before=$(cpu_ticks "${PID[$target]}"); fi
    # "times" in the same subshell reports the CPU time of its children: here, wrk alone.
    if [[ -n ${MODE[$target]:-} ]]; then
        out=$(run_h2load "$target" "$DURATION" && times) || die "h2load against $target failed: $out"
    else
        out=$(run_wrk "$target" "$DURATION" && times) || die "wrk against $target failed: $out"
    fi
    if [[ $target != direct ]]; then after=$(cpu_ticks "${PID[$target]}"); fi
    bafter=$(cpu_ticks "$BACKEND_PID")
    mafter=$(machine_ticks)
    rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
    requests=$(awk '/requests in/ { print $1 }' <<<"$out")
    p50=$(to_us "$(awk '$1 == "50%" { print $2 }' <<<"$out")")
    p99=$(to_us "$(awk '$1 == "99%" { print $2 }' <<<"$out")")
    errors=$(awk '/Non-2xx or 3xx responses:/ { n += $NF } /Socket errors:/ { gsub(/,/, ""); n += $4 + $6 + $8 + $10 } END { print n + 0 }' <<<"$out")
    [[ -n $rps && -n $requests && $requests -gt 0 ]] || die "could not read wrk's output for $target: $out"
    read -r wu ws < <(tail -n 1 <<<"$out")
    wrk_ticks=$(( $(times_to_ticks "$wu") + $(times_to_ticks "$ws") ))
    proxy_ticks=$(( after - before ))
    # Share of the whole machine that processes other than ours used during the round (other people's
    # builds on a shared box): when it is high, RPS is not comparable; CPU per request still mostly is.
    other=$(awk -v mb="$mbefore" -v ma="$mafter" -v ours=$(( proxy_ticks + bafter - bbefore + wrk_ticks )) 'BEGIN {
        split(mb, b, " "); split(ma, a, " "); busy = a[1] - b[1]; all = a[2] - b[2]
        x = all > 0 ? (busy - ours) * 100 / all : 0; printf "%.0f", (x < 0 ? 0 : x) }')
    if [[ $target == direct ]]; then proxy_ticks="-"; fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$target" "$round" "$rps" "$requests" "$proxy_ticks" $(( bafter - bbefore )) \
        "$p50" "$p99" "$errors" "$wrk_ticks" "$other" >>"$RESULTS"
    local cpu_note=""
    if [[ $target != direct ]]; then cpu_note=$(awk -v t="$proxy_ticks" -v n="$requests" -v hz="$CLK_TCK" 'BEGIN { printf ", proxy CPU %.1f µs/req", t * 1e6 / hz / n }'); fi
    say "$(printf 'round %d/%d %-16s %8.0f req/s, p99 %6.2f ms%s, other load %s%%%s' "$round" "$ROUNDS" "$target" "$rps" \
        "$(awk -v v="$p99" 'BEGIN { print v / 1000 }')" "$cpu_note" "$other" "$( (( errors > 0 )) && echo ", $errors ERRORS" )")"
}

# Percent of the whole machine busy over the next $1 seconds (nothing of ours is under load then).
busy_pct() {
    local before after
    before=$(machine_ticks); sleep "$1"; after=$(machine_ticks)
    awk -v b="$before" -v a="$after" 'BEGIN { split(b, x, " "); split(a, y, " "); all = y[2] - x[2]; printf "%.0f", (all > 0 ? (y[1] - x[1]) * 100 / all : 0) }'
}

# On a shared machine, optionally wait for a quiet moment (other people's builds and tests) before measuring.
if (( QUIET_WAIT > 0 )); then
    deadline=$(( SECONDS + QUIET_WAIT ))
    while busy=$(busy_pct 3); (( busy > QUIET_BUSY )); do
        (( SECONDS < deadline )) || { say "the machine is still ${busy}% busy after ${QUIET_WAIT}s: measuring anyway"; break; }
        say "the machine is ${busy}% busy (> ${QUIET_BUSY}%): waiting for a quieter moment"
        sleep 7
    done
fi
IDLE_BUSY=$(busy_pct 2)
(( IDLE_BUSY <= 25 )) || say "warning: the machine is ${IDLE_BUSY}% busy before the load starts; RPS will be noisy (see 'other load')"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
START_DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ)
say "targets: ${TARGETS[*]}; $ROUNDS rounds x ${DURATION}s, wrk -t$THREADS -c$CONNECTIONS, pinning: $PIN"
if (( WARMUP > 0 )); then
    for target in "${TARGETS[@]}"; do
        say "warm-up $target (${WARMUP}s)"
        if [[ -n ${MODE[$target]:-} ]]; then
            run_h2load "$target" "$WARMUP" >/dev/null || die "warm-up against $target failed"
        else
            run_wrk "$target" "$WARMUP" >/dev/null || die "warm-up against $target failed"
        fi
    done
fi

for (( round = 1; round <= ROUNDS; round++ )); do
    # Rotate the order every round so no target always runs right after another one (or first).
    n=${#TARGETS[@]}
    for (( i = 0; i < n; i++ )); do
        measure "${TARGETS[(i + round - 1) % n]}" "$round"
    done
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- report --------------------------------------------------------------------------------------------

# One line per target, medians over the rounds:
# target rps proxy_us_per_req backend_us_per_req p50_us p99_us errors(sum) other_load_pct
summary() {
    local target
    for target in "${TARGETS[@]}"; do
        awk -F'\t' -v t="$target" -v hz="$CLK_TCK" '
            function median(a, n,   i, j, x) {
                for (i = 2; i <= n; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x }
                return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
            }
            $1 == t {
                n++; rps[n] = $3; p50[n] = $7; p99[n] = $8; err += $9; other[n] = $11
                back[n] = $6 * 1e6 / hz / $4
                if ($5 != "-") proxy[n] = $5 * 1e6 / hz / $4
            }
            END {
                printf "%s\t%.0f\t%s\t%.1f\t%.0f\t%.0f\t%d\t%.0f\n", t, median(rps, n),
                    (t == "direct" ? "-" : sprintf("%.1f", median(proxy, n))), median(back, n), median(p50, n), median(p99, n), err, median(other, n)
            }' "$RESULTS"
    done
}
SUMMARY=$(summary)
DIRECT_RPS=$(awk -F'\t' '$1 == "direct" { print $2 }' <<<"$SUMMARY")
NGINX_RPS=$(awk -F'\t' '$1 == "nginx" { print $2 }' <<<"$SUMMARY")

table() { # markdown table of the summary
    echo "| target | median RPS | vs direct | vs nginx | proxy CPU µs/req | backend CPU µs/req | p50 latency | p99 latency | errors | other load |"
    echo "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
    awk -F'\t' -v d="$DIRECT_RPS" -v g="$NGINX_RPS" '
        { rps[$1] = $2; line[NR] = $0 }
        END { for (i = 1; i <= NR; i++) { split(line[i], f, "\t")
            # A TLS row is read against nginx over the same protocol; h2load gives no percentiles.
            tls = f[1] ~ /-tls-h[12]$/; ref = tls ? rps["nginx-tls-" substr(f[1], length(f[1]) - 1)] : g
            printf "| %s | %d | %.2f | %.2f | %s | %.1f | %s | %s | %d | %d%% |\n", f[1], f[2], f[2] / d, f[2] / ref, f[3], f[4],
                tls ? "-" : sprintf("%.2f ms", f[5] / 1000), tls ? "-" : sprintf("%.2f ms", f[6] / 1000), f[7], f[8] } }' <<<"$SUMMARY"
}

rounds_table() {
    echo "| round | target | RPS | proxy CPU µs/req | backend CPU µs/req | wrk CPU µs/req | p99 latency | other load |"
    echo "|--:|---|--:|--:|--:|--:|--:|--:|"
    sort -t$'\t' -k2,2n -s "$RESULTS" | awk -F'\t' -v hz="$CLK_TCK" '{
        printf "| %d | %s | %.0f | %s | %.1f | %.1f | %s | %d%% |\n", $2, $1, $3, ($5 == "-" ? "-" : sprintf("%.1f", $5 * 1e6 / hz / $4)),
            $6 * 1e6 / hz / $4, $10 * 1e6 / hz / $4, ($1 ~ /-tls-h[12]$/ ? "-" : sprintf("%.2f ms", $8 / 1000)), $11
    }'
}

TLS_NOTE=""
if [[ $TLS == 1 ]]; then TLS_NOTE=" TLS=1 TLS_CONNECTIONS=$TLS_CONNECTIONS TLS_STREAMS=$TLS_STREAMS"; fi
CPU_MODEL=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
MEM=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
DIRTY=$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null | grep -q . && echo " (with uncommitted changes)" || true)
COMMAND="ROUNDS=$ROUNDS DURATION=$DURATION WARMUP=$WARMUP CONNECTIONS=$CONNECTIONS THREADS=$THREADS PIN=$PIN$TLS_NOTE${GATEHOUSE_ENV:+ GATEHOUSE_ENV=\"$GATEHOUSE_ENV\"}${VARIANTS:+ VARIANTS=\"$VARIANTS\"} bench/run.sh"
if [[ $PIN == split ]]; then
    PINNING="proxies on CPU $PROXY_CPUS ($PROXY_WORKERS worker(s)/thread(s) for nginx and HAProxy); wrk and the backend on CPU $LOAD_CPUS"
else
    PINNING="none ($PROXY_WORKERS nginx workers / HAProxy threads)"
fi

report() {
    echo "# Gatehouse load benchmark, $START_DATE"
    echo
    echo "- command: \`$COMMAND\`"
    echo "- commit: $COMMIT$DIRTY"
    echo "- machine: $NPROC × $CPU_MODEL, $MEM, $(uname -sr)"
    echo "- machine busy before the load: ${IDLE_BUSY}%; load average (1/5/15 min) before: $LOAD_START, after: $LOAD_END"
    echo "- wrk $(wrk -v 2>&1 | awk 'NR == 1 { print $2 }'): \`-t$THREADS -c$CONNECTIONS -d${DURATION}s\`, $ROUNDS rounds in rotating order after ${WARMUP}s of warm-up per target, GET $REQUEST_PATH (13-byte body)"
    if [[ $TLS == 1 ]]; then
        echo "- TLS fronts: h2load $(h2load --version 2>&1 | awk 'NR == 1 { print $2 }') \`-t$THREADS -c$TLS_CONNECTIONS -D $DURATION\` with \`--h1\` (the \`-tls-h1\` rows) or \`-m$TLS_STREAMS\` (HTTP/2, \`-tls-h2\`), TLS 1.3 with TLS_AES_128_GCM_SHA256 and a self-signed P-256 certificate; upstream plain HTTP/1.1"
    fi
    echo "- pinning: $PINNING"
    echo "- cgroups: $( [[ $CG_KIND == none ]] && echo "none" || echo "each proxy in a cgroup ($CG_KIND) weighing as much as one thread")"
    local target
    for target in "${GATEHOUSES[@]}"; do
        if [[ $target != gatehouse || -n $GATEHOUSE_ENV ]]; then echo "- $target environment: \`${GATEHOUSE_ENVS[$target]## }\`"; fi
    done
    echo "- $(nginx -v 2>&1 | sed 's/^nginx version: //'); $( (( USE_HAPROXY == 1 )) && haproxy -v 2>&1 | awk 'NR == 1 { print "HAProxy " $3 }' || echo "HAProxy not measured"); .NET SDK $(dotnet --version)"
    echo
    table
    echo
    echo "Medians over the rounds. CPU µs/req: utime+stime from /proc/PID/stat (all threads, and nginx's"
    echo "worker processes) over the round, divided by the requests wrk completed in it. Other load: the share"
    echo "of the whole machine that processes other than wrk, the backend and the proxy used meanwhile; when it"
    echo "is high the RPS columns say more about the neighbours than about the proxies."
    echo
    echo "<details><summary>Every round</summary>"
    echo
    rounds_table
    echo
    echo "</details>"
}

mkdir -p "$BENCH/results"
OUT="$BENCH/results/$(date -u +%Y-%m-%dT%H%M%SZ).md"
report >"$OUT"
echo
report
echo
say "written to ${OUT#"$ROOT"/}"
