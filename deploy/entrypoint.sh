#!/usr/bin/env bash
# The container's entrypoint (Dockerfile, docs/deploy.md); it also runs as is, outside a container.
#
#   entrypoint.sh run --config /etc/gatehouse/gatehouse.yaml ...   runs gatehouse with those arguments
#   entrypoint.sh health [URL]                                      exit 0 when URL (default $GATEHOUSE_HEALTH_URL,
#                                                                   http://127.0.0.1:8081/ready) answers 200
#
# The image's root filesystem may be read-only: everything gatehouse writes goes under $GATEHOUSE_DATA (default /data,
# a volume): the native libraries the single-file binary unpacks on first start, temporary files when /tmp cannot be
# written, and the SQLite store when the command names one there.
set -euo pipefail

GATEHOUSE_BIN=${GATEHOUSE_BIN:-/app/gatehouse}
GATEHOUSE_DATA=${GATEHOUSE_DATA:-/data}
GATEHOUSE_HEALTH_URL=${GATEHOUSE_HEALTH_URL:-http://127.0.0.1:8081/ready}

# The health check with what bash has (/dev/tcp): the image carries no curl or wget, and starting a second .NET process
# every interval would cost more than the check. Plain HTTP to a loopback listener only, which is where /ready is.
health() {
  local url=${1:-$GATEHOUSE_HEALTH_URL}
  if [[ ! $url =~ ^http://([^/:]+):([0-9]+)(/.*)?$ ]]; then
    echo "gatehouse health: '$url' is not http://HOST:PORT/PATH; set GATEHOUSE_HEALTH_URL to the /ready address" >&2
    return 2
  fi
  local host=${BASH_REMATCH[1]} port=${BASH_REMATCH[2]} path=${BASH_REMATCH[3]:-/}
  local status
  # timeout bounds a listener that accepts and never answers; the status line is all that is read.
  status=$(timeout 5 bash -c '
    exec 3<>"/dev/tcp/$0/$1" || exit 1
    printf "GET %s HTTP/1.1\r\nHost: %s:%s\r\nConnection: close\r\n\r\n" "$2" "$0" "$1" >&3
    IFS= read -r line <&3 && printf "%s" "$line"' "$host" "$port" "$path" 2>/dev/null) || true
  if [[ $status =~ ^HTTP/1\.[01]\ 200 ]]; then
    return 0
  fi
  echo "gatehouse health: $url ${status:+answered '${status%$'\r'}'}${status:-did not answer}" >&2
  return 1
}

if [[ ${1:-} == health ]]; then
  health "${2:-}"
  exit
fi

if [[ ! -d $GATEHOUSE_DATA ]] || ! ( : >"$GATEHOUSE_DATA/.write-test" ) 2>/dev/null; then
  echo "gatehouse: $GATEHOUSE_DATA is not a folder that user $(id -u) can write; mount a volume there (docker run -v gatehouse-data:$GATEHOUSE_DATA ...) or set GATEHOUSE_DATA" >&2
  exit 1
fi
rm -f "$GATEHOUSE_DATA/.write-test"

# The single-file binary unpacks its native libraries (SQLite's) once, by default under $HOME/.net.
export DOTNET_BUNDLE_EXTRACT_BASE_DIR=${DOTNET_BUNDLE_EXTRACT_BASE_DIR:-$GATEHOUSE_DATA/.bundle}
# SQLite's temporary files and the runtime's diagnostics socket go to TMPDIR; /tmp is read-only with the root filesystem
# unless a tmpfs is mounted there.
if ! ( : >"${TMPDIR:-/tmp}/.gatehouse-write-test" ) 2>/dev/null; then
  export TMPDIR=$GATEHOUSE_DATA/tmp
  mkdir -p "$TMPDIR"
else
  rm -f "${TMPDIR:-/tmp}/.gatehouse-write-test"
fi

exec "$GATEHOUSE_BIN" "$@"
