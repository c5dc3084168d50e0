#!/usr/bin/env bash
# Configures a debootstrapped Debian root for the local runtime's QEMU driver:
# an initrd that can mount a virtio disk, cloud-init that only looks at the
# NoCloud seed, a serial console, and nothing that is slow under TCG.
set -euo pipefail
ROOT="$1"

cleanup() { umount -l "$ROOT/proc" "$ROOT/sys" "$ROOT/dev" 2>/dev/null || true; }
trap cleanup EXIT
mount -t proc proc "$ROOT/proc"
mount -t sysfs sys "$ROOT/sys"
mount --bind /dev "$ROOT/dev"

# Debian's virtio and ext4 drivers are modules: list them in the initrd.
sed -i 's/^MODULES=.*/MODULES=list/' "$ROOT/etc/initramfs-tools/initramfs.conf"
printf '%s\n' virtio_pci virtio_blk virtio_net virtio_console ext4 >"$ROOT/etc/initramfs-tools/modules"
chroot "$ROOT" update-initramfs -u -k all >/dev/null

printf 'LABEL=root / ext4 defaults,errors=remount-ro 0 1\n' >"$ROOT/etc/fstab"

# cloud-init: NoCloud only (no network metadata probes), and none of the
# modules that are slow or useless offline (locale generation, apt, ntp).
cat >"$ROOT/etc/cloud/cloud.cfg.d/90-lab-orchestrator.cfg" <<'CFG'
datasource_list: [ NoCloud, None ]
locale: false
CFG
for module in locale apt-configure apt_configure apt-pipelining apt_pipelining ntp timezone grub-dpkg grub_dpkg \
  growpart resizefs fan landscape byobu snap ubuntu-advantage ubuntu_advantage ubuntu-pro keyboard \
  package-update-upgrade-install package_update_upgrade_install; do
  sed -i "/^ - $module\$/d" "$ROOT/etc/cloud/cloud.cfg"
done

# No timers or services that compete for the CPU under TCG.
for unit in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer; do
  chroot "$ROOT" systemctl mask "$unit" >/dev/null 2>&1 || true
done

chroot "$ROOT" passwd -l root >/dev/null
rm -f "$ROOT/etc/hostname"
: >"$ROOT/etc/machine-id"
rm -f "$ROOT/var/lib/dbus/machine-id"
chroot "$ROOT" apt-get clean
rm -rf "$ROOT"/var/lib/apt/lists/* "$ROOT"/usr/share/doc/* "$ROOT"/usr/share/man/* "$ROOT"/var/log/*.log
