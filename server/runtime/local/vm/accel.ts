/**
 * @file Which accelerator QEMU can use here. /dev/kvm may exist and still
 * hang (measured: `-accel kvm` stuck for 60 s on the build machine, and a
 * trivial boot sector ran fine while a Linux kernel then hung), so the probe
 * boots the image's own kernel under KVM with no root disk: it must reach
 * its "VFS: Unable to mount root fs" panic and exit (panic=-1, -no-reboot)
 * within a few seconds. Anything else means TCG (software emulation), with
 * the reason kept for status.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Accel } from './qemu-args.js';

export interface AccelChoice {
  accel: Accel;
  /** Why: e.g. "TCG (software emulation): the KVM probe timed out after 10 s". */
  reason: string;
}

/** One probe per QEMU binary and process: the answer does not change while the server runs. */
const probes = new Map<string, Promise<AccelChoice>>();

export function probeAccel(qemu: string, kernel: string, timeoutMs = 10_000): Promise<AccelChoice> {
  let probe = probes.get(qemu);
  if (!probe) {
    probe = runProbe(qemu, kernel, timeoutMs);
    probes.set(qemu, probe);
  }
  return probe;
}

async function runProbe(qemu: string, kernel: string, timeoutMs: number): Promise<AccelChoice> {
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
    const log = path.join(dir, 'console.log');
    const args = ['-accel', 'kvm', '-nodefaults', '-display', 'none', '-m', '128', '-no-reboot'];
    args.push('-kernel', kernel, '-append', 'console=ttyS0 panic=-1 root=/dev/nonexistent', '-serial', `file:${log}`);
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
    const output = await readFile(log, 'utf8').catch(() => '');
    if (code === 0 && /Kernel panic|VFS/.test(output)) return { accel: 'kvm', reason: 'KVM' };
    const why = code === 'timeout' ? `timed out after ${timeoutMs / 1000} s` : `failed (${code})`;
    return { accel: 'tcg', reason: `TCG (software emulation): the KVM probe ${why}` };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
