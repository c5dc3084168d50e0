/**
 * @file The QEMU command line of a lab VM (pure, unit-tested). Direct kernel
 * boot from the image's kernel and initrd; a copy-on-write overlay as vda,
 * the NoCloud seed as vdb; QMP, serial console, guest agent and VNC on unix
 * sockets; a tap on the instance bridge. `-daemonize` detaches QEMU from the
 * server, so VMs outlive a restart of Node and are found again from their
 * state folder and pidfile. With `incomingFrom` the same devices load a
 * saved state (saved-state.ts): every device must match the saved VM's.
 */
export type Accel = 'kvm' | 'tcg';

export interface VmPaths {
  /** State folder: overlay, seed, pidfile, serial log. */
  state: string;
  /** Short folder for the unix sockets (paths are limited to 107 bytes). */
  sockets: string;
}

export const files = (p: VmPaths) => ({
  overlay: `${p.state}/disk.qcow2`,
  seed: `${p.state}/seed.img`,
  pid: `${p.state}/qemu.pid`,
  serialLog: `${p.state}/serial.log`,
  record: `${p.state}/vm.json`,
  qmp: `${p.sockets}/qmp.sock`,
  agent: `${p.sockets}/qga.sock`,
  serial: `${p.sockets}/serial.sock`,
  vnc: `${p.sockets}/vnc.sock`,
});

export interface QemuConfig {
  name: string;
  paths: VmPaths;
  accel: Accel;
  memoryMiB: number;
  cpus: number;
  kernel: string;
  initrd: string;
  append: string;
  tap: string;
  mac: string;
  /**
   * Start from a saved state instead of booting: QEMU loads the VM's memory
   * and devices from this file and waits paused (`-S`) for `cont`.
   */
  incomingFrom?: string;
}

export function qemuArgs(c: QemuConfig): string[] {
  const f = files(c.paths);
  return [
    '-name',
    c.name,
    '-machine',
    `pc,accel=${c.accel}`,
    '-m',
    String(c.memoryMiB),
    '-smp',
    String(c.cpus),
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    '-vga',
    'std',
    '-vnc',
    `unix:${f.vnc}`,
    '-kernel',
    c.kernel,
    '-initrd',
    c.initrd,
    '-append',
    c.append,
    '-drive',
    `file=${f.overlay},if=virtio,format=qcow2,discard=unmap`,
    '-drive',
    `file=${f.seed},if=virtio,format=raw,readonly=on`,
    '-netdev',
    `tap,id=net0,ifname=${c.tap},script=no,downscript=no`,
    '-device',
    `virtio-net-pci,netdev=net0,mac=${c.mac}`,
    // A new generation ID at every QEMU start: Linux (5.18+) reseeds its random generator when it
    // changes, so VMs restored from one saved state do not share random numbers.
    '-device',
    'vmgenid,guid=auto',
    '-device',
    'virtio-serial-pci',
    '-chardev',
    `socket,id=agent0,path=${f.agent},server=on,wait=off`,
    '-device',
    'virtserialport,chardev=agent0,name=org.qemu.guest_agent.0',
    '-chardev',
    `socket,id=serial0,path=${f.serial},server=on,wait=off,logfile=${f.serialLog},logappend=on`,
    '-serial',
    'chardev:serial0',
    '-qmp',
    `unix:${f.qmp},server=on,wait=off`,
    '-pidfile',
    f.pid,
    '-daemonize',
    ...(c.incomingFrom ? ['-S', '-incoming', incomingUri(c.incomingFrom)] : []),
  ];
}

/**
 * QEMU 7.2 (Debian 12) has no `file:` migration URI (8.2 added it), so the
 * state goes through `cat`; QEMU runs the command with `sh -c`.
 */
export const incomingUri = (stateFile: string) => `exec:cat ${shellQuote(stateFile)}`;
export const outgoingUri = (stateFile: string) => `exec:cat > ${shellQuote(stateFile)}`;

export const shellQuote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
