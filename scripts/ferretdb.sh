#!/usr/bin/env bash
# FerretDB, the embedded MongoDB-compatible database (SQLite backend).
#   scripts/ferretdb.sh build              build deploy/ferretdb (pinned FerretDB v1.24.2) once, cached
#   scripts/ferretdb.sh start PORT DATADIR start it on 127.0.0.1:PORT in the background; prints its pid
#   scripts/ferretdb.sh stop PIDFILE
set -euo pipefail
source "$(dirname "$0")/lib.sh"
BIN="$CACHE/bin/ferretdb"

build() {
  local stamp="$CACHE/bin/ferretdb.stamp" want
  want=$(cat "$ROOT"/deploy/ferretdb/{go.mod,go.sum,main.go} | sha256sum | cut -c1-16)
  if [ -x "$BIN" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then return 0; fi
  command -v go >/dev/null || die "FerretDB is built from its Go module: install Go first"
  step "Building FerretDB v1.24.2 from its Go module (first time: a few minutes)"
  mkdir -p "$CACHE/bin"
  (cd "$ROOT/deploy/ferretdb" && CGO_ENABLED=0 go build -trimpath -o "$BIN" .) >&2
  echo "$want" > "$stamp"
}

start() {
  local port=$1 data=$2
  build
  mkdir -p "$data"
  nohup "$BIN" -listen "127.0.0.1:$port" -data "$data" >"$data/ferretdb.log" 2>&1 &
  local pid=$!
  wait_port "$port" 30 || { cat "$data/ferretdb.log" >&2; die "FerretDB did not start on port $port"; }
  echo "$pid" > "$data/ferretdb.pid"
  echo "$pid"
}

case "${1:-}" in
  build) build ;;
  start) start "${2:?PORT}" "${3:?DATADIR}" ;;
  stop) [ -f "${2:?PIDFILE}" ] && kill "$(cat "$2")" 2>/dev/null || true ;;
  *) die "usage: $0 build | start PORT DATADIR | stop PIDFILE" ;;
esac
