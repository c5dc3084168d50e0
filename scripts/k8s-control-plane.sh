#!/usr/bin/env bash
# A real Kubernetes control plane for the tests: etcd, kube-apiserver (RBAC) and
# kube-controller-manager, built from Go modules and run on loopback, with the
# KubeVirt CRDs and CDI's DataVolume CRD installed: objects are validated and stored for real,
# namespaces are finalized and garbage is collected. `start` runs no kubelet
# (nothing is scheduled); `start-node` adds one (containerd) and the scheduler.
#
#   scripts/k8s-control-plane.sh build   # compile into .cache/k8s/bin-<version>/ (cached)
#   scripts/k8s-control-plane.sh start   # idempotent; prints `export KUBECONFIG=...`
#   eval "$(scripts/k8s-control-plane.sh env)"
#   scripts/k8s-control-plane.sh start-node  # root: + kubelet, containerd, scheduler: pods run
#   scripts/k8s-control-plane.sh stop-node   # the node only (other tests expect no kubelet)
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
# CDI (containerized data importer): the version KubeVirt $KUBEVIRT_VERSION's go.mod requires.
CDI_VERSION="${CDI_VERSION:-v1.64.0}"
CDI_CRDS="$CACHE/cdi-crds-$CDI_VERSION"
CONTROLLER_TOOLS_VERSION=v0.23.0
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
  build_binaries etcd go.etcd.io/etcd/server/v3 \
    kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver \
    kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager
  build_crds
  build_cdi_crds
}

# A node that runs pods for real (start-node): kubelet, and the scheduler to bind pods to it.
build_node() {
  build_binaries kubelet k8s.io/kubernetes/cmd/kubelet kube-scheduler k8s.io/kubernetes/cmd/kube-scheduler
}

build_binaries() { # (binary package)...
  need_go
  local want=() pkgs=() b
  while (($#)); do want+=("$1") pkgs+=("$2"); shift 2; done
  local all=1
  for b in "${want[@]}"; do [[ -x "$BIN/$b" ]] || all=0; done
  if ((all)); then
    log "${want[*]} present in $BIN"
    return 0
  fi
  local tmp="$CACHE/build-tmp"
  rm -rf "$tmp" && mkdir -p "$tmp"
  local ld="" p
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=37"
    ld+=" -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  log "building ${want[*]} $K8S_VERSION (cold, the control plane takes about 25 minutes on 2 cores)"
  local start=$SECONDS n=0 line
  # -v names each package as it is compiled: count them as progress.
  (cd "$TOOLS" && CGO_ENABLED=0 go build -mod=readonly -trimpath -v -ldflags "-s -w$ld" -o "$tmp/" \
    "${pkgs[@]}" 2>&1) | while IFS= read -r line; do
    n=$((n + 1))
    if [[ "$line" == *": "* || "$line" == "#"* ]]; then echo "$line" >&2; fi
    if ((n % 100 == 0)); then log "compiled $n packages ($((SECONDS - start))s)"; fi
  done
  # etcd's main package is the module root: go names the binary after it.
  [[ -x "$tmp/server" ]] && mv "$tmp/server" "$tmp/etcd"
  for b in "${want[@]}"; do [[ -x "$tmp/$b" ]] || die "build failed: $b missing"; done
  mkdir -p "$BIN" && mv "$tmp"/* "$BIN/" && rmdir "$tmp"
  log "built ${want[*]} in $((SECONDS - start))s into $BIN"
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

# CDI's DataVolume CRD (VM disks imported from a URL or a registry: a
# VirtualMachine's dataVolumeTemplates become DataVolumes). Made the way CDI
# makes it (its hack/update-codegen.sh): controller-gen over the types of
# kubevirt.io/containerized-data-importer-api. Only DataVolume is installed:
# it is the one CDI type a lab's objects turn into. Never committed.
build_cdi_crds() {
  need_go
  [[ -s "$CDI_CRDS/datavolumes.cdi.kubevirt.io.yaml" ]] && return 0
  log "generating CDI $CDI_VERSION DataVolume CRD into $CDI_CRDS"
  local gen="$CACHE/controller-gen-$CONTROLLER_TOOLS_VERSION" src tmp="$CACHE/cdi-gen-tmp"
  if [[ ! -x "$gen/controller-gen" ]]; then
    (cd "$CACHE" && GOFLAGS= GOBIN="$gen" go install "sigs.k8s.io/controller-tools/cmd/controller-gen@$CONTROLLER_TOOLS_VERSION")
  fi
  src="$(cd "$CACHE" && GOFLAGS= go mod download -json "kubevirt.io/containerized-data-importer-api@$CDI_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [[ -d "$src" ]] || die "could not download kubevirt.io/containerized-data-importer-api@$CDI_VERSION"
  # The module cache is read-only; controller-gen loads the packages from a copy.
  rm -rf "$tmp" && mkdir -p "$tmp" && cp -r "$src" "$tmp/src" && chmod -R u+w "$tmp/src"
  (cd "$tmp/src" && GOFLAGS= "$gen/controller-gen" crd:crdVersions=v1 output:dir="$tmp/out" paths=./pkg/apis/core/v1beta1/...)
  [[ -s "$tmp/out/cdi.kubevirt.io_datavolumes.yaml" ]] || die "controller-gen wrote no DataVolume CRD"
  mkdir -p "$CDI_CRDS.tmp"
  mv "$tmp/out/cdi.kubevirt.io_datavolumes.yaml" "$CDI_CRDS.tmp/datavolumes.cdi.kubevirt.io.yaml"
  rm -rf "$tmp" "$CDI_CRDS" && mv "$CDI_CRDS.tmp" "$CDI_CRDS"
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
    --kubelet-client-certificate="$d/admin.crt" --kubelet-client-key="$d/admin.key" \
    --kubelet-preferred-address-types=InternalIP,Hostname \
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
  kc apply --server-side --force-conflicts -f "$CRDS" -f "$CDI_CRDS" >&2
  local crd
  for crd in virtualmachines.kubevirt.io virtualmachineinstances.kubevirt.io datavolumes.cdi.kubevirt.io; do
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
    --controllers=namespace-controller,garbage-collector-controller,serviceaccount-controller,root-ca-certificate-publisher-controller,node-lifecycle-controller \
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

# ---------------------------------------------------------------------------
# start-node: a real kubelet (containerd, CNI bridge) and the scheduler, so
# pods run and exec, port-forward and logs work. Root only. What these
# machines need (shared/KUBERNETES-NOTES.md): cgroup v1 allowed, cgroupfs, no
# swap check, and containerd must not lower OOM scores (EPERM here). No
# registry: images are built here from busybox-static and imported.

NODE="$CACHE/node"
NODE_NAME=node-1
TEST_IMAGE=localhost/lab-orchestrator/busybox:2
PAUSE_IMAGE=localhost/lab-orchestrator/pause:1

node_tools() {
  [[ $(id -u) == 0 ]] || die "start-node needs root (kubelet, containerd)"
  local missing=()
  command -v containerd >/dev/null || missing+=(containerd)
  command -v runc >/dev/null || missing+=(runc)
  [[ -x /usr/lib/cni/bridge ]] || missing+=(containernetworking-plugins)
  [[ -x /bin/busybox ]] || missing+=(busybox-static)
  command -v podman >/dev/null || missing+=(podman)
  ((${#missing[@]} == 0)) && return 0
  log "installing ${missing[*]}"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2; then
    apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
  fi
}

node_ip() { ip -4 route get 1.1.1.1 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p'; }

nctr() { ctr -a "$NODE/containerd.sock" -n k8s.io "$@"; }

start_containerd() {
  pid_alive_node containerd && return 0
  mkdir -p "$NODE/cni" "$NODE/containerd-root" "$NODE/containerd-state"
  cat >"$NODE/containerd.toml" <<TOML
version = 2
root = "$NODE/containerd-root"
state = "$NODE/containerd-state"
[grpc]
  address = "$NODE/containerd.sock"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$NODE/cni"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        BinaryName = "$(command -v runc)"
TOML
  cat >"$NODE/cni/10-lab.conflist" <<JSON
{ "cniVersion": "0.4.0", "name": "lab-test", "plugins": [
  { "type": "bridge", "bridge": "labk8s0", "isGateway": true, "ipMasq": false,
    "ipam": { "type": "host-local", "ranges": [[{ "subnet": "10.244.0.0/24" }]], "dataDir": "$NODE/cni-ipam" } },
  { "type": "portmap", "capabilities": { "portMappings": true } } ] }
JSON
  containerd --config "$NODE/containerd.toml" >"$NODE/containerd.log" 2>&1 &
  echo $! >"$NODE/containerd.pid"
  wait_for_node containerd "containerd" 30 nctr version
}

# The pause image and a test image: one busybox-static image under both names.
node_images() {
  local have
  have="$(nctr images ls -q)"
  grep -qx "$PAUSE_IMAGE" <<<"$have" && grep -qx "$TEST_IMAGE" <<<"$have" && return 0
  local dir="$NODE/image"
  mkdir -p "$dir" && cp /bin/busybox "$dir/busybox"
  # Debian's busybox has no useradd/chpasswd: stand-ins that keep users in
  # /etc/passwd and passwords (in clear: a test image) in /etc/shadow.
  printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' >"$dir/passwd"
  printf '%s\n' '#!/bin/sh' 'for name; do :; done' 'id -u "$name" >/dev/null 2>&1 && exit 9' \
    'echo "$name:x:$((1000 + $(wc -l </etc/passwd))):100::/home/$name:/bin/sh" >>/etc/passwd' \
    'mkdir -p "/home/$name"' >"$dir/useradd"
  printf '%s\n' '#!/bin/sh' 'cat >>/etc/shadow' >"$dir/chpasswd"
  chmod +x "$dir/useradd" "$dir/chpasswd"
  printf '%s\n' 'FROM scratch' 'COPY busybox /bin/busybox' 'RUN ["/bin/busybox", "--install", "-s", "/bin"]' \
    'COPY passwd /etc/passwd' 'COPY useradd chpasswd /usr/sbin/' \
    'ENTRYPOINT ["/bin/sleep", "2147483647"]' >"$dir/Containerfile"
  # runc and explicit limits: podman's defaults fail here (shared/ENVIRONMENT.md).
  podman --runtime runc build -q --ulimit nofile=1024:1024 --ulimit nproc=4096:4096 -t "$TEST_IMAGE" "$dir" >&2
  podman save --format oci-archive -o "$dir/image.tar" "$TEST_IMAGE" >&2
  nctr images import --base-name "$TEST_IMAGE" "$dir/image.tar" >&2
  nctr images tag --force "$TEST_IMAGE" "$PAUSE_IMAGE" >&2
}

start_kubelet() {
  pid_alive_node kubelet && return 0
  local ip
  ip="$(node_ip)"
  [[ -n "$ip" ]] || die "no IPv4 address with a route for the node"
  mkdir -p "$NODE/kubelet"
  cat >"$NODE/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
cgroupDriver: cgroupfs
failSwapOn: false
containerRuntimeEndpoint: unix://$NODE/containerd.sock
authentication: { anonymous: { enabled: true }, webhook: { enabled: false } }
authorization: { mode: AlwaysAllow }
address: $ip
port: 10250
readOnlyPort: 0
healthzPort: 0
resolvConf: /etc/resolv.conf
enforceNodeAllocatable: []
evictionHard: { "memory.available": "1Mi", "nodefs.available": "1%", "imagefs.available": "1%" }
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
localStorageCapacityIsolation: false
YAML
  "$BIN/kubelet" --config="$NODE/kubelet.yaml" --kubeconfig="$KUBECONFIG_FILE" \
    --root-dir="$NODE/kubelet" --cert-dir="$NODE/kubelet/pki" \
    --hostname-override="$NODE_NAME" --node-ip="$ip" >"$NODE/kubelet.log" 2>&1 &
  echo $! >"$NODE/kubelet.pid"
  wait_for_node kubelet "node $NODE_NAME Ready" 120 node_ready
}

node_ready() {
  [[ "$(kc get node "$NODE_NAME" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}')" == True ]]
}

start_scheduler() {
  pid_alive_node kube-scheduler && return 0
  "$BIN/kube-scheduler" --kubeconfig="$KUBECONFIG_FILE" --leader-elect=false --secure-port=0 \
    >"$NODE/kube-scheduler.log" 2>&1 &
  echo $! >"$NODE/kube-scheduler.pid"
}

pid_alive_node() { [[ -f "$NODE/$1.pid" ]] && kill -0 "$(cat "$NODE/$1.pid")" 2>/dev/null; }

wait_for_node() { # process, description, seconds, command...
  local proc="$1" what="$2" secs="$3" i
  shift 3
  for ((i = 0; i < secs * 4; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    pid_alive_node "$proc" || die "$proc exited while waiting for $what: see $NODE/$proc.log"
    sleep 0.25
  done
  die "timed out waiting for $what (logs in $NODE)"
}

start_node() {
  node_tools
  start >/dev/null
  build_node
  mkdir -p "$NODE"
  start_containerd
  node_images
  start_kubelet
  start_scheduler
  log "node $NODE_NAME ready; test image $TEST_IMAGE"
  print_env
}

stop_node() {
  local p t
  for p in kube-scheduler kubelet; do
    pid_alive_node "$p" && kill "$(cat "$NODE/$p.pid")"
    rm -f "$NODE/$p.pid"
  done
  if pid_alive_node containerd; then
    # Containers outlive containerd (their shims): end them first.
    for t in $(nctr tasks ls -q 2>/dev/null); do nctr tasks kill -s SIGKILL "$t" >/dev/null 2>&1 || true; done
    sleep 1
    for t in $(nctr containers ls -q 2>/dev/null); do
      nctr tasks rm -f "$t" >/dev/null 2>&1 || true
      nctr containers rm "$t" >/dev/null 2>&1 || true
    done
    kill "$(cat "$NODE/containerd.pid")"
  fi
  rm -f "$NODE/containerd.pid"
  # Pod volumes and sandbox /dev/shm stay mounted after their processes.
  grep -o " $NODE/[^ ]*" /proc/mounts | sort -r | xargs -r umount 2>/dev/null || true
}

stop() {
  stop_node
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
build-node) build_node ;;
start) start ;;
start-node) start_node ;;
stop-node) stop_node ;;
stop) stop ;;
env) print_env ;;
*) die "usage: $0 build|build-node|start|start-node|stop-node|stop|env" ;;
esac
