/**
 * @file How a VM comes up, ending ready: from its image's saved state when
 * there is one or can be made (template-choice.ts): a fresh overlay on the
 * template's disk, QEMU with `-incoming`, its own identity (restore.ts);
 * otherwise, or when that restore fails (the template is then marked
 * broken), a cold boot of an overlay on the image's base disk. Either way
 * QEMU gets the NoCloud seed, the tap on the instance bridge and its unix
 * sockets (qemu-args.ts), and the phase the driver reports follows along.
 */
import { execFile } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import { RuntimeError, type SystemPhase, type SystemSpec } from '../../runtime.js';
import type { VmNetwork } from '../vm-driver.js';
import { kernelIdentity, type SeedInput, writeSeed } from './cloud-init-seed.js';
import type { DriverLog } from './driver-log.js';
import type { KeyedLock } from './keyed-lock.js';
import { files, qemuArgs, type VmPaths } from './qemu-args.js';
import { startQemu } from './qemu-process.js';
import { resumeWithIdentity } from './restore.js';
import type { SavedStates, Template } from './saved-state.js';
import type { SerialLines } from './serial-line.js';
import { promptAgain } from './serial-terminal.js';
import { ensureTap } from './tap.js';
import type { TemplateChoice } from './template-choice.js';
import type { VmImage } from './vm-image.js';
import { markReady, readyMarker, waitReady } from './vm-readiness.js';
import { cpuCount, memoryMiB } from './vm-spec.js';
import { type VmRecord, vmKey, writeRecord } from './vm-state.js';
import { stopVm } from './vm-stop.js';

/** Seconds a restored VM gets to load its state and answer on its agent before it counts as failed. */
const RESTORE_TIMEOUT_MS = 60_000;
/** How long a restored VM's console gets to print its own prompt (serial-terminal.ts, promptAgain). */
const PROMPT_AGAIN_MS = 2000;

export interface VmStartOptions {
  qemu: string;
  bootTimeoutMs: number;
  /** Phases of VMs being created or reset, by vmKey: what status() reports while QEMU is not up yet. */
  phases: Map<string, SystemPhase>;
  /** One client at a time on each VM's QMP and agent sockets (`qmp:KEY`, `agent:KEY`). */
  channels: KeyedLock;
  choice: TemplateChoice;
  templates: SavedStates;
  /** Each VM's one held serial console connection (serial-line.ts). */
  serialLines: SerialLines;
  log: DriverLog;
}

export class VmStart {
  constructor(private readonly o: VmStartOptions) {}

  /** From the image's saved state when there is one (or can be made), else a cold boot; ends ready. */
  async start(paths: VmPaths, record: VmRecord, image: VmImage, system: SystemSpec, vmNet: VmNetwork): Promise<void> {
    const { restoredFrom: _, ...cold } = record;
    const key = vmKey(record.instanceId, record.system);
    // A missing bridge is the caller's error, not the template's: find it before any template work.
    await ensureTap(record.tap, vmNet.bridge);
    const template = await this.o.choice.templateFor(record, image, system, () => this.o.phases.set(key, 'booting'));
    if (template) {
      const started = performance.now();
      try {
        const phases = await this.restore(
          paths,
          { ...cold, restoredFrom: template.dir },
          image,
          system,
          vmNet,
          template,
        );
        this.o.log.info(
          {
            vm: `${record.instanceId}/${record.system}`,
            template: template.dir,
            ms: Math.round(performance.now() - started),
            phases,
          },
          'VM started from saved state',
        );
        return;
      } catch (err) {
        await stopVm(paths, key, this.o.channels, 0);
        await this.o.templates.markBroken(template, (err as Error).message);
        this.o.log.warn(
          { vm: `${record.instanceId}/${record.system}`, template: template.dir, err: (err as Error).message },
          'restore from saved state failed: template marked broken, booting cold',
        );
      }
    }
    await writeRecord(paths, cold);
    await newOverlay(paths, image.disk);
    await this.boot(paths, cold, image, system, vmNet);
    await waitReady(paths, cold, this.o.channels, this.o.bootTimeoutMs);
  }

  /** A fresh overlay on the template's disk, QEMU with `-incoming`, then restore.ts. Failures throw. */
  private async restore(
    paths: VmPaths,
    record: VmRecord,
    image: VmImage,
    system: SystemSpec,
    vmNet: VmNetwork,
    template: Template,
  ): Promise<Record<string, number>> {
    const key = vmKey(record.instanceId, record.system);
    let last = performance.now();
    const lap = () => {
      const ms = Math.round(performance.now() - last);
      last = performance.now();
      return ms;
    };
    await writeRecord(paths, record);
    await newOverlay(paths, template.disk);
    const disk = lap();
    // start() attached the tap already.
    await this.boot(paths, record, image, system, vmNet, { incomingFrom: template.state, tapReady: true });
    const qemu = lap();
    const phases = await resumeWithIdentity(
      paths,
      { hostname: record.system, mac: record.mac, previousMac: template.mac, net: vmNet, ...credentialsOf(system) },
      {
        qmp: (fn) => this.o.channels.run(`qmp:${key}`, fn),
        agent: (fn) => this.o.channels.run(`agent:${key}`, fn),
      },
      RESTORE_TIMEOUT_MS,
    );
    lap();
    const f = files(paths);
    await promptAgain(() => this.o.serialLines.get(f.serial, f.serialLog), PROMPT_AGAIN_MS);
    const prompt = lap();
    await markReady(paths);
    return { disk, qemu, ...phases, prompt };
  }

  /** Starts QEMU on the VM's overlay (booting, or loading `incomingFrom`); does not wait for the guest. */
  async boot(
    paths: VmPaths,
    record: VmRecord,
    image: VmImage,
    system: SystemSpec,
    vmNet: VmNetwork,
    from: { incomingFrom?: string; tapReady?: boolean } = {},
  ): Promise<void> {
    const key = vmKey(record.instanceId, record.system);
    const { incomingFrom } = from;
    this.o.phases.set(key, 'creating');
    const seedInput: SeedInput = {
      instanceId: record.instanceId,
      hostname: record.system,
      mac: record.mac,
      net: vmNet,
      ...credentialsOf(system),
      ...(system.definition.cloudInit ? { cloudInit: system.definition.cloudInit } : {}),
    };
    await Promise.all([
      writeSeed(paths.state, seedInput, record.createdAt.replace(/\D/g, '')),
      from.tapReady ? undefined : ensureTap(record.tap, vmNet.bridge),
      mkdir(paths.sockets, { recursive: true, mode: 0o700 }),
    ]);
    const f = files(paths);
    await Promise.all([f.qmp, f.agent, f.serial, f.vnc, f.pid, readyMarker(paths)].map((p) => rm(p, { force: true })));
    const args = qemuArgs({
      name: `${record.instanceId}/${record.system}`,
      paths,
      accel: record.accel,
      memoryMiB: memoryMiB(system, image.minMemoryMiB),
      cpus: cpuCount(system),
      kernel: image.kernel,
      initrd: image.initrd,
      append: `${image.append} ${kernelIdentity(seedInput)}`.trim(),
      tap: record.tap,
      mac: record.mac,
      ...(incomingFrom ? { incomingFrom } : {}),
    });
    this.o.phases.set(key, 'booting');
    await startQemu(this.o.qemu, args);
    // The console's one connection, from the guest's first byte on (serial-line.ts); else the first terminal makes it.
    await this.o.serialLines
      .get(f.serial, f.serialLog)
      .catch((err: Error) => this.o.log.warn({ vm: key, err: err.message }, 'serial console not held yet'));
  }
}

/** A new copy-on-write disk over `backing` (the image's base disk or a template's). */
async function newOverlay(paths: VmPaths, backing: string): Promise<void> {
  const overlay = files(paths).overlay;
  await rm(overlay, { force: true });
  try {
    await promisify(execFile)('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', backing, '-F', 'qcow2', overlay]);
  } catch (err) {
    const detail = (err as { stderr?: string }).stderr?.trim() || (err as Error).message;
    throw new RuntimeError(`cannot create the VM's disk over ${backing}: ${detail}`, 'failed', { cause: err });
  }
}

/** The lab user and password the VM gets: the instance's generated ones, or the lab's fixed ones. */
function credentialsOf(system: SystemSpec): { user?: { name: string; password: string } } {
  if (system.credentials) return { user: { name: system.credentials.user, password: system.credentials.password } };
  const user = system.definition.user;
  if (user && user.password !== 'generate') return { user: { name: user.name, password: user.password } };
  return {};
}
