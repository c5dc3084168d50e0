#!/usr/bin/env bash
# Starts Lab Orchestrator on its embedded defaults: FerretDB (unless MONGODB_URI
# is set), the local runtime on Podman's API socket, the example labs imported,
# and a local admin to sign in with. Ctrl-C stops everything it started.
#   PORT=8080 scripts/start.sh
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

export PORT=${PORT:-8080} HOST=${HOST:-127.0.0.1} DATA_DIR=${DATA_DIR:-$ROOT/.data} RUNTIME=${RUNTIME:-local}
mkdir -p "$DATA_DIR"
cleanup() {
  set +e
  [ -n "${FERRET_PID:-}" ] && kill "$FERRET_PID" 2>/dev/null
  [ "$RUNTIME" = local ] && scripts/podman-service.sh stop >/dev/null 2>&1
}
trap cleanup EXIT

step "System packages"
ensure_apt git curl ca-certificates podman runc netavark aardvark-dns qemu-system-x86 qemu-utils busybox-static debootstrap \
  cloud-image-utils iproute2
step "Node packages"
ensure_node_modules

if [ -z "${MONGODB_URI:-}" ]; then
  step "FerretDB (embedded database, data in $DATA_DIR/ferretdb)"
  FERRET_PORT=${FERRET_PORT:-27017}
  (exec 3<>"/dev/tcp/127.0.0.1/$FERRET_PORT") 2>/dev/null && FERRET_PORT=$(free_port)
  FERRET_PID=$(scripts/ferretdb.sh start "$FERRET_PORT" "$DATA_DIR/ferretdb")
  export MONGODB_URI="mongodb://127.0.0.1:$FERRET_PORT/lab-orchestrator"
  info "listening on 127.0.0.1:$FERRET_PORT"
fi

if [ "$RUNTIME" = local ]; then
  step "Podman API socket (local runtime)"
  eval "$(scripts/podman-service.sh start)"
  step "Lab images (first time: several minutes)"
  deploy/images/build.sh
  [ -x deploy/images/vm/build.sh ] && deploy/images/vm/build.sh debian-vm
fi

step "Build (server and client)"
npm run --silent build

step "Example labs"
for lab in labs/*/; do node bin/lab-orchestrator.js lab import "$lab"; done

step "Admin sign-in"
PASSFILE="$DATA_DIR/admin-password"
[ -s "$PASSFILE" ] || (umask 077 && node -e 'console.log(require("crypto").randomBytes(12).toString("base64url"))' > "$PASSFILE")
node bin/lab-orchestrator.js user set-password --user admin --admin --password-file "$PASSFILE"
TOKEN=$(node bin/lab-orchestrator.js token create --user admin --admin --name start-script)

URL=${PUBLIC_URL:-http://$HOST:$PORT}
cat >&2 <<MSG

  Lab Orchestrator: $URL
  Sign in as      : admin / $(cat "$PASSFILE")   (password kept in $PASSFILE)
  API token       : $TOKEN
  Try             : curl -H "Authorization: Bearer $TOKEN" $URL/api/v1/labs
  OpenAPI         : $URL/api/v1/openapi.json
  Stop            : Ctrl-C

MSG
# A larger young generation: far less GC on the desktop console path (bench/gateway.ts).
node --max-semi-space-size=64 dist/server/main.js
