#!/usr/bin/env bash
# Builds the VM images of the local runtime from Debian packages (no registry).
#
#   deploy/images/vm/build.sh [tiny-vm|debian-vm|all]     (default: all)
#
# Output: $LAB_VM_IMAGES (default <repo>/.cache/images/vm)/<name>/
#   manifest.json  what the QEMU driver reads (kernel, initrd, disk, append, ...)
#   vmlinuz, initrd.img, base.qcow2
# An image is rebuilt only when its recipe (this script + its folder) changes.
# Needs root (debootstrap, chroot); installs its tools with apt-get if missing.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"
OUT_ROOT="${LAB_VM_IMAGES:-$REPO/.cache/images/vm}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SUITE=bookworm

log() { printf '[vm-image %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (debootstrap, chroot and mke2fs need it)"

ensure_tools() {
  local missing=()
  command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
  command -v qemu-img >/dev/null || missing+=(qemu-utils)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  [ -x /bin/busybox ] || missing+=(busybox-static)
  command -v cloud-localds >/dev/null || missing+=(cloud-image-utils)
  command -v mke2fs >/dev/null || missing+=(e2fsprogs)
  command -v cpio >/dev/null || missing+=(cpio)
  command -v depmod >/dev/null || missing+=(kmod)
  if [ "${#missing[@]}" -gt 0 ]; then
    log "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  # busybox (dynamic) may shadow busybox-static; the guest needs the static one.
  file -L /bin/busybox 2>/dev/null | grep -q 'statically linked' || {
    log "installing busybox-static"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static >/dev/null
  }
}

# The recipe hash: the image's build function, the manifest writer and the image's own folder.
recipe_hash() {
  local name="$1"
  {
    declare -f "build_${name%-vm}" write_manifest module_closure
    find "$HERE/$name" -type f -print0 | sort -z | xargs -0 cat
  } | sha256sum | cut -c1-16
}

up_to_date() {
  local name="$1" out="$OUT_ROOT/$1"
  [ -f "$out/manifest.json" ] && [ "$(cat "$out/recipe" 2>/dev/null)" = "$(recipe_hash "$name")" ]
}

# The Debian kernel package behind linux-image-amd64 (e.g. linux-image-6.1.0-56-amd64).
kernel_package() {
  apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}'
}

fetch_debs() { # dir pkg...
  local dir="$1"; shift
  mkdir -p "$dir"
  (cd "$dir" && apt-get download -qq "$@" 2>/dev/null) || {
    apt-get update -qq
    (cd "$dir" && apt-get download -qq "$@")
  }
}

# Prints the modules (paths relative to lib/modules/VER) needed by NAMES, dependencies first.
module_closure() { # moddir name...
  local moddir="$1"; shift
  local -A seen=()
  local order=()
  visit() {
    local path="$1"
    [ -n "${seen[$path]:-}" ] && return
    seen[$path]=1
    local deps
    deps="$(awk -v p="$path:" '$1==p{ $1=""; print; exit }' "$moddir/modules.dep")"
    for d in $deps; do visit "$d"; done
    order+=("$path")
  }
  for name in "$@"; do
    local path
    path="$(awk -F: -v n="/$name.ko" '{ f=$1; sub(/\.xz$|\.zst$|\.gz$/, "", f) } substr(f, length(f)-length(n)+1)==n { print $1; exit }' "$moddir/modules.dep")"
    if [ -z "$path" ]; then
      grep -qE "(^|/)$name(\.ko)?$" "$moddir/modules.builtin" 2>/dev/null || die "kernel module $name not found"
      continue
    fi
    visit "$path"
  done
  printf '%s\n' "${order[@]}"
}

write_manifest() { # out name agentReady append minMemory readyProbeJson
  cat >"$1/manifest.json" <<EOF
{
  "name": "lab-orchestrator/$2",
  "kernel": "vmlinuz",
  "initrd": "initrd.img",
  "disk": "base.qcow2",
  "append": "$4",
  "agent": "qemu-guest-agent",
  "minMemoryMiB": $5,
  "readyProbe": $6,
  "builtAt": "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
}
EOF
}

build_tiny() {
  local name=tiny-vm out="$OUT_ROOT/tiny-vm" work
  work="$out/work"
  rm -rf "$work" && mkdir -p "$work"
  local kpkg
  kpkg="$(kernel_package)"
  [ -n "$kpkg" ] || die "cannot resolve linux-image-amd64 (run apt-get update)"
  log "tiny-vm: downloading $kpkg and qemu-guest-agent"
  fetch_debs "$work/debs" "$kpkg" qemu-guest-agent
  for deb in "$work"/debs/*.deb; do dpkg -x "$deb" "$work/x"; done
  local kver
  kver="$(ls "$work/x/lib/modules")"
  local moddir="$work/x/lib/modules/$kver"
  depmod -b "$work/x" "$kver" # the package leaves modules.dep to its postinst

  log "tiny-vm: initramfs (busybox + virtio and ext4 modules of $kver)"
  local ird="$work/initramfs"
  mkdir -p "$ird"/{bin,dev,proc,sys,newroot,lib/modules}
  cp /bin/busybox "$ird/bin/busybox"
  ln -s busybox "$ird/bin/sh"
  local modules
  modules="$(module_closure "$moddir" virtio_pci virtio_blk virtio_net virtio_console crc32c_generic ext4 evdev button)"
  : >"$ird/modules.order"
  for mod in $modules; do
    mkdir -p "$ird/lib/modules/$(dirname "$mod")"
    cp "$moddir/$mod" "$ird/lib/modules/$mod"
    echo "$mod" >>"$ird/modules.order"
  done
  install -m 0755 "$HERE/tiny-vm/init" "$ird/init"
  (cd "$ird" && find . | cpio -o -H newc --quiet | gzip -9) >"$work/initrd.img"

  log "tiny-vm: root disk (busybox, qemu-ga and its libraries)"
  local root="$work/root"
  mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc/init.d,etc/acpi/PWRF,dev,proc,sys,tmp,run,root,var/run,var/log,mnt}
  cp /bin/busybox "$root/bin/busybox"
  for applet in $(/bin/busybox --list-full); do
    [ -e "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
  done
  cp "$work/x/usr/sbin/qemu-ga" "$root/usr/sbin/qemu-ga"
  # qemu-ga is dynamic: copy the libraries it links from the host (same Debian release).
  ldd "$work/x/usr/sbin/qemu-ga" | awk '/=>/ {print $3} $1 ~ /^\// {print $1}' | while read -r lib; do
    [ -f "$lib" ] || continue
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
  [ -x "$root/lib64/ld-linux-x86-64.so.2" ] || die "qemu-ga's dynamic loader was not copied"
  install -m 0755 "$HERE/tiny-vm/rcS" "$root/etc/init.d/rcS"
  install -m 0755 "$HERE/tiny-vm/agent" "$root/sbin/lab-agent"
  install -m 0755 "$HERE/tiny-vm/shutdown" "$root/sbin/shutdown"
  install -m 0755 "$HERE/tiny-vm/power-button" "$root/etc/acpi/PWRF/00000080"
  install -m 0644 "$HERE/tiny-vm/inittab" "$root/etc/inittab"
  install -m 0644 "$HERE/tiny-vm/profile" "$root/etc/profile"
  printf 'root::0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
  printf 'root:x:0:\n' >"$root/etc/group"
  rm -f "$root/sbin/init" && ln -s /bin/busybox "$root/sbin/init"
  mke2fs -q -t ext4 -L root -d "$root" "$work/disk.raw" 128M
  qemu-img convert -f raw -O qcow2 "$work/disk.raw" "$work/base.qcow2"

  cp "$work/x/boot/vmlinuz-$kver" "$out/vmlinuz"
  mv "$work/initrd.img" "$work/base.qcow2" "$out/"
  write_manifest "$out" "$name" "" "root=/dev/vda rw console=ttyS0 quiet panic=-1" 96 null
  recipe_hash "$name" >"$out/recipe"
  rm -rf "$work"
  log "tiny-vm: done ($(du -sh "$out" | cut -f1))"
}

build_debian() {
  local name=debian-vm out="$OUT_ROOT/debian-vm" work
  work="$out/work"
  rm -rf "$work" && mkdir -p "$work"
  local root="$work/root"
  local include=systemd-sysv,udev,cloud-init,python3-cffi-backend,qemu-guest-agent,iproute2,iputils-ping,sudo,linux-image-amd64,ifupdown,isc-dhcp-client,dbus,locales,less,procps
  log "debian-vm: debootstrap $SUITE (minbase + $include); takes ~2 minutes"
  debootstrap --variant=minbase --include="$include" "$SUITE" "$root" "$MIRROR" 2>&1 |
    grep --line-buffered -E '^I: (Retriev|Extract|Install|Configur|Base system)' | sed -u 's/^/  /' >&2 || true
  [ -x "$root/usr/bin/cloud-init" ] || die "debootstrap failed (see above)"

  log "debian-vm: configuring (initrd with virtio modules, cloud-init NoCloud, serial console)"
  "$HERE/debian-vm/configure.sh" "$root"

  local kfile
  kfile="$(ls "$root"/boot/vmlinuz-* | head -1)"
  cp "$kfile" "$out/vmlinuz"
  cp "$root/boot/initrd.img-${kfile##*/vmlinuz-}" "$out/initrd.img"
  log "debian-vm: ext4 disk and qcow2 base"
  mke2fs -q -t ext4 -L root -d "$root" "$work/disk.raw" 2G
  qemu-img convert -f raw -O qcow2 "$work/disk.raw" "$out/base.qcow2"
  write_manifest "$out" "$name" "" "root=/dev/vda rw console=ttyS0 quiet" 512 \
    '["test", "-f", "/var/lib/cloud/instance/boot-finished"]'
  recipe_hash "$name" >"$out/recipe"
  rm -rf "$work"
  log "debian-vm: done ($(du -sh "$out" | cut -f1))"
}

build() {
  local name="$1"
  if up_to_date "$name"; then
    log "$name: up to date ($OUT_ROOT/$name)"
    return
  fi
  mkdir -p "$OUT_ROOT/$name"
  rm -f "$OUT_ROOT/$name/manifest.json"
  local start=$SECONDS
  case "$name" in
    tiny-vm) build_tiny ;;
    debian-vm) build_debian ;;
  esac
  log "$name: built in $((SECONDS - start)) s"
}

ensure_tools
case "${1:-all}" in
  tiny-vm | debian-vm) build "$1" ;;
  all) build tiny-vm && build debian-vm ;;
  *) die "unknown image \"$1\": expected tiny-vm, debian-vm or all" ;;
esac
