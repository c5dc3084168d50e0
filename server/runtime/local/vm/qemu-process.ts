/**
 * @file Starting and stopping a VM's QEMU process. QEMU daemonizes itself
 * (new session, pidfile), so it survives a restart of the server; errors
 * before it detaches come back on stderr and become the readable reason.
 */
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { RuntimeError } from '../../runtime.js';
import { qmp, runState } from './qmp.js';

export async function startQemu(qemu: string, args: string[]): Promise<void> {
  const child = spawn(qemu, args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const code = await new Promise<number | string>((resolve) => {
    child.on('error', (err) => resolve(err.message));
    child.on('exit', (exit, signal) => resolve(exit ?? `signal ${signal}`));
  });
  await sleep(20); // let the last stderr bytes arrive
  child.stderr.destroy();
  if (code !== 0) {
    const detail = stderr.trim().split('\n').slice(-3).join(' ') || `exit ${code}`;
    throw new RuntimeError(`QEMU did not start: ${detail}`, 'failed');
  }
}

/** Whether a process `pid` exists (signal 0: no signal is sent). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function gone(pid: number, isOurs: () => Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!alive(pid) || !(await isOurs())) return true;
    await sleep(100);
  }
  return false;
}

/**
 * Powers the VM off: ACPI power button (`system_powerdown`) and up to
 * `graceMs` for the guest to flush and halt, then SIGKILL. A paused VM
 * cannot see the button: it is killed at once.
 */
export async function stopQemu(
  qmpSocket: string,
  pid: number,
  isOurs: () => Promise<boolean>,
  graceMs: number,
): Promise<void> {
  let paused = false;
  try {
    paused = (await runState(qmpSocket)) === 'paused';
    if (!paused && graceMs > 0) await qmp(qmpSocket, 'system_powerdown');
  } catch {
    // QMP not answering: nothing to ask politely.
  }
  if (!paused && graceMs > 0 && (await gone(pid, isOurs, graceMs))) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  await gone(pid, isOurs, 5000);
}
