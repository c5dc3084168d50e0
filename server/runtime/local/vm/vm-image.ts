/**
 * @file VM images of the local runtime: folders built by
 * deploy/images/vm/build.sh, each with a manifest.json naming a kernel, an
 * initrd and a qcow2 base disk (direct kernel boot: no bootloader, faster
 * under TCG). A lab names one as `lab-orchestrator/tiny-vm` (a tag such as
 * `:12` is accepted and ignored: the folder holds one version).
 */
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { RuntimeError } from '../../runtime.js';

const manifestSchema = z.object({
  name: z.string(),
  kernel: z.string(),
  initrd: z.string(),
  disk: z.string(),
  /** Kernel command line; the driver appends the VM's identity (`lab.hostname=` ...). */
  append: z.string(),
  minMemoryMiB: z.number().int().positive().default(128),
  /** A command (argv) that exits 0 once the guest is usable, beyond the agent answering. */
  readyProbe: z.array(z.string()).min(1).nullable().default(null),
});

export interface VmImage {
  name: string;
  dir: string;
  kernel: string;
  initrd: string;
  disk: string;
  append: string;
  minMemoryMiB: number;
  readyProbe: string[] | null;
}

const IMAGE_REF = /^(?:[a-z0-9.-]+\/)*([a-z0-9][a-z0-9._-]*)(?::[A-Za-z0-9._-]+)?$/;

export async function resolveImage(imagesDir: string, ref: string): Promise<VmImage> {
  const folder = IMAGE_REF.exec(ref)?.[1];
  const build = 'build it with deploy/images/vm/build.sh';
  if (!folder || folder === '.' || folder === '..') {
    throw new RuntimeError(
      `VM image "${ref}" is not a valid image name (e.g. "lab-orchestrator/debian-vm")`,
      'bad-spec',
    );
  }
  const dir = path.join(imagesDir, folder);
  let text: string;
  try {
    text = await readFile(path.join(dir, 'manifest.json'), 'utf8');
  } catch {
    throw new RuntimeError(
      `VM image "${ref}" does not exist on this server (no ${dir}/manifest.json): ${build} ${folder}`,
      'bad-spec',
    );
  }
  const parsed = manifestSchema.safeParse(safeJson(text));
  if (!parsed.success) {
    const problem = parsed.error.issues[0];
    throw new RuntimeError(
      `VM image "${ref}" has a broken manifest.json (${problem?.path.join('.') || 'root'}: ${problem?.message}): ${build} ${folder}`,
      'bad-spec',
    );
  }
  const m = parsed.data;
  const image: VmImage = {
    name: m.name,
    dir,
    kernel: path.join(dir, m.kernel),
    initrd: path.join(dir, m.initrd),
    disk: path.join(dir, m.disk),
    append: m.append,
    minMemoryMiB: m.minMemoryMiB,
    readyProbe: m.readyProbe,
  };
  for (const [what, file] of [
    ['kernel', image.kernel],
    ['initrd', image.initrd],
    ['base disk', image.disk],
  ] as const) {
    try {
      await access(file);
    } catch {
      throw new RuntimeError(
        `VM image "${ref}" is incomplete: its ${what} ${file} is missing; ${build} ${folder}`,
        'bad-spec',
      );
    }
  }
  return image;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
