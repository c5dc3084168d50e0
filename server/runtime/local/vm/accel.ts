/**
 * @file Which accelerator QEMU can use here. /dev/kvm may exist and still
 * hang (measured: `-accel kvm` stuck for 60 s on the build machine), so the
 * probe really runs a guest: a 512-byte boot sector that writes to QEMU's
 * isa-debug-exit port. Exit code 99 within a few seconds means KVM works;
 * anything else means TCG (software emulation), with the reason kept.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Accel } from './qemu-args.js';

export interface AccelChoice {
  accel: Accel;
  /** Why: e.g. "KVM probe timed out after 5 s". */
  reason: string;
}

/** mov al,0x31; out 0xf4,al; hlt — QEMU exits with (0x31 << 1) | 1 = 99. */
function bootSector(): Buffer {
  const sector = Buffer.alloc(512);
  Buffer.from([0xb0, 0x31, 0xe6, 0xf4, 0xf4, 0xeb, 0xfe]).copy(sector);
  sector[510] = 0x55;
  sector[511] = 0xaa;
  return sector;
}

export async function probeAccel(qemu: string, timeoutMs = 5000): Promise<AccelChoice> {
  const forced = process.env.LAB_VM_ACCEL;
  if (forced === 'kvm' || forced === 'tcg')
    return { accel: forced, reason: `${forced.toUpperCase()} set by LAB_VM_ACCEL` };
  try {
    await access('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return { accel: 'tcg', reason: 'TCG: /dev/kvm is not usable' };
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lab-kvm-probe-'));
  try {
    const disk = path.join(dir, 'probe.img');
    await writeFile(disk, bootSector());
    const args = ['-accel', 'kvm', '-nodefaults', '-display', 'none', '-m', '16'];
    args.push('-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04', '-drive', `file=${disk},format=raw,if=ide`);
    const code = await new Promise<number | 'timeout' | string>((resolve) => {
      const child = spawn(qemu, args, { stdio: 'ignore' });
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve('timeout');
      }, timeoutMs);
      child.on('error', (err) => {
        clearTimeout(timer);
        resolve(err.message);
      });
      child.on('exit', (exit) => {
        clearTimeout(timer);
        resolve(exit ?? -1);
      });
    });
    if (code === 99) return { accel: 'kvm', reason: 'KVM' };
    const why = code === 'timeout' ? `timed out after ${timeoutMs / 1000} s` : `failed (${code})`;
    return { accel: 'tcg', reason: `TCG (software emulation): the KVM probe ${why}` };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
