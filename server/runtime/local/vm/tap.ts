/**
 * @file The VM's tap interface on the instance bridge (`ip`, as root).
 * Persistent taps: created before QEMU starts and removed on destroy, so a
 * crash of QEMU or of the server leaves a tap that `destroy` still finds by name.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { RuntimeError } from '../../runtime.js';

const run = promisify(execFile);

async function exists(dev: string): Promise<boolean> {
  try {
    await run('ip', ['link', 'show', 'dev', dev]);
    return true;
  } catch {
    return false;
  }
}

export async function ensureTap(tap: string, bridge: string): Promise<void> {
  if (!(await exists(bridge))) {
    throw new RuntimeError(
      `the instance network's bridge ${bridge} does not exist: create the network first`,
      'bad-spec',
    );
  }
  try {
    if (!(await exists(tap))) await run('ip', ['tuntap', 'add', 'dev', tap, 'mode', 'tap']);
    await run('ip', ['link', 'set', 'dev', tap, 'master', bridge]);
    await run('ip', ['link', 'set', 'dev', tap, 'up']);
  } catch (err) {
    const detail = (err as { stderr?: string }).stderr?.trim() || (err as Error).message;
    throw new RuntimeError(`cannot attach the VM to bridge ${bridge} (tap ${tap}): ${detail}`, 'unavailable', {
      cause: err,
    });
  }
}

/** A tap on no bridge: the NIC of a template VM, which must not reach any network. */
export async function ensureLooseTap(tap: string): Promise<void> {
  try {
    if (!(await exists(tap))) await run('ip', ['tuntap', 'add', 'dev', tap, 'mode', 'tap']);
    await run('ip', ['link', 'set', 'dev', tap, 'up']);
  } catch (err) {
    const detail = (err as { stderr?: string }).stderr?.trim() || (err as Error).message;
    throw new RuntimeError(`cannot make tap ${tap}: ${detail}`, 'unavailable', { cause: err });
  }
}

export async function removeTap(tap: string): Promise<void> {
  if (await exists(tap)) await run('ip', ['link', 'delete', 'dev', tap]).catch(() => {});
}

export async function tapExists(tap: string): Promise<boolean> {
  return exists(tap);
}
