#!/usr/bin/env bash
# A real Kubernetes control plane for the tests: etcd, kube-apiserver (RBAC) and
# kube-controller-manager, built from Go modules and run on loopback, with the
# KubeVirt CRDs installed. No kubelet: objects are validated and stored for real,
# namespaces are finalized and garbage is collected, nothing is scheduled.
#
#   scripts/k8s-control-plane.sh build   # compile into .cache/k8s/bin-<version>/ (cached)
#   scripts/k8s-control-plane.sh start   # idempotent; prints `export KUBECONFIG=...`
#   eval "$(scripts/k8s-control-plane.sh env)"
#   scripts/k8s-control-plane.sh stop
#
# Why from Go modules: no cluster, kind image or k3s is reachable here, but the Go
# module proxy is (shared/KUBERNETES-NOTES.md). test/k8s-tools/go.mod pins the
# versions; its replace lines point every staging module at its published v0.x.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$REPO/test/k8s-tools"
K8S_VERSION="v1.37.2"
KUBEVIRT_VERSION="${KUBEVIRT_VERSION:-v1.8.0}"
CACHE="$REPO/.cache/k8s"
BIN="$CACHE/bin-$K8S_VERSION"
RUN="$CACHE/run"
CRDS="$CACHE/kubevirt-crds-$KUBEVIRT_VERSION"
ETCD_PORT="${K8S_ETCD_PORT:-23790}"
ETCD_PEER_PORT="${K8S_ETCD_PEER_PORT:-23800}"
API_PORT="${K8S_API_PORT:-26443}"
KUBECONFIG_FILE="$RUN/admin.kubeconfig"
SERVER="https://127.0.0.1:$API_PORT"

log() { echo "k8s-control-plane: $*" >&2; }
die() { log "$*"; exit 1; }

print_env() { echo "export KUBECONFIG=$KUBECONFIG_FILE"; }

need_go() {
  command -v go >/dev/null || [[ -x /usr/local/go/bin/go ]] || die "Go >= 1.26 is needed (https://go.dev/dl/)"
  command -v go >/dev/null || export PATH="/usr/local/go/bin:$PATH"
}

install_tools() {
  local missing=()
  command -v openssl >/dev/null || missing+=(openssl)
  command -v curl >/dev/null || missing+=(curl)
  command -v kubectl >/dev/null || missing+=(kubectl)
  ((${#missing[@]} == 0)) && return 0
  [[ $(id -u) == 0 ]] || die "missing ${missing[*]}: install them (apt-get install ${missing[*]}) or run as root"
  log "installing ${missing[*]}"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2; then
    apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
  fi
}

# ---------------------------------------------------------------------------
# build

build() {
  need_go
  # kube-scheduler is only needed to bind pods to (kwok or real) nodes: opt in.
  local want=(etcd kube-apiserver kube-controller-manager) pkgs=(go.etcd.io/etcd/server/v3
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager)
  if [[ "${K8S_WITH_SCHEDULER:-0}" == 1 ]]; then
    want+=(kube-scheduler)
    pkgs+=(k8s.io/kubernetes/cmd/kube-scheduler)
  fi
  local all=1 b
  for b in "${want[@]}"; do [[ -x "$BIN/$b" ]] || all=0; done
  if ((all)); then
    log "binaries present in $BIN"
  else
    local tmp="$CACHE/build-tmp"
    rm -rf "$tmp" && mkdir -p "$tmp"
    local ld="" p
    for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      ld+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=37"
      ld+=" -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
    done
    log "building ${want[*]} $K8S_VERSION (cold: about 25 minutes on 2 cores)"
    local start=$SECONDS n=0 line
    # -v names each package as it is compiled: count them as progress.
    (cd "$TOOLS" && CGO_ENABLED=0 go build -mod=readonly -trimpath -v -ldflags "-s -w$ld" -o "$tmp/" \
      "${pkgs[@]}" 2>&1) | while IFS= read -r line; do
      n=$((n + 1))
      if [[ "$line" == *": "* || "$line" == "#"* ]]; then echo "$line" >&2; fi
      if ((n % 100 == 0)); then log "compiled $n packages ($((SECONDS - start))s)"; fi
    done
    [[ -x "$tmp/server" ]] && mv "$tmp/server" "$tmp/etcd"
    for b in "${want[@]}"; do [[ -x "$tmp/$b" ]] || die "build failed: $b missing"; done
    mkdir -p "$BIN" && mv "$tmp"/* "$BIN/" && rmdir "$tmp"
    log "built in $((SECONDS - start))s into $BIN"
  fi
  build_crds
}

# The KubeVirt CRDs, generated from KubeVirt's own published schemas (never
# committed: they are KubeVirt's code). See test/k8s-tools/cmd/kubevirt-crds.
build_crds() {
  need_go
  [[ -s "$CRDS/virtualmachines.kubevirt.io.yaml" && -s "$CRDS/virtualmachineinstances.kubevirt.io.yaml" ]] && return 0
  log "generating KubeVirt $KUBEVIRT_VERSION CRDs into $CRDS"
  local src
  mkdir -p "$CACHE"
  # Outside any module: a plain download, nothing recorded in test/k8s-tools/go.sum.
  src="$(cd "$CACHE" && GOFLAGS= go mod download -json "kubevirt.io/kubevirt@$KUBEVIRT_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [[ -d "$src" ]] || die "could not download kubevirt.io/kubevirt@$KUBEVIRT_VERSION"
  mkdir -p "$CRDS.tmp"
  (cd "$TOOLS" && go run -mod=readonly ./cmd/kubevirt-crds -source "$src" -out "$CRDS.tmp")
  rm -rf "$CRDS" && mv "$CRDS.tmp" "$CRDS"
}

# ---------------------------------------------------------------------------
# start / stop

pid_alive() { [[ -f "$RUN/$1.pid" ]] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null; }

certs() {
  local d="$RUN/pki"
  [[ -s "$d/admin.crt" ]] && return 0
  mkdir -p "$d"
  (
    cd "$d"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -keyout ca.key -out ca.crt \
      -subj "/CN=lab-orchestrator-test-ca" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout apiserver.key -out apiserver.csr \
      -subj "/CN=kube-apiserver" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\n' >apiserver.ext
    openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile apiserver.ext -out apiserver.crt 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout admin.key -out admin.csr \
      -subj "/O=system:masters/CN=admin" 2>/dev/null
    printf 'extendedKeyUsage=clientAuth\n' >client.ext
    openssl x509 -req -in admin.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile client.ext -out admin.crt 2>/dev/null
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
    rm -f ./*.csr
  )
}

kubeconfig() {
  local d="$RUN/pki"
  cat >"$KUBECONFIG_FILE.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: $SERVER
    certificate-authority-data: $(base64 -w0 <"$d/ca.crt")
users:
- name: admin
  user:
    client-certificate-data: $(base64 -w0 <"$d/admin.crt")
    client-key-data: $(base64 -w0 <"$d/admin.key")
contexts:
- name: test
  context:
    cluster: test
    user: admin
current-context: test
EOF
  mv "$KUBECONFIG_FILE.tmp" "$KUBECONFIG_FILE"
}

wait_for() { # process, description, seconds, command...
  local proc="$1" what="$2" secs="$3"
  shift 3
  local i
  for ((i = 0; i < secs * 4; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    pid_alive "$proc" || die "$proc exited while waiting for $what: see $RUN/$proc.log"
    sleep 0.25
  done
  die "timed out waiting for $what (logs in $RUN)"
}

start_etcd() {
  pid_alive etcd && return 0
  mkdir -p "$RUN/etcd"
  "$BIN/etcd" --name=test --data-dir="$RUN/etcd" \
    --listen-client-urls="http://127.0.0.1:$ETCD_PORT" --advertise-client-urls="http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster="test=http://127.0.0.1:$ETCD_PEER_PORT" \
    --unsafe-no-fsync=true --quota-backend-bytes=1073741824 >"$RUN/etcd.log" 2>&1 &
  echo $! >"$RUN/etcd.pid"
  wait_for etcd etcd 30 curl -fsS "http://127.0.0.1:$ETCD_PORT/health"
}

start_apiserver() {
  pid_alive kube-apiserver && return 0
  local d="$RUN/pki"
  "$BIN/kube-apiserver" \
    --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
    --bind-address=127.0.0.1 --secure-port="$API_PORT" \
    --advertise-address=192.0.2.1 --endpoint-reconciler-type=none \
    --cert-dir="$RUN/apiserver-certs" --tls-cert-file="$d/apiserver.crt" --tls-private-key-file="$d/apiserver.key" \
    --client-ca-file="$d/ca.crt" \
    --service-cluster-ip-range=10.0.0.0/24 --allow-privileged=true \
    --authorization-mode=RBAC \
    --service-account-issuer="$SERVER" \
    --service-account-key-file="$d/sa.pub" --service-account-signing-key-file="$d/sa.key" \
    >"$RUN/kube-apiserver.log" 2>&1 &
  echo $! >"$RUN/kube-apiserver.pid"
  wait_for kube-apiserver "kube-apiserver /readyz" 120 kc get --raw=/readyz
  wait_for kube-apiserver "namespace default" 60 kc get namespace default
}

kc() { kubectl --kubeconfig="$KUBECONFIG_FILE" "$@"; }

install_crds() {
  kc apply --server-side --force-conflicts -f "$CRDS" >&2
  local crd
  for crd in virtualmachines.kubevirt.io virtualmachineinstances.kubevirt.io; do
    wait_for kube-apiserver "CRD $crd Established" 60 crd_established "$crd"
  done
}

# (Not `kubectl wait`: it fails instead of waiting when a new CRD has no status yet.)
crd_established() {
  [[ "$(kc get crd "$1" -o 'jsonpath={.status.conditions[?(@.type=="Established")].status}')" == True ]]
}

start_controller_manager() {
  pid_alive kube-controller-manager && return 0
  "$BIN/kube-controller-manager" --kubeconfig="$KUBECONFIG_FILE" \
    --leader-elect=false --secure-port=0 \
    --controllers=namespace-controller,garbage-collector-controller,serviceaccount-controller,root-ca-certificate-publisher-controller \
    --service-account-private-key-file="$RUN/pki/sa.key" --root-ca-file="$RUN/pki/ca.crt" \
    --use-service-account-credentials=false \
    >"$RUN/kube-controller-manager.log" 2>&1 &
  echo $! >"$RUN/kube-controller-manager.pid"
  # The service-account controller makes `default` in every namespace: its
  # appearance in `default` shows the controller manager is working.
  wait_for kube-controller-manager "kube-controller-manager (serviceaccount default/default)" 60 kc -n default get serviceaccount default
}

start() {
  install_tools
  build
  mkdir -p "$RUN"
  certs
  kubeconfig
  start_etcd
  start_apiserver
  install_crds
  start_controller_manager
  log "ready at $SERVER"
  print_env
}

stop() {
  local p
  for p in kube-controller-manager kube-apiserver etcd; do
    if pid_alive "$p"; then
      kill "$(cat "$RUN/$p.pid")"
      for _ in $(seq 40); do pid_alive "$p" || break; sleep 0.25; done
      pid_alive "$p" && kill -9 "$(cat "$RUN/$p.pid")"
    fi
    rm -f "$RUN/$p.pid"
  done
  # Fresh state next time: the tests expect an empty cluster.
  rm -rf "$RUN/etcd"
  log "stopped"
}

case "${1:-}" in
build) build ;;
start) start ;;
stop) stop ;;
env) print_env ;;
*) die "usage: $0 build|start|stop|env" ;;
esac
