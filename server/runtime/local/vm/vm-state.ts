/**
 * @file The state folder of each VM: `<stateDir>/<instance>/<system>/` with
 * `vm.json` (what was made: tap, MAC, sockets, accelerator), the overlay,
 * the seed, QEMU's pidfile and the serial log. It is the only memory the
 * driver has: after a server restart, `list()` and `status()` read it back,
 * and a pid counts only while /proc says it is still this VM's QEMU.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { VmPaths } from './qemu-args.js';
import { files } from './qemu-args.js';

export const vmRecordSchema = z.object({
  instanceId: z.string(),
  system: z.string(),
  image: z.string(),
  consoles: z.array(z.enum(['terminal', 'desktop'])),
  tap: z.string(),
  mac: z.string(),
  sockets: z.string(),
  accel: z.enum(['kvm', 'tcg']),
  accelReason: z.string(),
  readyProbe: z.array(z.string()).nullable(),
  createdAt: z.string(),
  /** The saved-state template folder the VM's disk stands on (absent: it booted from the image). */
  restoredFrom: z.string().optional(),
});
export type VmRecord = z.infer<typeof vmRecordSchema>;

/** A short, stable key of one VM: names its tap, MAC and socket folder. */
export function vmKey(instanceId: string, system: string): string {
  return createHash('sha256').update(`${instanceId}/${system}`).digest('hex').slice(0, 12);
}

export const tapName = (key: string) => `lv${key}`;

export function macOf(key: string): string {
  const b = key.slice(0, 6).match(/../g) ?? ['00', '00', '00'];
  return `52:54:00:${b.join(':')}`;
}

export function pathsOf(stateDir: string, socketDir: string, instanceId: string, system: string): VmPaths {
  return {
    state: path.join(stateDir, instanceId, system),
    sockets: path.join(socketDir, vmKey(instanceId, system)),
  };
}

export async function readRecord(paths: VmPaths): Promise<VmRecord | undefined> {
  try {
    const parsed = vmRecordSchema.safeParse(JSON.parse(await readFile(files(paths).record, 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export async function writeRecord(paths: VmPaths, record: VmRecord): Promise<void> {
  await writeFile(files(paths).record, `${JSON.stringify(record, null, 2)}\n`);
}

/** The pid of this VM's QEMU when it runs; undefined otherwise (no pidfile, dead, or a reused pid). */
export async function runningPid(paths: VmPaths): Promise<number | undefined> {
  try {
    const pid = Number((await readFile(files(paths).pid, 'utf8')).trim());
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.includes(files(paths).overlay) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Every (instance, system) that has a state folder. */
export async function listStateFolders(stateDir: string): Promise<Array<{ instanceId: string; system: string }>> {
  const found: Array<{ instanceId: string; system: string }> = [];
  const instances = await readdir(stateDir, { withFileTypes: true }).catch(() => []);
  for (const instance of instances) {
    if (!instance.isDirectory()) continue;
    const systems = await readdir(path.join(stateDir, instance.name), { withFileTypes: true }).catch(() => []);
    for (const system of systems) {
      if (system.isDirectory()) found.push({ instanceId: instance.name, system: system.name });
    }
  }
  return found;
}

const ANSI_ESCAPE = new RegExp(`${String.fromCharCode(27)}\\[[0-9;?]*[A-Za-z]`, 'g');

/** The last lines the VM wrote on its serial console: the best reason a boot failed. */
export async function serialTail(paths: VmPaths, lines = 6): Promise<string> {
  try {
    const text = (await readFile(files(paths).serialLog, 'utf8')).replace(ANSI_ESCAPE, '');
    return text
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter(Boolean)
      .slice(-lines)
      .join(' | ');
  } catch {
    return '';
  }
}
