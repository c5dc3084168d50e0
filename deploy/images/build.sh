#!/usr/bin/env bash
# Builds the container images of the example labs on this machine, from Debian
# packages only (no registry can be reached: shared/ENVIRONMENT.md).
#
#   deploy/images/build.sh            # every image
#   deploy/images/build.sh shell      # only lab-orchestrator/shell
#   FORCE=1 deploy/images/build.sh    # rebuild even when up to date
#
# Images:
#   lab-orchestrator/shell    Debian bookworm (minbase) + bash, iproute2, ping, ps, nc, curl
#   lab-orchestrator/desktop  shell + Xvnc (RFB on port 5900, no password: reachable only
#                             inside the instance network and through the gateway) + twm + xterm
#   lab-orchestrator/node-base  base + this machine's Node.js, for the top-level Dockerfile
#                             (only when named: node-base.sh)
#
# Cache: every image carries the label lab-orchestrator.recipe = a hash of its
# recipe files (shell/recipe.sh, desktop/*) and BUILDER_VERSION; an image whose
# label matches is not rebuilt. Downloaded
# .debs are kept in .cache/images/debs and reused by every build.
# Stage outputs (root folders) live in .cache/images/ too.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
CACHE="$REPO/.cache/images"
DEBS="$CACHE/debs"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# Bump when a change of this script changes what the images contain.
BUILDER_VERSION=1
source "$HERE/shell/recipe.sh"
source "$HERE/desktop/recipe.sh"
source "$HERE/node-base.sh"

if [[ -t 2 ]]; then BOLD=$'\e[1m' RESET=$'\e[0m'; else BOLD='' RESET=''; fi
T0=$SECONDS
say() { echo "${BOLD}images:${RESET} [$((SECONDS - T0))s] $*" >&2; }
die() { say "error: $*"; exit 1; }
# Progress of long steps: one line per package fetched or unpacked, prefixed.
progress() { sed -u -n -E 's/^I: (Retrieving|Validating|Extracting|Installing|Configuring|Unpacking) ?/  \1 /p; s/^(Unpacking|Setting up|Get:[0-9]+) /  \1 /p' >&2; }

need_tools() {
  local missing=()
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  command -v podman >/dev/null || missing+=(podman)
  command -v runc >/dev/null || missing+=(runc)
  [[ -f /usr/share/keyrings/debian-archive-keyring.gpg ]] || missing+=(debian-archive-keyring)
  ((${#missing[@]} == 0)) && return 0
  [[ $(id -u) == 0 ]] || die "missing ${missing[*]} (apt-get install ${missing[*]})"
  say "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2 ||
    { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2; }
}

# The podman CLI must use the same settings as the API socket (runc, ulimits).
export CONTAINERS_CONF="${CONTAINERS_CONF:-$REPO/.cache/podman/containers.conf}"
[[ -f "$CONTAINERS_CONF" ]] || "$REPO/scripts/podman-service.sh" env >/dev/null

hash_of() { { echo "$BUILDER_VERSION"; cat "$@"; } | sha256sum | cut -c1-16; }
RECIPE_SHELL="$(hash_of "$HERE/shell/recipe.sh")"
RECIPE_DESKTOP="$(hash_of "$HERE/shell/recipe.sh" "$HERE/desktop/recipe.sh" "$HERE/desktop/lab-desktop" "$HERE/desktop/twmrc")"

current_recipe() {
  podman image inspect --format '{{index .Config.Labels "lab-orchestrator.recipe"}}' "lab-orchestrator/$1:latest" 2>/dev/null || true
}

# Root filesystem of bookworm minbase + the shell packages, kept as a stage
# for the desktop image (its apt lists are still there).
base_rootfs() {
  local dir="$CACHE/base.rootfs"
  if [[ -f "$CACHE/base.stamp" && "$(cat "$CACHE/base.stamp")" == "$RECIPE_SHELL" ]]; then
    say "base root filesystem up to date"
    return 0
  fi
  rm -rf "$dir" "$CACHE/base.stamp"
  mkdir -p "$dir" "$DEBS"
  say "debootstrap $SUITE (minbase + $SHELL_PACKAGES)"
  debootstrap --variant=minbase --cache-dir="$DEBS" --include="$SHELL_PACKAGES" \
    "$SUITE" "$dir" "$MIRROR" 2>&1 | progress
  [[ -x "$dir/bin/bash" ]] || die "debootstrap did not finish (see above)"
  echo "$RECIPE_SHELL" >"$CACHE/base.stamp"
}

# tar of a root folder without what a lab never needs (docs, apt lists, logs).
pack() {
  local dir="$1"
  shift
  tar -C "$dir" --numeric-owner \
    --exclude=./usr/share/doc --exclude=./usr/share/man --exclude=./usr/share/info \
    --exclude=./usr/share/locale --exclude='./var/lib/apt/lists/*' --exclude='./var/cache/apt/*' \
    --exclude='./var/log/*' --exclude='./proc/*' --exclude='./sys/*' --exclude='./dev/*' \
    --exclude=./debootstrap "$@" -cf - .
}

import() {
  local name="$1" recipe="$2"
  shift 2
  say "importing lab-orchestrator/$name"
  local previous
  previous="$(podman image inspect --format '{{.Id}}' "lab-orchestrator/$name:latest" 2>/dev/null || true)"
  podman import --quiet "$@" --change "LABEL lab-orchestrator.recipe=$recipe" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' - "lab-orchestrator/$name:latest" >/dev/null
  # The image it replaces is only garbage now (unless a container still uses it).
  [[ -n "$previous" ]] && podman rmi "$previous" >/dev/null 2>&1 || true
  say "lab-orchestrator/$name ready: $(podman image inspect --format '{{.Size}}' "lab-orchestrator/$name:latest" | numfmt --to=iec)B"
}

build_shell() {
  base_rootfs
  pack "$CACHE/base.rootfs" | import shell "$RECIPE_SHELL" --change "$IDLE_CMD"
}

build_desktop() {
  base_rootfs
  local dir="$CACHE/desktop.rootfs"
  rm -rf "$dir"
  say "copying the base root filesystem"
  cp -a "$CACHE/base.rootfs" "$dir"
  mkdir -p "$DEBS/apt" "$dir/var/cache/apt/archives"
  printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d"
  chmod +x "$dir/usr/sbin/policy-rc.d"
  mount --bind "$DEBS/apt" "$dir/var/cache/apt/archives"
  mount -t proc proc "$dir/proc"
  trap 'umount "'"$dir"'/proc" "'"$dir"'/var/cache/apt/archives" 2>/dev/null || true' EXIT
  say "apt-get install $DESKTOP_PACKAGES"
  if ! chroot "$dir" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    -o Dpkg::Use-Pty=0 $DESKTOP_PACKAGES 2>&1 | progress; then
    die "apt-get install in the desktop root failed"
  fi
  # A stale mirror list makes apt fail with 404s: refresh once and retry.
  if ! chroot "$dir" sh -c "dpkg -s $DESKTOP_PACKAGES >/dev/null 2>&1"; then
    say "apt lists stale: apt-get update and retry"
    chroot "$dir" apt-get update -q 2>&1 | progress
    chroot "$dir" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      -o Dpkg::Use-Pty=0 $DESKTOP_PACKAGES 2>&1 | progress
  fi
  umount "$dir/proc" "$dir/var/cache/apt/archives"
  trap - EXIT
  rm -f "$dir/usr/sbin/policy-rc.d"
  install -m 0755 "$HERE/desktop/lab-desktop" "$dir/usr/local/bin/lab-desktop"
  install -D -m 0644 "$HERE/desktop/twmrc" "$dir/usr/local/share/lab-desktop/twmrc"
  local drops=()
  for d in "${DESKTOP_DROP[@]}"; do drops+=("--exclude=$d"); done
  pack "$dir" "${drops[@]}" | import desktop "$RECIPE_DESKTOP" \
    --change 'CMD ["/usr/local/bin/lab-desktop"]' --change 'EXPOSE 5900'
  rm -rf "$dir"
}

main() {
  local names=("$@")
  ((${#names[@]})) || names=(shell desktop)
  need_tools
  mkdir -p "$CACHE"
  for name in "${names[@]}"; do
    local recipe
    case "$name" in
      shell) recipe="$RECIPE_SHELL" ;;
      desktop) recipe="$RECIPE_DESKTOP" ;;
      node-base) recipe="$(node_base_recipe)" ;;
      *) die "unknown image \"$name\": expected shell, desktop or node-base" ;;
    esac
    if [[ -z "${FORCE:-}" && "$(current_recipe "$name")" == "$recipe" ]]; then
      say "lab-orchestrator/$name up to date (recipe $recipe)"
      continue
    fi
    say "building lab-orchestrator/$name (recipe $recipe)"
    "build_${name//-/_}"
  done
  say "done"
}

main "$@"
