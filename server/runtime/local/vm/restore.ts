/**
 * @file The second half of a start from a saved state (saved-state.ts):
 * QEMU already runs with `-incoming`; wait until the state is loaded,
 * `cont`, and give the guest its own identity through the guest agent
 * (identity.ts). Every failure throws: the driver then boots cold.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { GuestAgent } from './guest-agent.js';
import { identityCommand, type VmIdentity } from './identity.js';
import { files, type VmPaths } from './qemu-args.js';
import { qmp, runState } from './qmp.js';
import { runningPid } from './vm-state.js';

export interface RestoreChannels {
  /** Runs `fn` holding the VM's QMP socket (one client at a time). */
  qmp<T>(fn: () => Promise<T>): Promise<T>;
  /** Runs `fn` holding the VM's guest agent socket. */
  agent<T>(fn: () => Promise<T>): Promise<T>;
}

/** Milliseconds of each step, for the log. */
export type RestorePhases = Record<'load' | 'agent+identity', number>;

export async function resumeWithIdentity(
  paths: VmPaths,
  who: Omit<VmIdentity, 'machineId' | 'now'>,
  channels: RestoreChannels,
  timeoutMs: number,
): Promise<RestorePhases> {
  const f = files(paths);
  const deadline = Date.now() + timeoutMs;
  const started = performance.now();
  for (;;) {
    if (!(await runningPid(paths))) throw new Error('QEMU exited while loading the saved state');
    const state = await channels.qmp(() => runState(f.qmp)).catch(() => 'unknown');
    if (state === 'paused') break;
    if (Date.now() > deadline) throw new Error(`the saved state did not load within ${timeoutMs / 1000} s`);
    await sleep(30);
  }
  const loaded = performance.now();
  await channels.qmp(() => qmp(f.qmp, 'cont'));
  const agent = new GuestAgent(f.agent);
  const machineId = randomBytes(16).toString('hex');
  await channels.agent(async () => {
    // No separate ping: the saved guest's agent already waits on its port, so the identity goes
    // first; a try that finds no agent yet is repeated (the script is idempotent).
    for (;;) {
      const { argv, stdin } = identityCommand({ ...who, machineId, now: Date.now() / 1000 });
      const result = await agent.exec(argv, { timeout: 30, stdin }).catch((err: Error) => err);
      if (!(result instanceof Error)) {
        if (result.exitCode !== 0) {
          throw new Error(`applying the VM's identity failed (exit ${result.exitCode}): ${result.stderr.trim()}`);
        }
        return;
      }
      if (!(await runningPid(paths))) throw new Error('QEMU exited after loading the saved state');
      if (Date.now() > deadline) throw new Error(`the restored guest agent does not answer (${result.message})`);
      await sleep(30);
    }
  });
  return { load: Math.round(loaded - started), 'agent+identity': Math.round(performance.now() - loaded) };
}
