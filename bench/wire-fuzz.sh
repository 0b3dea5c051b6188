#!/usr/bin/env bash
# The differential wire test of issue 16 at length: arbitrary bytes in every part of a request, over HTTP/1.1 and
# HTTP/2 fronts, to HTTP/1.1 and h2c upstreams, for many cases and several seeds (the test command runs 3,000 cases
# per combination with one fixed seed). Traffic goes to 127.0.0.1 only; each seed's run is bounded by TIMEOUT.
#
#   bench/wire-fuzz.sh                         # 4 seeds × 50,000 cases per combination
#   SEEDS="7 8" CASES=200000 bench/wire-fuzz.sh
#
# A failing case prints as "seed S case N: method …, target …, headers […]: what differed"; add it to
# tests/Gatehouse.Gateway.Tests/Security/WireRegressionTests.cs as a named test before fixing it.
set -euo pipefail
cd "$(dirname "$0")/.."
SEEDS=${SEEDS:-"1001 2002 3003 4004"}
CASES=${CASES:-50000}
TIMEOUT=${TIMEOUT:-3600}
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

dotnet build tests/Gatehouse.Gateway.Tests -c Release -nologo -v quiet
status=0
for seed in $SEEDS; do
  echo "== seed $seed, $CASES cases per combination"
  GATEHOUSE_WIRE_SEED=$seed GATEHOUSE_WIRE_CASES=$CASES timeout "$TIMEOUT" \
    dotnet test tests/Gatehouse.Gateway.Tests -c Release --no-build -nologo \
      --filter "FullyQualifiedName~WireDifferentialTests" --logger "console;verbosity=detailed" 2>&1 \
    | grep -E "seed [0-9]+|Passed!|Failed!|\[FAIL\]" || status=1
done
exit "$status"
