#!/usr/bin/env bash
# How many self-registering instances one control plane takes (the admin API's service registration; docs/admin-api.md,
# "Many instances"; docs/benchmarks.md, "Registrations and heartbeats").
#
#   bench/registrations.sh                         # 1,000 instances: register them (REGISTER s), then heartbeats (MEASURE s)
#   INSTANCES=10000 TTL=300s REGISTER=60 bench/registrations.sh
#   DLL=/tmp/before/gatehouse.dll bench/registrations.sh   # another build
#
# A Release `gatehouse run --store sqlite:…` (the portal off) pinned to CPU 1, with one service that takes
# registrations; wrk on CPU 0 sends `PUT /admin/services/users/registrations` with the service's registration token,
# going round INSTANCES URLs (http://10.1.X.Y:8080). The first REGISTER seconds register them (and renew the first
# ones), then MEASURE seconds are measured with --latency: in steady state these are heartbeats. It prints wrk's rate
# and latency, how many instances are registered at the end, and the time of three config changes to the service (each
# rebuilds its upstream with every registered target). TTL must outlast one round of the URLs, or early ones expire and
# register again. Load goes to 127.0.0.1 only, bounded by REGISTER + MEASURE.
#   INSTANCES=1000 (at most 10,000)  TTL=30s  REGISTER=10  MEASURE=10  CONNECTIONS=16
set -euo pipefail
cd "$(dirname "$0")/.."
die() { echo "registrations: $*" >&2; exit 1; }
INSTANCES=${INSTANCES:-1000}
TTL=${TTL:-30s}
REGISTER=${REGISTER:-10}
MEASURE=${MEASURE:-10}
CONNECTIONS=${CONNECTIONS:-16}
for n in INSTANCES REGISTER MEASURE CONNECTIONS; do [[ ${!n} =~ ^[0-9]+$ ]] || die "$n must be a whole number"; done
(( INSTANCES >= 1 && INSTANCES <= 10000 )) || die "INSTANCES must be 1..10000"
[[ $TTL =~ ^[0-9]+[sm]$ ]] || die "TTL must be seconds or minutes, such as 30s or 5m (at most the service's maxTtl, 5m)"
command -v wrk >/dev/null || die "wrk is not installed (apt-get install wrk)"
(( $(nproc) >= 2 )) || die "needs 2 CPUs (the gateway on one, wrk on the other)"
if [[ ${SKIP_BUILD:-0} != 1 && -z ${DLL:-} ]]; then
    dotnet build -c Release src/Gatehouse -v q -nologo >/dev/null || die "the Release build failed"
fi
DLL=${DLL:-$PWD/src/Gatehouse/bin/Release/net10.0/gatehouse.dll}
[[ -f $DLL ]] || die "no build at $DLL"

TMP=$(mktemp -d /tmp/gatehouse-registrations.XXXXXX)
PID=
cleanup() { [[ -z $PID ]] || kill "$PID" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

TOKEN=ghr_$(head -c 24 /dev/urandom | base64 | tr -d '/+=' | head -c 32)
ADMIN=gha_$(head -c 24 /dev/urandom | base64 | tr -d '/+=' | head -c 32)
HASH=$(printf %s "$TOKEN" | sha256sum | cut -d' ' -f1)
cat >"$TMP/gatehouse.yaml" <<EOF
version: 1
services:
  users:
    targets: ["http://127.0.0.1:9"]
    registration: { tokenSha256: $HASH, ttl: 30s }
routes:
  all: { path: "/{**rest}", service: users }
EOF
cat >"$TMP/put.lua" <<EOF
counter = 0
request = function()
  local i = counter % $INSTANCES
  counter = counter + 1
  local body = string.format('{"url":"http://10.1.%d.%d:8080","ttl":"$TTL"}', math.floor(i / 250), i % 250)
  return wrk.format("PUT", "/admin/services/users/registrations", {["Authorization"]="Bearer $TOKEN", ["Content-Type"]="application/json"}, body)
end
EOF

GATEWAY=$(free_port)
ADMIN_PORT=$(free_port)
GATEHOUSE_ADMIN_TOKEN=$ADMIN taskset -c 1 dotnet "$DLL" run --store "sqlite:$TMP/store.db" --config "$TMP/gatehouse.yaml" \
    --port "$GATEWAY" --admin-url "http://127.0.0.1:$ADMIN_PORT" --no-portal >"$TMP/gatehouse.log" 2>&1 &
PID=$!
for _ in $(seq 150); do curl -s -o /dev/null "http://127.0.0.1:$ADMIN_PORT/ready" && break; sleep 0.2; done
curl -s -o /dev/null "http://127.0.0.1:$ADMIN_PORT/ready" || die "the gateway did not start (see $TMP/gatehouse.log)"

echo "registrations: $INSTANCES instances, ttl $TTL, wrk -t1 -c$CONNECTIONS, $(date -u +%FT%TZ), $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $DLL"
echo "-- registering for ${REGISTER}s"
taskset -c 0 wrk -t1 "-c$CONNECTIONS" "-d${REGISTER}s" -s "$TMP/put.lua" "http://127.0.0.1:$ADMIN_PORT" | grep -E "requests in|Requests/sec|Non-2xx" || true
echo "-- measured for ${MEASURE}s"
taskset -c 0 wrk -t1 "-c$CONNECTIONS" "-d${MEASURE}s" -s "$TMP/put.lua" --latency "http://127.0.0.1:$ADMIN_PORT" | grep -E "Requests/sec| 50%| 99%|Non-2xx" || true
curl -s -H "Authorization: Bearer $ADMIN" "http://127.0.0.1:$ADMIN_PORT/admin/registrations" \
    | python3 -c 'import json, sys; print("registered now:", len(json.load(sys.stdin)["items"]))'
for timeout in 31s 32s 33s; do
    curl -s -o /dev/null -w "config change (timeout $timeout): %{http_code} in %{time_total} s\n" -X PUT -H "Authorization: Bearer $ADMIN" \
        -H 'Content-Type: application/json' -d "{\"targets\":[\"http://127.0.0.1:9\"],\"timeout\":\"$timeout\",\"registration\":{\"tokenSha256\":\"$HASH\",\"ttl\":\"30s\"}}" \
        "http://127.0.0.1:$ADMIN_PORT/admin/services/users"
done
