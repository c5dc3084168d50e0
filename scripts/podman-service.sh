#!/usr/bin/env bash
# Podman's Docker-compatible API socket for the local runtime.
#
#   scripts/podman-service.sh start   # idempotent; prints export lines
#   eval "$(scripts/podman-service.sh env)"
#   scripts/podman-service.sh stop
#
# Why a containers.conf: on these machines crun fails on hybrid cgroups and the
# default rlimits fail with EPERM (shared/ENVIRONMENT.md), so every container,
# including those made through the API, needs runc, explicit ulimits and cgroupfs.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="$REPO/.cache/podman"
SOCK="$DIR/podman.sock"
CONF="$DIR/containers.conf"
PIDFILE="$DIR/service.pid"
LOG="$DIR/service.log"

log() { echo "podman-service: $*" >&2; }

print_env() {
  echo "export DOCKER_HOST=unix://$SOCK"
  echo "export CONTAINERS_CONF=$CONF"
}

running() {
  [[ -f "$PIDFILE" ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null
}

ping_ok() {
  curl -fsS --max-time 2 --unix-socket "$SOCK" http://d/_ping >/dev/null 2>&1
}

install_podman() {
  local missing=()
  command -v podman >/dev/null || missing+=(podman)
  command -v runc >/dev/null || missing+=(runc)
  command -v curl >/dev/null || missing+=(curl)
  # Podman's own network stack: without them it falls back to CNI, which has no DNS by system name and no isolate.
  [[ -x /usr/lib/podman/netavark ]] || missing+=(netavark)
  [[ -x /usr/lib/podman/aardvark-dns ]] || missing+=(aardvark-dns)
  ((${#missing[@]} == 0)) && return 0
  [[ $(id -u) == 0 ]] || { log "missing ${missing[*]}: install them (apt-get install ${missing[*]}) or run as root"; exit 1; }
  log "installing ${missing[*]}"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2; then
    apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
  fi
}

write_conf() {
  mkdir -p "$DIR"
  cat >"$CONF.tmp" <<'EOF'
# Written by scripts/podman-service.sh: see shared/ENVIRONMENT.md "Containers".
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"

[network]
# Systems reach each other by name (aardvark-dns) and instance networks stay apart (netavark's isolate option).
network_backend = "netavark"
EOF
  mv "$CONF.tmp" "$CONF"
}

start() {
  install_podman
  write_conf
  if running && ping_ok; then
    print_env
    return 0
  fi
  if running; then kill "$(cat "$PIDFILE")" 2>/dev/null || true; sleep 0.5; fi
  rm -f "$SOCK"
  log "starting podman system service on $SOCK"
  # Open files: the service holds many per running container; with 20000 (this sandbox's hard limit) it ran out
  # while ~200 instances started at once (bench/load.ts: "too many open files", then it hung). Raised where allowed.
  (ulimit -n "$(cat /proc/sys/fs/nr_open 2>/dev/null || echo 1048576)" 2>/dev/null || ulimit -n "$(ulimit -Hn)"
    CONTAINERS_CONF="$CONF" exec setsid podman system service --time=0 "unix://$SOCK" >"$LOG" 2>&1 </dev/null) &
  echo $! >"$PIDFILE"
  for _ in $(seq 1 100); do
    if ping_ok; then
      print_env
      return 0
    fi
    running || break
    sleep 0.1
  done
  log "the service did not answer /_ping; its log ($LOG):"
  tail -n 20 "$LOG" >&2 || true
  exit 1
}

stop() {
  if running; then
    local pid
    pid="$(cat "$PIDFILE")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$PIDFILE" "$SOCK"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  env) write_conf; print_env ;;
  *) echo "usage: $0 start|stop|env" >&2; exit 2 ;;
esac
