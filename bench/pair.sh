#!/usr/bin/env bash
# Paired comparison of two Gatehouse configs (or builds) on one machine, for costs of a few percent.
#
#   bench/pair.sh CONFIG_A CONFIG_B                 # e.g. bench/configs/gatehouse.yaml bench/configs/policies.yaml
#   PAIRS=30 SECONDS_EACH=3 bench/pair.sh A.yaml B.yaml
#   DLL_B=/tmp/other/gatehouse.dll bench/pair.sh bench/configs/gatehouse.yaml bench/configs/gatehouse.yaml
#
# Why beside bench/run.sh: on a shared 2-vCPU VM the machine's speed drifts by 10-40 % from one 10-second slot to the
# next, so run.sh's rounds (one slot per target, targets 10 s and more apart) cannot tell a 3 % cost from the drift.
# Here both gateways run all along (each `gatehouse run`, pinned to CPU 1, started once and warmed up), and wrk loads
# them in turn for SECONDS_EACH seconds (PAIRS pairs, the order flipped every pair), so each pair's two runs are seconds
# apart. What it reports is the median and the mean of the pairs' ratios, B against A, of RPS and of proxy CPU per
# request (utime+stime of the gateway process over its run, divided by the requests wrk completed); the spread of the
# pairs is printed too. wrk and the bench backend run on CPU 0; load goes to 127.0.0.1 only, bounded by SECONDS_EACH.
#
#   PAIRS=24 SECONDS_EACH=3 WARMUP=20  CONNECTIONS=64  ORIGIN=https://app.example.com (sent with every request)
#   HEADER='X-Api-Key: ghk_...' one more header sent to both sides (the side without access steps ignores it)
#   DLL_A, DLL_B: the gatehouse.dll of each side (default: this checkout's Release build, built unless SKIP_BUILD=1)
#   ENV_A, ENV_B: VAR=value words for that side's gateway only (runtime settings, OTEL_* for tracing)
#   ARGS_A, ARGS_B: more words for that side's `gatehouse run`. In these and in ENV_A/ENV_B, @TMP@ becomes the run's
#     temporary folder, @BACKEND@ the backend's port (it answers 200 to anything: an OTLP endpoint) and each @PORT@ a
#     free port (@TMP@ also in the configs, for an access log's path), e.g. ARGS_B='--store sqlite:@TMP@/b.db --admin-url http://127.0.0.1:@PORT@ --no-portal'
#   FRONT=http (wrk, plain HTTP/1.1), tls-h1 or tls-h2: HTTPS with HTTP/1.1 or HTTP/2, loaded with h2load (Debian's
#     nghttp2-client) as bench/run.sh's TLS=1 does: -cTLS_CONNECTIONS (32), -mTLS_STREAMS (10) on HTTP/2, TLS 1.3 with
#     TLS_AES_128_GCM_SHA256, one self-signed P-256 certificate made here; each gateway gets an HTTPS listener beside
#     its plain one (the configs' own gateway section is kept)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

die() { echo "pair: $*" >&2; exit 1; }
(( $# == 2 )) || die "usage: bench/pair.sh CONFIG_A CONFIG_B (see the comment at the top)"
CONFIG_A=$(realpath "$1") || die "cannot read $1"
CONFIG_B=$(realpath "$2") || die "cannot read $2"
PAIRS=${PAIRS:-24}
SECONDS_EACH=${SECONDS_EACH:-3}
WARMUP=${WARMUP:-20}
CONNECTIONS=${CONNECTIONS:-64}
ORIGIN=${ORIGIN:-https://app.example.com}
for n in PAIRS SECONDS_EACH WARMUP CONNECTIONS; do
    [[ ${!n} =~ ^[0-9]+$ ]] || die "$n must be a whole number (got '${!n}')"
done
(( PAIRS >= 2 && PAIRS <= 200 )) || die "PAIRS must be 2..200"
(( SECONDS_EACH >= 1 && SECONDS_EACH <= 60 )) || die "SECONDS_EACH must be 1..60"
(( WARMUP <= 120 )) || die "WARMUP must be 0..120"
(( $(nproc) >= 2 )) || die "needs 2 CPUs (the gateways on one, wrk and the backend on the other)"
FRONT=${FRONT:-http}
TLS_CONNECTIONS=${TLS_CONNECTIONS:-32}
TLS_STREAMS=${TLS_STREAMS:-10}
[[ $TLS_CONNECTIONS =~ ^[0-9]+$ && $TLS_STREAMS =~ ^[0-9]+$ ]] || die "TLS_CONNECTIONS and TLS_STREAMS must be whole numbers"
case $FRONT in
    http) command -v wrk >/dev/null || die "wrk is not installed (apt-get install wrk, or run bench/run.sh once: it installs it)" ;;
    tls-h1|tls-h2)
        command -v h2load >/dev/null || die "h2load is not installed (apt-get install nghttp2-client, or run TLS=1 bench/run.sh once)"
        command -v openssl >/dev/null || die "openssl is not installed (apt-get install openssl)" ;;
    *) die "FRONT must be http, tls-h1 or tls-h2 (got '$FRONT')" ;;
esac

if [[ ${SKIP_BUILD:-0} != 1 ]]; then
    dotnet build -c Release src/Gatehouse -v q -nologo >/dev/null || die "the Release build failed"
    dotnet build -c Release bench/Gatehouse.Bench.Backend -v q -nologo >/dev/null || die "the backend's build failed"
fi
DLL_A=${DLL_A:-$ROOT/src/Gatehouse/bin/Release/net10.0/gatehouse.dll}
DLL_B=${DLL_B:-$DLL_A}
BACKEND=$ROOT/bench/Gatehouse.Bench.Backend/bin/Release/net10.0/Gatehouse.Bench.Backend.dll
[[ -f $DLL_A && -f $DLL_B && -f $BACKEND ]] || die "a build is missing ($DLL_A, $DLL_B, $BACKEND)"

TMP=$(mktemp -d /tmp/gatehouse-pair.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_up() { for _ in $(seq 150); do curl -s -o /dev/null "http://127.0.0.1:$1/hello" && return 0; sleep 0.2; done; die "nothing answered on port $1 (see $TMP)"; }

expand() { # the placeholders of ENV_* and ARGS_* in one word
    local word=${1//@TMP@/$TMP}
    word=${word//@BACKEND@/$BACKEND_PORT}
    while [[ $word == *@PORT@* ]]; do word=${word/@PORT@/$(free_port)}; done
    echo "$word"
}

BACKEND_PORT=$(free_port)
taskset -c 0 env DOTNET_gcServer=0 dotnet "$BACKEND" "$BACKEND_PORT" >"$TMP/backend.log" 2>&1 &
PIDS+=($!)
wait_up "$BACKEND_PORT"

if [[ $FRONT != http ]]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=127.0.0.1 \
        -addext subjectAltName=IP:127.0.0.1 -keyout "$TMP/tls.key" -out "$TMP/tls.crt" >"$TMP/openssl.log" 2>&1 \
        || die "openssl could not make the certificate (see $TMP/openssl.log)"
fi

declare -A PORT PID LOAD_PORT
for side in A B; do
    config=CONFIG_$side dll=DLL_$side
    sed "s|\${BENCH_BACKEND:-http://127.0.0.1:9}|http://127.0.0.1:$BACKEND_PORT|" "${!config}" >"$TMP/$side.yaml"
    PORT[$side]=$(free_port)
    LOAD_PORT[$side]=${PORT[$side]}
    if [[ $FRONT != http ]]; then
        # Two listeners (the plain one is --port's, for wait_up): under the config's own gateway section, or a new one.
        LOAD_PORT[$side]=$(free_port)
        python3 - "$TMP/$side.yaml" "${PORT[$side]}" "${LOAD_PORT[$side]}" "$TMP/tls.crt" "$TMP/tls.key" <<'PY'
import re, sys
path, plain, tls, crt, key = sys.argv[1:]
text = open(path).read()
block = (f"  listeners:\n    - url: http://127.0.0.1:{plain}\n    - url: https://127.0.0.1:{tls}\n"
         f"      certificate: {{ certFile: {crt}, keyFile: {key} }}\n")
if re.search(r"^gateway:\s*$", text, re.M):
    text = re.sub(r"^gateway:\s*\n", lambda m: m.group(0) + block, text, count=1, flags=re.M)
else:
    text = re.sub(r"^version: 1\s*\n", lambda m: m.group(0) + "gateway:\n" + block, text, count=1, flags=re.M)
open(path, "w").write(text)
PY
    fi
    envs=ENV_$side args=ARGS_$side vars=() extra=()
    for word in ${!envs:-}; do vars+=("$(expand "$word")"); done
    for word in ${!args:-}; do extra+=("$(expand "$word")"); done
    sed -i "s|@TMP@|$TMP|g" "$TMP/$side.yaml"
    taskset -c 1 env ${vars[@]+"${vars[@]}"} dotnet "${!dll}" run --config "$TMP/$side.yaml" --port "${PORT[$side]}" ${extra[@]+"${extra[@]}"} >"$TMP/$side.log" 2>&1 &
    PID[$side]=$!
    PIDS+=($!)
done
wait_up "${PORT[A]}"
wait_up "${PORT[B]}"

EXTRA=()
if [[ -n ${HEADER:-} ]]; then EXTRA=(-H "$HEADER"); fi
load() { # seconds port -> "requests rps"
    local out
    if [[ $FRONT == http ]]; then
        out=$(taskset -c 0 wrk -t1 -c"$CONNECTIONS" -H "Origin: $ORIGIN" ${EXTRA[@]+"${EXTRA[@]}"} -d"$1"s "http://127.0.0.1:$2/hello")
        echo "$(awk '/requests in/{print $1}' <<<"$out") $(awk '/Requests\/sec/{print $2}' <<<"$out")"
    else
        local proto=(--h1); [[ $FRONT == tls-h2 ]] && proto=(-m"$TLS_STREAMS")
        out=$(taskset -c 0 h2load -t1 -c"$TLS_CONNECTIONS" "${proto[@]}" -D "$1" --tls13-ciphers=TLS_AES_128_GCM_SHA256 \
            -H "Origin: $ORIGIN" ${EXTRA[@]+"${EXTRA[@]}"} "https://127.0.0.1:$2/hello")
        echo "$(awk '/^requests:/{print $8}' <<<"$out") $(awk '/^finished in/{print $4}' <<<"$out")"
    fi
}
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
(( WARMUP == 0 )) || { load "$WARMUP" "${LOAD_PORT[A]}" >/dev/null; load "$WARMUP" "${LOAD_PORT[B]}" >/dev/null; }

measure() { # side -> "rps cpu_us_per_request"
    local pid=${PID[$1]} t0 t1 out n rps
    t0=$(cpu_ticks "$pid")
    out=$(load "$SECONDS_EACH" "${LOAD_PORT[$1]}")
    t1=$(cpu_ticks "$pid")
    read -r n rps <<<"$out"
    [[ -n $n && $n -gt 0 ]] || die "the load ($FRONT) completed no requests against $1"
    echo "$rps $(awk -v t=$((t1 - t0)) -v n="$n" -v hz="$(getconf CLK_TCK)" 'BEGIN{printf "%.3f", t*1e6/hz/n}')"
}

echo "pair: A = $CONFIG_A ($DLL_A)${ENV_A:+ env: $ENV_A}${ARGS_A:+ args: $ARGS_A}"
echo "pair: B = $CONFIG_B ($DLL_B)${ENV_B:+ env: $ENV_B}${ARGS_B:+ args: $ARGS_B}"
case $FRONT in
    http) LOADER="wrk -t1 -c$CONNECTIONS" ;;
    tls-h1) LOADER="HTTPS HTTP/1.1, h2load --h1 -c$TLS_CONNECTIONS" ;;
    tls-h2) LOADER="HTTPS HTTP/2, h2load -c$TLS_CONNECTIONS -m$TLS_STREAMS" ;;
esac
echo "pair: $PAIRS pairs x ${SECONDS_EACH}s, $LOADER, gateways on CPU 1, the load and the backend on CPU 0, $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD)"
for i in $(seq "$PAIRS"); do
    if (( i % 2 )); then a=$(measure A); b=$(measure B); else b=$(measure B); a=$(measure A); fi
    echo "$i $a $b"
done >"$TMP/pairs.txt"

python3 - "$TMP/pairs.txt" <<'PY'
import statistics as st, sys
rows = [list(map(float, l.split()[1:])) for l in open(sys.argv[1])]
rps = [b / a - 1 for a, _, b, _ in rows]
cpu = [d / c - 1 for _, c, _, d in rows]
q = lambda xs, p: sorted(xs)[min(len(xs) - 1, int(p * len(xs)))]
print("| pair | A RPS | A CPU µs/req | B RPS | B CPU µs/req | B/A RPS | B/A CPU |")
print("|--:|--:|--:|--:|--:|--:|--:|")
for i, (a, c, b, d) in enumerate(rows, 1):
    print(f"| {i} | {a:,.0f} | {c:.2f} | {b:,.0f} | {d:.2f} | {100 * (b / a - 1):+.1f}% | {100 * (d / c - 1):+.1f}% |")
print()
print(f"pairs: {len(rows)}; A CPU µs/req median {st.median(r[1] for r in rows):.2f}, B {st.median(r[3] for r in rows):.2f}")
print(f"B against A, RPS: median {100 * st.median(rps):+.2f}%, mean {100 * st.mean(rps):+.2f}%, middle half {100 * q(rps, .25):+.1f}% to {100 * q(rps, .75):+.1f}%")
print(f"B against A, proxy CPU per request: median {100 * st.median(cpu):+.2f}%, mean {100 * st.mean(cpu):+.2f}%, middle half {100 * q(cpu, .25):+.1f}% to {100 * q(cpu, .75):+.1f}%")
PY
