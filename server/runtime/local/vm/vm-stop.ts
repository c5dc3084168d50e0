/**
 * @file Taking a VM down: its QEMU powered off (qemu-process.ts), or, for
 * good, everything of it (process, tap, sockets, state folder). Both are
 * safe to repeat: what is gone already is skipped.
 */
import { rm, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { KeyedLock } from './keyed-lock.js';
import { files, type VmPaths } from './qemu-args.js';
import { stopQemu } from './qemu-process.js';
import { removeTap } from './tap.js';
import { runningPid } from './vm-state.js';

/** Guest power-off with `graceMs` to halt, then a kill (holding the VM's QMP socket in `channels`). */
export async function stopVm(paths: VmPaths, key: string, channels: KeyedLock, graceMs: number): Promise<void> {
  const pid = await runningPid(paths);
  if (!pid) return;
  await channels.run(`qmp:${key}`, () =>
    stopQemu(files(paths).qmp, pid, async () => (await runningPid(paths)) === pid, graceMs),
  );
}

/** Everything of one VM: process, tap, sockets, state folder. */
export async function removeVm(paths: VmPaths, tap: string, channels: KeyedLock, graceMs: number): Promise<void> {
  await stopVm(paths, path.basename(paths.sockets), channels, graceMs);
  await removeTap(tap);
  await rm(paths.sockets, { recursive: true, force: true });
  await rm(paths.state, { recursive: true, force: true });
  await unlink(files(paths).pid).catch(() => {});
}
