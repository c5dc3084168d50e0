#!/usr/bin/env bash
# Runs every test tier on a fresh machine of this kind: installs what the tests
# need, starts it (FerretDB, Podman's API socket, the images), runs lint,
# typecheck and all Vitest projects, and stops everything again.
#   scripts/test.sh                 everything
#   scripts/test.sh unit            one Vitest project (unit | integration | e2e)
#   scripts/test.sh -- PATH...      only these test files (services still started)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

RUN="$CACHE/test-run"
rm -rf "$RUN" && mkdir -p "$RUN"
cleanup() {
  set +e
  [ -n "${FERRET_PID:-}" ] && kill "$FERRET_PID" 2>/dev/null
  scripts/podman-service.sh stop >/dev/null 2>&1
  [ -x scripts/k8s-control-plane.sh ] && scripts/k8s-control-plane.sh stop >/dev/null 2>&1
}
trap cleanup EXIT

step "System packages"
ensure_apt git curl ca-certificates podman runc netavark aardvark-dns qemu-system-x86 qemu-utils busybox-static debootstrap \
  cloud-image-utils chromium iproute2 openssl
step "Node packages"
ensure_node_modules

step "Lint and typecheck"
npx biome check .
npx tsc -p tsconfig.test.json   # server, lti, tests and benches

step "FerretDB (embedded MongoDB-compatible database)"
scripts/ferretdb.sh build
FERRET_PORT=$(free_port)
FERRET_PID=$(scripts/ferretdb.sh start "$FERRET_PORT" "$RUN/ferretdb")
export TEST_MONGODB_URI="mongodb://127.0.0.1:$FERRET_PORT"
info "listening on 127.0.0.1:$FERRET_PORT"

step "Podman API socket (local runtime)"
eval "$(scripts/podman-service.sh start)"
step "Lab images"
deploy/images/build.sh
[ -x deploy/images/vm/build.sh ] && deploy/images/vm/build.sh tiny-vm

if [ -x scripts/k8s-control-plane.sh ]; then
  step "Kubernetes control plane (kube-apiserver, etcd, controller-manager; first build takes minutes)"
  scripts/k8s-control-plane.sh build
  scripts/k8s-control-plane.sh build-node
  eval "$(scripts/k8s-control-plane.sh start)"
fi

step "Build (server and client)"
npm run --silent build

step "Tests"
export CHROMIUM=/usr/bin/chromium
args=(--reporter=default --reporter=json --outputFile.json="$RUN/vitest.json")
case "${1:-}" in
  unit | integration | e2e) args+=(--project "$1") ;;
  --) shift; args+=("$@") ;;
  "") ;;
  *) die "usage: $0 [unit|integration|e2e | -- PATH...]" ;;
esac
status=0
npx vitest run "${args[@]}" || status=$?
node -e '
  const r = require(process.argv[1]);
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed` + (skipped ? `, ${skipped} skipped` : ""));
' "$RUN/vitest.json" || true
exit $status
