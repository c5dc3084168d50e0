/**
 * @file A VM's own identity, applied through the guest agent to a VM that
 * started from a saved state (saved-state.ts). The restored guest still
 * holds the template's host name, address, MAC, machine-id and clock in its
 * memory; one shell script run as root replaces them. Pure: the command is
 * built here and tested without QEMU.
 *
 * The script only uses what busybox (tiny-vm) and Debian both have. Values
 * go in as positional arguments (guest-exec passes argv as is: no quoting),
 * the password, hashed on the host (password-hash.ts), on stdin so it never
 * shows in a process list.
 */
import type { VmNetwork } from '../vm-driver.js';
import { sha512Crypt } from './password-hash.js';

export interface VmIdentity {
  hostname: string;
  /** The instance's MAC: the NIC gets it in the guest (the saved state carries the template's). */
  mac: string;
  /** The MAC the guest's NIC has now (the template's). */
  previousMac: string;
  net: VmNetwork;
  /** 32 lower-case hex digits. */
  machineId: string;
  /** Host time, seconds since the epoch: the restored guest's clock stands at the template's save. */
  now: number;
  user?: { name: string; password: string };
}

// Under TCG every process the guest starts costs (its code is translated afresh after a restore):
// builtins (read, echo, printf, case) wherever they do the job; a handful of `ip` and one `date`.
const SCRIPT = `set -e
name=$1 mac=$2 old=$3 address=$4 gateway=$5 dns=$6 hosts=$7 machineid=$8 now=$9 user=\${10}
date -s "@$now" >/dev/null
dev=
for d in /sys/class/net/*; do
  a=
  read -r a <"$d/address" || true
  if [ "$a" = "$old" ] || [ "$a" = "$mac" ]; then dev=\${d##*/}; break; fi
done
if [ -z "$dev" ]; then echo "no network interface with MAC $old or $mac" >&2; exit 1; fi
ip addr flush dev "$dev"
ip link set dev "$dev" address "$mac" up
ip addr add "$address" dev "$dev"
if [ -n "$gateway" ]; then ip route replace default via "$gateway" dev "$dev"; fi
echo "$name" >/proc/sys/kernel/hostname
echo "$name" >/etc/hostname
printf '%s' "$hosts" >/etc/hosts
if [ -n "$dns" ]; then echo "nameserver $dns" >/etc/resolv.conf; fi
echo "$machineid" >/etc/machine-id
[ -n "$user" ] || exit 0
IFS= read -r hash
known=
while IFS= read -r line; do
  case "$line" in "$user":*) known=1 ;; esac
done </etc/passwd
if [ -z "$known" ]; then
  if command -v useradd >/dev/null; then
    useradd -m -s /bin/bash "$user"
    # As the cold boot's cloud-init makes it (cloud-init-seed.ts): sudo without a password.
    if [ -d /etc/sudoers.d ]; then
      echo "$user ALL=(ALL) NOPASSWD:ALL" >"/etc/sudoers.d/90-lab-$user"
      chmod 0440 "/etc/sudoers.d/90-lab-$user"
    fi
  else
    uid=1000
    while IFS=: read -r _ _ id _; do
      if [ "$id" -ge "$uid" ] && [ "$id" -lt 60000 ]; then uid=$((id + 1)); fi
    done </etc/passwd
    echo "$user:x:$uid:$uid:$user:/home/$user:/bin/sh" >>/etc/passwd
    echo "$user:x:$uid:" >>/etc/group
    mkdir -p "/home/$user" && chown "$uid:$uid" "/home/$user"
  fi
fi
if command -v chpasswd >/dev/null; then
  printf '%s:%s\\n' "$user" "$hash" | chpasswd -e
else
  # busybox without shadow: the hash goes into /etc/passwd's second field.
  out=
  while IFS= read -r line; do
    case "$line" in
      "$user":*) rest=\${line#*:}; line="$user:$hash:\${rest#*:}" ;;
    esac
    out="$out$line
"
  done </etc/passwd
  printf '%s' "$out" >/etc/passwd
fi
`;

/** /etc/hosts of the VM: itself and every system of its instance. */
export function hostsLines(hostname: string, net: VmNetwork): string {
  const lines = ['127.0.0.1 localhost', '::1 localhost ip6-localhost ip6-loopback'];
  if (!(hostname in net.hosts)) lines.push(`${net.address.split('/')[0]} ${hostname}`);
  for (const [name, ip] of Object.entries(net.hosts)) lines.push(`${ip} ${name}`);
  return `${lines.join('\n')}\n`;
}

/** The guest-exec argv and stdin that give a restored VM its identity. */
export function identityCommand(id: VmIdentity): { argv: string[]; stdin: string } {
  if (!/^[0-9a-f]{32}$/.test(id.machineId)) throw new Error(`machine-id "${id.machineId}" is not 32 hex digits`);
  if (id.user && /[\n\r]/.test(id.user.password)) throw new Error('the password must be one line');
  return {
    argv: [
      'sh',
      '-c',
      SCRIPT,
      'lab-identity',
      id.hostname,
      id.mac,
      id.previousMac,
      id.net.address,
      id.net.gateway ?? '',
      id.net.dns ?? '',
      hostsLines(id.hostname, id.net),
      id.machineId,
      String(Math.floor(id.now)),
      id.user?.name ?? '',
    ],
    stdin: id.user ? `${sha512Crypt(id.user.password)}\n` : '',
  };
}
