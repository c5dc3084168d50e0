/**
 * @file The instance network's Linux bridge on this host, for VMs. Docker
 * creates a network's bridge with the network; Podman (netavark) only when the
 * first container joins it, and deletes it with the last one. A VM may come
 * first (or alone), so the runtime makes the bridge itself when it is missing —
 * the engine then adopts it — and removes it when the instance goes.
 * Only used when a VM driver runs: VMs are processes on this host anyway.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { RuntimeError } from '../runtime.js';

const run = promisify(execFile);

async function exists(name: string): Promise<boolean> {
  try {
    await run('ip', ['link', 'show', 'dev', name]);
    return true;
  } catch {
    return false;
  }
}

export async function ensureBridge(name: string): Promise<void> {
  if (await exists(name)) return;
  try {
    await run('ip', ['link', 'add', 'name', name, 'type', 'bridge']);
  } catch (err) {
    // Made meanwhile by the engine or a parallel call: fine.
    if (!(await exists(name))) {
      const detail = (err as { stderr?: string }).stderr?.trim() || (err as Error).message;
      throw new RuntimeError(`cannot create the instance bridge ${name}: ${detail}`, 'unavailable', { cause: err });
    }
  }
  await run('ip', ['link', 'set', 'dev', name, 'up']);
}

/** Gone already is fine. */
export async function removeBridge(name: string): Promise<void> {
  if (await exists(name)) await run('ip', ['link', 'delete', 'dev', name, 'type', 'bridge']).catch(() => {});
}
