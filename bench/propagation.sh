#!/usr/bin/env bash
# Config propagation between nodes sharing PostgreSQL (issue 21): two `gatehouse run --store postgres://...` processes
# on a throwaway PostgreSQL cluster; each round PUTs a new route on node one and times until node two serves it.
# Prints p50, p90, p99 and max. See docs/benchmarks.md ("Config propagation between nodes").
#
#   bench/propagation.sh                 # 200 changes
#   CHANGES=20 bench/propagation.sh      # a quick look
#   POLL=2 bench/propagation.sh          # the poll interval of both nodes (GATEHOUSE_STORE_POLL_INTERVAL); 3600 = notify only
#   MODE=hybrid bench/propagation.sh     # node one is a control plane with the node API (HTTPS), node two a hybrid data
#                                        # node (--control-plane): the PUT on the control plane until the data node serves it
#
# Needs PostgreSQL's server binaries (apt-get install postgresql) and a Debug build (dotnet build src/Gatehouse).
set -euo pipefail
cd "$(dirname "$0")/.."
CHANGES=${CHANGES:-200}
POLL=${POLL:-2}
DLL=${GATEHOUSE_DLL:-src/Gatehouse/bin/Debug/net10.0/gatehouse.dll}
[ -f "$DLL" ] || { echo "No $DLL: run 'dotnet build src/Gatehouse' first." >&2; exit 2; }
BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort | tail -n 1)
[ -x "$BIN/initdb" ] || { echo "PostgreSQL server binaries not found: apt-get install postgresql" >&2; exit 2; }

TMP=$(mktemp -d /tmp/gatehouse-propagation.XXXXXX)
AS=()
if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$TMP"; AS=(runuser -u postgres --); fi
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PGPORT=$(free_port)
pids=()
cleanup() {
  for p in "${pids[@]+"${pids[@]}"}"; do kill "$p" 2>/dev/null || true; done
  "${AS[@]}" "$BIN/pg_ctl" -D "$TMP/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$TMP"
}
trap cleanup EXIT
"${AS[@]}" "$BIN/initdb" -D "$TMP/data" -U postgres --auth=trust -E UTF8 --locale=C --no-sync >/dev/null
"${AS[@]}" "$BIN/pg_ctl" -D "$TMP/data" -l "$TMP/server.log" -o "-p $PGPORT -k $TMP -c listen_addresses=127.0.0.1 -F" -w start >/dev/null
STORE="postgres://postgres@127.0.0.1:$PGPORT/postgres"

start_node() { # name gateway-port admin-port
  GATEHOUSE_ADMIN_TOKEN=gha_bench GATEHOUSE_STORE_POLL_INTERVAL=$POLL dotnet "$DLL" run --store "$STORE" --port "$2" \
    --admin-url "http://127.0.0.1:$3" --no-portal --node-id "$1" >"$TMP/$1.log" 2>&1 &
  pids+=($!)
}
G1=$(free_port); A1=$(free_port); G2=$(free_port); A2=$(free_port)
if [ "${MODE:-shared}" = hybrid ]; then
  N1=$(free_port)
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 -keyout "$TMP/cp.key" -out "$TMP/cp.crt" >/dev/null 2>&1
  GATEHOUSE_ADMIN_TOKEN=gha_bench GATEHOUSE_STORE_POLL_INTERVAL=$POLL dotnet "$DLL" run --role control --store "$STORE" \
    --admin-url "http://127.0.0.1:$A1" --no-portal --node-api-url "https://127.0.0.1:$N1" --node-api-cert "$TMP/cp.crt" \
    --node-api-key "$TMP/cp.key" --signing-key "$TMP/signing.pem" >"$TMP/one.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 600); do curl -fs "http://127.0.0.1:$A1/ready" >/dev/null 2>&1 && break; sleep 0.1; done
  TOKEN=$(curl -fs -X POST "http://127.0.0.1:$A1/admin/node-tokens" -H "Authorization: Bearer gha_bench" \
    -H 'Content-Type: application/json' -d '{"name":"bench"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
  GATEHOUSE_NODE_TOKEN=$TOKEN dotnet "$DLL" run --role data --control-plane "https://127.0.0.1:$N1" \
    --control-plane-key "$TMP/signing.pub.pem" --control-plane-ca "$TMP/cp.crt" --state-dir "$TMP/node" \
    --port "$G2" --admin-url "http://127.0.0.1:$A2" --node-id two >"$TMP/two.log" 2>&1 &
  pids+=($!)
  # Ready only once it has a config: the service PUT below gives it one; /live says it runs.
  for _ in $(seq 600); do curl -fs "http://127.0.0.1:$A2/live" >/dev/null 2>&1 && break; sleep 0.1; done
else
  start_node one "$G1" "$A1"
  sleep 1
  start_node two "$G2" "$A2"
fi
for url in "http://127.0.0.1:$A1/ready" "http://127.0.0.1:$A2/live"; do
  for _ in $(seq 600); do curl -fs "$url" >/dev/null 2>&1 && break; sleep 0.1; done
done

python3 - "$A1" "$G2" "$CHANGES" <<'PY'
import json, sys, time, urllib.request, urllib.error
admin, gateway, changes = sys.argv[1], sys.argv[2], int(sys.argv[3])
def put(path, body):
    req = urllib.request.Request(f"http://127.0.0.1:{admin}{path}", data=json.dumps(body).encode(), method="PUT",
                                 headers={"Authorization": "Bearer gha_bench", "Content-Type": "application/json"})
    urllib.request.urlopen(req).read()
def status(path):
    try:
        return urllib.request.urlopen(f"http://127.0.0.1:{gateway}{path}", timeout=5).status
    except urllib.error.HTTPError as e:
        return e.code
put("/admin/services/s", {"targets": ["http://127.0.0.1:9"]})
samples = []
for i in range(changes):
    path = f"/p{i}"
    put(f"/admin/routes/r{i}", {"methods": ["GET"], "path": path, "service": "s"})
    start = time.monotonic()
    # 404 until node two serves the route; then 502/503 (nothing listens on the target), which is the route served.
    while status(path) == 404:
        if time.monotonic() - start > 30:
            sys.exit(f"route r{i} not served by node two after 30 s")
        time.sleep(0.002)
    samples.append((time.monotonic() - start) * 1000)
samples.sort()
q = lambda p: samples[min(len(samples) - 1, int(round(p / 100 * len(samples) + 0.5)) - 1)]
print(f"{len(samples)} changes: p50 {q(50):.1f} ms, p90 {q(90):.1f} ms, p99 {q(99):.1f} ms, max {samples[-1]:.1f} ms "
      "(PUT answered on node one -> node two serves the route)")
PY
