import { describe, expect, it } from 'vitest';
import { files, qemuArgs } from './qemu-args.js';

const config = {
  name: 'i-1/server',
  paths: { state: '/var/lab/i-1/server', sockets: '/run/lab/abc' },
  accel: 'tcg' as const,
  memoryMiB: 256,
  cpus: 1,
  kernel: '/img/vmlinuz',
  initrd: '/img/initrd.img',
  append: 'root=/dev/vda lab.hostname=server',
  tap: 'lvabc',
  mac: '52:54:00:01:02:03',
};

const valuesOf = (args: string[], flag: string) => args.filter((_, i) => args[i - 1] === flag);

describe('QEMU command line', () => {
  it('detaches with a pidfile so VMs outlive the server', () => {
    const args = qemuArgs(config);
    expect(args).toContain('-daemonize');
    expect(valuesOf(args, '-pidfile')).toEqual([files(config.paths).pid]);
  });

  it('puts every control channel on a unix socket in the socket folder', () => {
    const args = qemuArgs(config);
    expect(valuesOf(args, '-qmp')).toEqual(['unix:/run/lab/abc/qmp.sock,server=on,wait=off']);
    expect(valuesOf(args, '-vnc')).toEqual(['unix:/run/lab/abc/vnc.sock']);
    expect(valuesOf(args, '-chardev').join(' ')).toContain('path=/run/lab/abc/serial.sock');
    expect(valuesOf(args, '-chardev').join(' ')).toContain('path=/run/lab/abc/qga.sock');
    expect(valuesOf(args, '-device')).toContain('virtserialport,chardev=agent0,name=org.qemu.guest_agent.0');
  });

  it('boots the overlay with the seed attached, on the tap, with the chosen accelerator', () => {
    const args = qemuArgs(config);
    expect(valuesOf(args, '-drive')).toEqual([
      'file=/var/lab/i-1/server/disk.qcow2,if=virtio,format=qcow2,discard=unmap',
      'file=/var/lab/i-1/server/seed.img,if=virtio,format=raw,readonly=on',
    ]);
    expect(valuesOf(args, '-netdev')).toEqual(['tap,id=net0,ifname=lvabc,script=no,downscript=no']);
    expect(valuesOf(args, '-machine')).toEqual(['pc,accel=tcg']);
    expect(valuesOf(args, '-append')).toEqual([config.append]);
  });
});

describe('QEMU command line of a VM started from a saved state', () => {
  it('has the same devices, and loads the state paused from a file through cat', () => {
    const cold = qemuArgs(config);
    const restored = qemuArgs({ ...config, incomingFrom: "/var/lab/templates/tiny-vm-1/it's.mig" });
    expect(restored.slice(0, cold.length)).toEqual(cold);
    // A fresh VM generation ID per QEMU: the restored kernel reseeds its random generator.
    expect(valuesOf(cold, '-device')).toContain('vmgenid,guid=auto');
    expect(restored.slice(cold.length)).toEqual([
      '-S',
      '-incoming',
      `exec:cat '/var/lab/templates/tiny-vm-1/it'\\''s.mig'`,
    ]);
  });
});
