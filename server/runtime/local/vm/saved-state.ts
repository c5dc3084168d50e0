/**
 * @file Saved states ("templates") that VMs start from instead of booting.
 * A template VM boots cold once per key (saved-state-key.ts) with a
 * placeholder identity on a tap that reaches nothing, waits until ready,
 * and is saved: QMP `migrate` of its paused memory and devices to
 * `state.mig`, and the disk it ran on, frozen read-only as `disk.qcow2`
 * (the backing file of every VM restored from it). The driver then starts
 * QEMU with `-incoming` on a fresh overlay and applies the VM's own
 * identity (identity.ts).
 *
 * A template folder is immutable once published: it is built in a
 * `.build-*` folder and renamed into place, so a crash never leaves half a
 * template (stale builds are swept). Builds of one key are serialised in
 * this process; two servers racing publish two folders, and either works.
 * A template whose restore failed is marked broken (never moved: running
 * VMs' overlays name its disk) and the next VM builds a new one.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { RuntimeError } from '../../runtime.js';
import { kernelIdentity, type SeedInput, writeSeed } from './cloud-init-seed.js';
import { GuestAgent } from './guest-agent.js';
import { KeyedLock } from './keyed-lock.js';
import { files, outgoingUri, qemuArgs, type VmPaths } from './qemu-args.js';
import { alive, startQemu } from './qemu-process.js';
import { qmp } from './qmp.js';
import { type TemplateInputs, templateKey, templatePrefix } from './saved-state-key.js';
import { ensureLooseTap, removeTap } from './tap.js';
import type { VmImage } from './vm-image.js';
import { runningPid, serialTail } from './vm-state.js';

const run = promisify(execFile);

/** The template's placeholder identity: every VM restored from it replaces all of it. */
export const TEMPLATE_HOST = 'lab-template';
const TEMPLATE_ADDRESS = '192.0.2.2/24'; // TEST-NET-1, on a tap with no bridge

export interface Template {
  key: string;
  dir: string;
  disk: string;
  state: string;
  /** The MAC the saved guest's NIC has. */
  mac: string;
  /** The saved guest's /etc/machine-id ('' when it has none). */
  machineId: string;
  stateBytes: number;
  createdAt: string;
}

export interface TemplateBuild {
  inputs: TemplateInputs;
  image: VmImage;
  /** The system that asked, for error messages. */
  system: string;
  qemu: string;
  socketDir: string;
  bootTimeoutMs: number;
}

/** The inputs of a template key: the image's files as they are now, and the QEMU settings. */
export async function templateInputsOf(
  image: VmImage,
  qemu: Pick<TemplateInputs, 'qemuVersion' | 'accel' | 'memoryMiB' | 'cpus'>,
): Promise<TemplateInputs> {
  const fileStats = await Promise.all(
    [image.kernel, image.initrd, image.disk].map(async (p) => {
      const s = await stat(p);
      return { path: p, size: s.size, mtimeMs: s.mtimeMs };
    }),
  );
  return {
    image: path.basename(image.dir),
    manifest: await readFile(path.join(image.dir, 'manifest.json'), 'utf8'),
    files: fileStats,
    ...qemu,
  };
}

/** Saving failed (not booting): the caller boots cold instead. */
export class SaveFailed extends Error {
  override name = 'SaveFailed';
}

const META = 'template.json';
const BROKEN = 'broken';

export class SavedStates {
  private readonly lock = new KeyedLock();

  constructor(
    readonly dir: string,
    /** Template folders that VMs' overlays stand on now: never pruned. */
    private readonly inUse: () => Promise<Set<string>>,
  ) {}

  /** The newest usable template of these inputs, if one was built. */
  async find(inputs: TemplateInputs): Promise<Template | undefined> {
    const key = templateKey(inputs);
    const prefix = templatePrefix(inputs, key);
    const names = (await readdir(this.dir).catch(() => [] as string[])).filter((n) => n.startsWith(prefix));
    const found: Template[] = [];
    for (const name of names) {
      const t = await readTemplate(path.join(this.dir, name), key);
      if (t) found.push(t);
    }
    return found.sort((a, b) => b.createdAt.localeCompare(a.createdAt))[0];
  }

  /** The template of these inputs; boots and saves one when there is none (one build per key at a time). */
  async obtain(build: TemplateBuild): Promise<{ template: Template; built: boolean }> {
    const key = templateKey(build.inputs);
    return this.lock.run(key, async () => {
      const existing = await this.find(build.inputs);
      if (existing) return { template: existing, built: false };
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      await this.sweepStaleBuilds();
      const template = await buildTemplate(this.dir, key, build);
      await this.prune(build.inputs, template.dir);
      return { template, built: true };
    });
  }

  /** Never used again (its folder stays while VMs stand on its disk; pruned later). */
  async markBroken(template: Template, reason: string): Promise<void> {
    await writeFile(path.join(template.dir, BROKEN), `${new Date().toISOString()} ${reason}\n`).catch(() => {});
  }

  /**
   * Removes templates no VM stands on that are broken, older builds of the
   * same key, or made from other files of this image (it was rebuilt) or by
   * another QEMU. Templates of other memory sizes or users stay: other labs use them.
   */
  private async prune(current: TemplateInputs, keep: string): Promise<void> {
    const used = await this.inUse();
    const sameBuild = (i: TemplateInputs) =>
      i.manifest === current.manifest &&
      i.qemuVersion === current.qemuVersion &&
      JSON.stringify(i.files) === JSON.stringify(current.files);
    for (const name of await readdir(this.dir).catch(() => [] as string[])) {
      const dir = path.join(this.dir, name);
      if (!name.startsWith(`${current.image}-`) || dir === keep || used.has(dir)) continue;
      const meta = await readFile(path.join(dir, META), 'utf8')
        .then((t) => JSON.parse(t) as { key: string; inputs: TemplateInputs })
        .catch(() => undefined);
      const broken = await stat(path.join(dir, BROKEN)).then(
        () => true,
        () => false,
      );
      if (!meta || broken || meta.key === templateKey(current) || !sameBuild(meta.inputs)) {
        await rm(dir, { recursive: true, force: true });
      }
    }
  }

  /** Builds left by a process that died mid-way: their QEMU, tap and folder. */
  private async sweepStaleBuilds(): Promise<void> {
    for (const name of await readdir(this.dir).catch(() => [] as string[])) {
      const m = /^\.build-[0-9a-f]{16}-(\d+)-([0-9a-f]{10})$/.exec(name);
      if (!m || alive(Number(m[1]))) continue;
      const dir = path.join(this.dir, name);
      await killQemu({ state: dir, sockets: dir });
      await removeTap(tapOf(m[2] as string));
      await rm(dir, { recursive: true, force: true });
    }
  }
}

async function readTemplate(dir: string, key: string): Promise<Template | undefined> {
  try {
    const meta = JSON.parse(await readFile(path.join(dir, META), 'utf8')) as Template;
    if (meta.key !== key) return undefined;
    const broken = await stat(path.join(dir, BROKEN)).then(
      () => true,
      () => false,
    );
    if (broken) return undefined;
    const t: Template = { ...meta, dir, disk: path.join(dir, 'disk.qcow2'), state: path.join(dir, 'state.mig') };
    // A missing or truncated file would only fail later, inside QEMU: check what is cheap to check.
    if ((await stat(t.state)).size !== t.stateBytes) return undefined;
    await stat(t.disk);
    return t;
  } catch {
    return undefined;
  }
}

/** Per build, not per key: servers (or tests) sharing a machine may build the same key at once. */
const tapOf = (build: string) => `lt${build}`;

async function buildTemplate(root: string, key: string, b: TemplateBuild): Promise<Template> {
  const build = randomBytes(5).toString('hex');
  const work = path.join(root, `.build-${key}-${process.pid}-${build}`);
  const paths: VmPaths = { state: work, sockets: path.join(b.socketDir, `t${build}`) };
  const f = files(paths);
  const tap = tapOf(build);
  const mac = `52:54:00:${(key.slice(12, 16) + key.slice(0, 2)).match(/../g)?.join(':')}`;
  try {
    await mkdir(work, { recursive: true, mode: 0o700 });
    await mkdir(paths.sockets, { recursive: true, mode: 0o700 });
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', b.image.disk, '-F', 'qcow2', f.overlay]);
    const seed: SeedInput = {
      instanceId: 'template',
      hostname: TEMPLATE_HOST,
      mac,
      // No user: the lab's user is made per VM with its password (identity.ts), so labs share templates.
      net: { bridge: tap, address: TEMPLATE_ADDRESS, hosts: {} },
    };
    await writeSeed(work, seed, key);
    await ensureLooseTap(tap);
    await startQemu(
      b.qemu,
      qemuArgs({
        name: `template/${b.inputs.image}`,
        paths,
        accel: b.inputs.accel,
        memoryMiB: b.inputs.memoryMiB,
        cpus: b.inputs.cpus,
        kernel: b.image.kernel,
        initrd: b.image.initrd,
        append: `${b.image.append} ${kernelIdentity(seed)}`.trim(),
        tap,
        mac,
      }),
    );
    const machineId = await waitReady(paths, b);
    const stateBytes = await save(paths, path.join(work, 'state.mig'));
    await killQemu(paths); // gone before its disk is published
    for (const name of ['disk.qcow2', 'state.mig']) await chmod(path.join(work, name), 0o444);
    for (const name of ['seed.img', 'user-data', 'meta-data', 'network-config']) {
      await rm(path.join(work, name), { force: true });
    }
    const createdAt = new Date().toISOString();
    const meta = { key, inputs: b.inputs, mac, machineId, stateBytes, createdAt };
    await writeFile(path.join(work, META), `${JSON.stringify(meta, null, 2)}\n`);
    const dir = path.join(root, `${templatePrefix(b.inputs, key)}${Date.now().toString(36)}`);
    await rename(work, dir);
    return { ...meta, dir, disk: path.join(dir, 'disk.qcow2'), state: path.join(dir, 'state.mig') };
  } finally {
    await killQemu(paths);
    await removeTap(tap);
    await rm(paths.sockets, { recursive: true, force: true });
    await rm(work, { recursive: true, force: true });
  }
}

/** Waits until the template's agent answers and the image's readyProbe passes; returns its machine-id. */
async function waitReady(paths: VmPaths, b: TemplateBuild): Promise<string> {
  const agent = new GuestAgent(files(paths).agent);
  const deadline = Date.now() + b.bootTimeoutMs;
  while (Date.now() < deadline) {
    if (!(await runningPid(paths))) {
      const tail = await serialTail(paths);
      throw new RuntimeError(
        `VM ${b.system} stopped while booting (as the saved-state template of ${b.inputs.image})${tail ? `; its console said: ${tail}` : ''}`,
        'failed',
      );
    }
    if (await agent.ping(1500)) {
      const probe = b.image.readyProbe
        ? await agent.exec(b.image.readyProbe, { timeout: 10 }).catch(() => undefined)
        : undefined;
      if (!b.image.readyProbe || probe?.exitCode === 0) {
        const id = await agent.exec(['cat', '/etc/machine-id'], { timeout: 10 }).catch(() => undefined);
        return id?.exitCode === 0 ? id.stdout.trim() : '';
      }
    }
    await sleep(300);
  }
  const tail = await serialTail(paths);
  throw new RuntimeError(
    `VM ${b.system} did not become ready within ${b.bootTimeoutMs / 1000} s (as the saved-state template of ${b.inputs.image})${tail ? `; its console said: ${tail}` : ''}`,
    'failed',
  );
}

/**
 * Pauses the VM and writes its state; the disk is flushed when migration
 * completes, so disk and memory are of the same instant. QEMU then quits.
 */
async function save(paths: VmPaths, stateFile: string): Promise<number> {
  const socket = files(paths).qmp;
  try {
    await qmp(socket, 'stop');
    // The default bandwidth cap (32 MiB/s) is for live migration over a network; this is a local file.
    await qmp(socket, 'migrate-set-parameters', { 'max-bandwidth': 8 * 1024 ** 3 });
    await qmp(socket, 'migrate', { uri: outgoingUri(stateFile) });
    const deadline = Date.now() + 120_000;
    for (;;) {
      const m = (await qmp(socket, 'query-migrate')) as { status?: string; 'error-desc'?: string };
      if (m.status === 'completed') break;
      if (m.status === 'failed' || m.status === 'cancelled') throw new Error(m['error-desc'] ?? m.status);
      if (Date.now() > deadline) throw new Error('saving took more than 120 s');
      await sleep(50);
    }
    await qmp(socket, 'quit').catch(() => {}); // the connection may close before the answer
  } catch (err) {
    throw new SaveFailed(`cannot save the VM's state: ${(err as Error).message}`, { cause: err });
  }
  return (await stat(stateFile)).size;
}

async function killQemu(paths: VmPaths): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const pid = await runningPid(paths);
    if (!pid) return;
    if (i === 10) process.kill(pid, 'SIGKILL'); // quit gets a second; a VM still there then is killed
    await sleep(100);
  }
}
