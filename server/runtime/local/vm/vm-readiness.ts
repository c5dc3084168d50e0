/**
 * @file When a VM counts as ready: its guest agent answers and the image's
 * readyProbe passes (cloud-init finished, on debian-vm). The first time it
 * does, a marker in the state folder says so: create() then adopts the VM
 * as it is and status() reports it ready without asking the guest again,
 * after a server restart too. Each QEMU start removes the marker (vm-start.ts).
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { RuntimeError } from '../../runtime.js';
import { GuestAgent } from './guest-agent.js';
import type { KeyedLock } from './keyed-lock.js';
import { files, type VmPaths } from './qemu-args.js';
import { runningPid, serialTail, type VmRecord, vmKey } from './vm-state.js';

export const readyMarker = (paths: VmPaths) => path.join(paths.state, 'ready');

export const wasReady = (paths: VmPaths) => existsSync(readyMarker(paths));

export const markReady = (paths: VmPaths) => writeFile(readyMarker(paths), new Date().toISOString());

/** Asks the guest once (holding its agent socket in `channels`); marks the VM ready when it is. */
export async function probeReady(paths: VmPaths, record: VmRecord, channels: KeyedLock): Promise<boolean> {
  const key = vmKey(record.instanceId, record.system);
  const ok = await channels.run(`agent:${key}`, async () => {
    const agent = new GuestAgent(files(paths).agent);
    if (!(await agent.ping(1500))) return false;
    if (!record.readyProbe) return true;
    const result = await agent.exec(record.readyProbe, { timeout: 10 }).catch(() => undefined);
    return result?.exitCode === 0;
  });
  if (ok) await markReady(paths);
  return ok;
}

/** Waits until the VM is ready; fails with what its console said when QEMU dies or `timeoutMs` runs out. */
export async function waitReady(
  paths: VmPaths,
  record: VmRecord,
  channels: KeyedLock,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!(await runningPid(paths))) {
      const tail = await serialTail(paths);
      throw new RuntimeError(
        `VM ${record.system} stopped while booting${tail ? `; its console said: ${tail}` : ''}`,
        'failed',
      );
    }
    if (await probeReady(paths, record, channels)) return;
    await sleep(300);
  }
  const tail = await serialTail(paths);
  throw new RuntimeError(
    `VM ${record.system} did not become ready within ${timeoutMs / 1000} s (${record.accelReason})${tail ? `; its console said: ${tail}` : ''}`,
    'failed',
  );
}
