/**
 * @file The VM half of the local runtime: lab VMs as QEMU processes (KVM when
 * the probe says it works, TCG otherwise). Each VM has a state folder (see
 * vm-state.ts), a qcow2 overlay over its image's base disk, a NoCloud seed,
 * a tap on the instance bridge, and QMP / serial / guest agent / VNC on unix
 * sockets. Readiness, exec and the console streams all go through those
 * sockets, so a restarted server picks up running VMs from disk.
 *
 * Phases in `status`: creating (disk, seed, tap) → booting (QEMU runs, the
 * guest agent does not answer yet) → ready (it answers, and the image's
 * readyProbe passes: cloud-init finished on debian-vm) ⇄ paused.
 *
 * Saved states (saved-state.ts, on unless LAB_VM_SAVED_STATE=off): a VM
 * starts from its image's template, a fresh overlay on the template's disk
 * plus `-incoming`, and gets its own identity through the guest agent; the
 * first VM of a template key waits for the template's cold boot and save.
 * A restore that fails marks the template broken and boots cold instead.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm, rmdir, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { dnsLabel } from '../../../domain/lab/schema.js';
import {
  type ExecOptions,
  type ExecResult,
  type InstanceId,
  RuntimeError,
  type SystemPhase,
  type SystemSpec,
  type SystemStatus,
  type TerminalSize,
  type TerminalStream,
} from '../../runtime.js';
import { checkInstanceId } from '../names.js';
import type { VmDriver, VmNetwork } from '../vm-driver.js';
import { type AccelChoice, probeAccel } from './accel.js';
import { kernelIdentity, type SeedInput, writeSeed } from './cloud-init-seed.js';
import { connectConsole } from './console-socket.js';
import { GuestAgent } from './guest-agent.js';
import { KeyedLock } from './keyed-lock.js';
import { files, qemuArgs, type VmPaths } from './qemu-args.js';
import { startQemu, stopQemu } from './qemu-process.js';
import { qmp, runState } from './qmp.js';
import { resumeWithIdentity } from './restore.js';
import { SavedStates, SaveFailed, type Template, templateInputsOf } from './saved-state.js';
import { coldBootReason, savedStateSwitch, type TemplateInputs } from './saved-state-key.js';
import { openSerialTerminal, promptAgain } from './serial-terminal.js';
import { ensureTap, removeTap } from './tap.js';
import { resolveImage, type VmImage } from './vm-image.js';
import { checkNetwork, cpuCount, memoryMiB } from './vm-spec.js';
import {
  listStateFolders,
  macOf,
  pathsOf,
  readRecord,
  runningPid,
  serialTail,
  tapName,
  type VmRecord,
  vmKey,
  writeRecord,
} from './vm-state.js';

export interface QemuVmDriverOptions {
  /** Built images (deploy/images/vm/build.sh). Default: $LAB_VM_IMAGES or ./.cache/images/vm. */
  imagesDir?: string;
  /** State folders of VMs. Default: $LAB_VM_STATE or ./.data/vms. */
  stateDir?: string;
  /** Unix sockets (short paths). Default: /run/lab-orchestrator/vms, or the temp folder when not root. */
  socketDir?: string;
  qemu?: string;
  /** Seconds from QEMU's start to ready before the VM counts as failed to boot. */
  bootTimeout?: number;
  /** Seconds a guest gets to power off before QEMU is killed. */
  powerdownTimeout?: number;
  /** Start VMs from saved states. Default: $LAB_VM_SAVED_STATE (on|off), on. */
  savedState?: boolean;
  /** Saved states (templates). Default: `vm-templates` beside stateDir. */
  templatesDir?: string;
  /** Where fallbacks and template builds are told (pino's signature). Default: JSON lines on stderr. */
  log?: DriverLog;
}

export interface DriverLog {
  info(detail: object, message: string): void;
  warn(detail: object, message: string): void;
}

const stderrLog: DriverLog = {
  info: (detail, message) => console.error(JSON.stringify({ level: 'info', msg: message, ...detail })),
  warn: (detail, message) => console.error(JSON.stringify({ level: 'warn', msg: message, ...detail })),
};

/** Seconds a restored VM gets to load its state and answer on its agent before it counts as failed. */
const RESTORE_TIMEOUT_MS = 60_000;
/** After a template could not be saved, its VMs boot cold for this long before another try. */
const SAVE_RETRY_MS = 10 * 60_000;

const READY_MARKER = 'ready';
/** How long a restored VM's console gets to print its own prompt (serial-terminal.ts, promptAgain). */
const PROMPT_AGAIN_MS = 2000;

export class QemuVmDriver implements VmDriver {
  readonly imagesDir: string;
  readonly stateDir: string;
  readonly socketDir: string;
  private readonly qemu: string;
  private readonly bootTimeoutMs: number;
  private readonly powerdownMs: number;
  private accel?: Promise<AccelChoice>;
  private readonly lifecycle = new KeyedLock();
  private readonly channels = new KeyedLock();
  /** Phases of VMs this process is creating or resetting right now. */
  private readonly doing = new Map<string, SystemPhase>();
  readonly savedState: boolean;
  readonly templates: SavedStates;
  private readonly log: DriverLog;
  private qemuVersion?: Promise<string>;
  /** Template keys whose save failed, until when not to try again. */
  private readonly unsavable = new Map<string, number>();

  constructor(options: QemuVmDriverOptions = {}) {
    this.imagesDir = path.resolve(options.imagesDir ?? process.env.LAB_VM_IMAGES ?? '.cache/images/vm');
    this.stateDir = path.resolve(options.stateDir ?? process.env.LAB_VM_STATE ?? '.data/vms');
    this.socketDir =
      options.socketDir ??
      (process.getuid?.() === 0 ? '/run/lab-orchestrator/vms' : path.join(os.tmpdir(), 'lab-orchestrator-vms'));
    this.qemu = options.qemu ?? 'qemu-system-x86_64';
    this.bootTimeoutMs = (options.bootTimeout ?? 300) * 1000;
    this.powerdownMs = (options.powerdownTimeout ?? 10) * 1000;
    this.savedState = options.savedState ?? savedStateSwitch(process.env.LAB_VM_SAVED_STATE);
    this.log = options.log ?? stderrLog;
    this.templates = new SavedStates(
      path.resolve(options.templatesDir ?? path.join(path.dirname(this.stateDir), 'vm-templates')),
      () => this.templatesInUse(),
    );
  }

  /** Which accelerator VMs of this driver use, probed once (by booting `kernel` under KVM). */
  accelerator(kernel: string): Promise<AccelChoice> {
    this.accel ??= probeAccel(this.qemu, kernel);
    return this.accel;
  }

  async create(instanceId: InstanceId, system: SystemSpec, vmNet: VmNetwork): Promise<void> {
    const name = system.definition.name;
    const paths = this.paths(instanceId, name);
    checkNetwork(vmNet);
    const key = vmKey(instanceId, name);
    await this.lifecycle.run(key, async () => {
      try {
        const record = await readRecord(paths);
        if (record && (await runningPid(paths))) {
          // Adopt: a VM that was ready once, or is paused, stays as it is.
          if (existsSync(this.readyMarker(paths))) return;
          if ((await runState(files(paths).qmp).catch(() => 'unknown')) === 'paused') return;
          return await this.waitReady(paths, record);
        }
        // A state folder without QEMU (server or host crashed): boot the same disk again.
        if (record && existsSync(files(paths).overlay)) {
          const image = await resolveImage(this.imagesDir, record.image);
          await this.boot(paths, record, image, system, vmNet);
          return await this.waitReady(paths, record);
        }
        await this.fresh(instanceId, paths, system, vmNet);
      } catch (err) {
        await this.removeAll(paths, tapName(key));
        throw err;
      } finally {
        this.doing.delete(key);
      }
    });
  }

  private async fresh(instanceId: string, paths: VmPaths, system: SystemSpec, vmNet: VmNetwork): Promise<void> {
    const name = system.definition.name;
    const key = vmKey(instanceId, name);
    const image = await resolveImage(this.imagesDir, system.definition.image);
    this.doing.set(key, 'creating');
    await mkdir(paths.state, { recursive: true, mode: 0o700 });
    const accel = await this.accelerator(image.kernel);
    const record: VmRecord = {
      instanceId,
      system: name,
      image: system.definition.image,
      consoles: system.definition.consoles ?? ['terminal'],
      tap: tapName(key),
      mac: macOf(key),
      sockets: paths.sockets,
      accel: accel.accel,
      accelReason: accel.reason,
      readyProbe: image.readyProbe,
      createdAt: new Date().toISOString(),
    };
    await writeRecord(paths, record);
    await this.start(paths, record, image, system, vmNet);
  }

  /** From the image's saved state when there is one (or can be made), else a cold boot; ends ready. */
  private async start(paths: VmPaths, record: VmRecord, image: VmImage, system: SystemSpec, vmNet: VmNetwork) {
    const { restoredFrom: _, ...cold } = record;
    // A missing bridge is the caller's error, not the template's: find it before any template work.
    await ensureTap(record.tap, vmNet.bridge);
    const template = await this.templateFor(record, image, system);
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
        this.log.info(
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
        await this.stop(paths, vmKey(record.instanceId, record.system), 0);
        await this.templates.markBroken(template, (err as Error).message);
        this.log.warn(
          { vm: `${record.instanceId}/${record.system}`, template: template.dir, err: (err as Error).message },
          'restore from saved state failed: template marked broken, booting cold',
        );
      }
    }
    await writeRecord(paths, cold);
    await this.newOverlay(paths, image.disk);
    await this.boot(paths, cold, image, system, vmNet);
    await this.waitReady(paths, cold);
  }

  /** The template this VM may start from, built now if needed; undefined means boot cold. */
  private async templateFor(
    record: Pick<VmRecord, 'accel' | 'instanceId' | 'system'>,
    image: VmImage,
    system: SystemSpec,
  ): Promise<Template | undefined> {
    if (!this.savedState || coldBootReason(system)) return undefined;
    const inputs = await this.templateInputs(record, image, system);
    const found = await this.templates.find(inputs);
    if (found) return found;
    const key = `${inputs.image}/${JSON.stringify(inputs)}`;
    if ((this.unsavable.get(key) ?? 0) > Date.now()) return undefined;
    if (record.instanceId) this.doing.set(vmKey(record.instanceId, record.system), 'booting');
    try {
      const { template, built } = await this.templates.obtain({
        inputs,
        image,
        system: record.system,
        qemu: this.qemu,
        socketDir: this.socketDir,
        bootTimeoutMs: this.bootTimeoutMs,
      });
      if (built) this.log.info({ template: template.dir, stateBytes: template.stateBytes }, 'VM saved state built');
      return template;
    } catch (err) {
      // Whatever failed (the template's boot, its save, a tap), the VM itself may still boot cold;
      // when the image cannot boot at all, that boot fails with the VM's own message.
      this.unsavable.set(key, Date.now() + SAVE_RETRY_MS);
      const what = err instanceof SaveFailed ? 'cannot save a VM state' : 'cannot build a VM saved state';
      this.log.warn({ image: inputs.image, err: (err as Error).message }, `${what}: booting cold`);
      return undefined;
    }
  }

  /**
   * Makes the saved state VMs of this system start from, so that the first
   * of them does not wait for a cold boot. A no-op when saved states are off
   * or the system must boot cold; a failure is logged (its VMs then boot cold).
   */
  async warmUp(system: SystemSpec): Promise<void> {
    const image = await resolveImage(this.imagesDir, system.definition.image);
    const accel = await this.accelerator(image.kernel);
    await this.templateFor({ accel: accel.accel, instanceId: '', system: system.definition.name }, image, system);
  }

  /** Everything the saved state depends on (saved-state-key.ts). */
  async templateInputs(record: Pick<VmRecord, 'accel'>, image: VmImage, system: SystemSpec): Promise<TemplateInputs> {
    this.qemuVersion ??= promisify(execFile)(this.qemu, ['--version']).then((r) => r.stdout.split('\n')[0] ?? '');
    return templateInputsOf(image, {
      qemuVersion: await this.qemuVersion,
      accel: record.accel,
      memoryMiB: memoryMiB(system, image.minMemoryMiB),
      cpus: cpuCount(system),
    });
  }

  /**
   * A fresh overlay on the template's disk, QEMU with `-incoming`, `cont`,
   * then the VM's own identity through the guest agent. Any failure throws
   * (the caller boots cold).
   */
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
    await this.newOverlay(paths, template.disk);
    const disk = lap();
    // start() attached the tap already.
    await this.boot(paths, record, image, system, vmNet, { incomingFrom: template.state, tapReady: true });
    const qemu = lap();
    const phases = await resumeWithIdentity(
      paths,
      { hostname: record.system, mac: record.mac, previousMac: template.mac, net: vmNet, ...credentialsOf(system) },
      {
        qmp: (fn) => this.channels.run(`qmp:${key}`, fn),
        agent: (fn) => this.channels.run(`agent:${key}`, fn),
      },
      RESTORE_TIMEOUT_MS,
    );
    const f = files(paths);
    await promptAgain(f.serial, f.serialLog, PROMPT_AGAIN_MS);
    const prompt = lap();
    await writeFile(this.readyMarker(paths), new Date().toISOString());
    return { disk, qemu, ...phases, prompt };
  }

  /** Template folders that VMs' overlays stand on. */
  private async templatesInUse(): Promise<Set<string>> {
    const used = new Set<string>();
    for (const vm of await this.list()) {
      const record = await readRecord(this.paths(vm.instanceId, vm.system)).catch(() => undefined);
      if (record?.restoredFrom) used.add(record.restoredFrom);
    }
    return used;
  }

  private async newOverlay(paths: VmPaths, backing: string): Promise<void> {
    const overlay = files(paths).overlay;
    await rm(overlay, { force: true });
    try {
      await promisify(execFile)('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', backing, '-F', 'qcow2', overlay]);
    } catch (err) {
      const detail = (err as { stderr?: string }).stderr?.trim() || (err as Error).message;
      throw new RuntimeError(`cannot create the VM's disk over ${backing}: ${detail}`, 'failed', { cause: err });
    }
  }

  private async boot(
    paths: VmPaths,
    record: VmRecord,
    image: VmImage,
    system: SystemSpec,
    vmNet: VmNetwork,
    from: { incomingFrom?: string; tapReady?: boolean } = {},
  ) {
    const key = vmKey(record.instanceId, record.system);
    const { incomingFrom } = from;
    this.doing.set(key, 'creating');
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
    await Promise.all(
      [f.qmp, f.agent, f.serial, f.vnc, f.pid, this.readyMarker(paths)].map((p) => rm(p, { force: true })),
    );
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
    this.doing.set(key, 'booting');
    await startQemu(this.qemu, args);
  }

  /** Waits until the guest agent answers (and the image's readyProbe passes); fails when QEMU dies or time runs out. */
  private async waitReady(paths: VmPaths, record: VmRecord): Promise<void> {
    const deadline = Date.now() + this.bootTimeoutMs;
    while (Date.now() < deadline) {
      if (!(await runningPid(paths))) {
        const tail = await serialTail(paths);
        throw new RuntimeError(
          `VM ${record.system} stopped while booting${tail ? `; its console said: ${tail}` : ''}`,
          'failed',
        );
      }
      if (await this.probeReady(paths, record)) return;
      await sleep(300);
    }
    const tail = await serialTail(paths);
    throw new RuntimeError(
      `VM ${record.system} did not become ready within ${this.bootTimeoutMs / 1000} s (${record.accelReason})${tail ? `; its console said: ${tail}` : ''}`,
      'failed',
    );
  }

  private async probeReady(paths: VmPaths, record: VmRecord): Promise<boolean> {
    const key = vmKey(record.instanceId, record.system);
    const ok = await this.channels.run(`agent:${key}`, async () => {
      const agent = new GuestAgent(files(paths).agent);
      if (!(await agent.ping(1500))) return false;
      if (!record.readyProbe) return true;
      const result = await agent.exec(record.readyProbe, { timeout: 10 }).catch(() => undefined);
      return result?.exitCode === 0;
    });
    if (ok) await writeFile(this.readyMarker(paths), new Date().toISOString());
    return ok;
  }

  async status(instanceId: InstanceId, systemName: string): Promise<SystemStatus | undefined> {
    const paths = this.paths(instanceId, systemName);
    const key = vmKey(instanceId, systemName);
    const record = await readRecord(paths);
    const doing = this.doing.get(key);
    if (!record) {
      if (doing || existsSync(paths.state)) {
        return { name: systemName, kind: 'vm', phase: 'creating', consoles: ['terminal'] };
      }
      return undefined;
    }
    const base = { name: systemName, kind: 'vm' as const, consoles: record.consoles };
    const pid = await runningPid(paths);
    if (!pid) {
      if (doing) return { ...base, phase: doing };
      const tail = await serialTail(paths, 3);
      return { ...base, phase: 'stopped', reason: `QEMU is not running${tail ? `; its console said: ${tail}` : ''}` };
    }
    const state = await this.channels.run(`qmp:${key}`, () => runState(files(paths).qmp)).catch(() => 'unknown');
    if (state === 'paused') return { ...base, phase: 'paused', reason: `paused (${record.accelReason})` };
    const ready =
      existsSync(this.readyMarker(paths)) ||
      (!this.lifecycle.busy(key) && (await this.probeReady(paths, record).catch(() => false)));
    const from = record.restoredFrom ? `; started from saved state ${path.basename(record.restoredFrom)}` : '';
    if (ready) return { ...base, phase: 'ready', reason: `running with ${record.accelReason}${from}` };
    return { ...base, phase: 'booting', reason: `booting with ${record.accelReason}` };
  }

  async list(): Promise<Array<{ instanceId: string; system: string }>> {
    return listStateFolders(this.stateDir);
  }

  async pause(instanceId: InstanceId, systemName?: string): Promise<void> {
    await this.eachRunning(instanceId, systemName, (paths, key) =>
      this.channels.run(`qmp:${key}`, () => qmp(files(paths).qmp, 'stop')),
    );
  }

  async resume(instanceId: InstanceId, systemName?: string): Promise<void> {
    await this.eachRunning(instanceId, systemName, (paths, key) =>
      this.channels.run(`qmp:${key}`, () => qmp(files(paths).qmp, 'cont')),
    );
  }

  async destroy(instanceId: InstanceId, systemName?: string): Promise<void> {
    checkInstanceId(instanceId);
    const systems = systemName
      ? [systemName]
      : (await this.list()).filter((v) => v.instanceId === instanceId).map((v) => v.system);
    for (const system of systems) {
      const paths = this.paths(instanceId, system);
      const key = vmKey(instanceId, system);
      await this.lifecycle.run(key, () => this.removeAll(paths, tapName(key)));
    }
    await rmdir(path.join(this.stateDir, instanceId)).catch(() => {});
  }

  async reset(instanceId: InstanceId, system: SystemSpec, vmNet: VmNetwork): Promise<void> {
    const name = system.definition.name;
    const paths = this.paths(instanceId, name);
    const key = vmKey(instanceId, name);
    checkNetwork(vmNet);
    const record = await readRecord(paths);
    if (!record) return this.create(instanceId, system, vmNet);
    await this.lifecycle.run(key, async () => {
      try {
        this.doing.set(key, 'creating');
        await this.stop(paths, key);
        const image = await resolveImage(this.imagesDir, system.definition.image);
        await this.start(
          paths,
          { ...record, image: system.definition.image, readyProbe: image.readyProbe },
          image,
          system,
          vmNet,
        );
      } catch (err) {
        await this.removeAll(paths, record.tap);
        throw err;
      } finally {
        this.doing.delete(key);
      }
    });
  }

  /** Opens on the screen the guest printed last (serial-terminal.ts), then live. */
  async terminal(instanceId: InstanceId, systemName: string, _size: TerminalSize): Promise<TerminalStream> {
    const f = files(await this.runningPaths(instanceId, systemName));
    return openSerialTerminal(f.serial, f.serialLog);
  }

  async desktop(instanceId: InstanceId, systemName: string): Promise<Duplex> {
    const paths = await this.runningPaths(instanceId, systemName);
    return connectConsole(files(paths).vnc);
  }

  async exec(instanceId: InstanceId, systemName: string, argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    if (argv.length === 0) throw new RuntimeError('exec needs a command (argv is empty)', 'bad-spec');
    const paths = await this.runningPaths(instanceId, systemName);
    const key = vmKey(instanceId, systemName);
    const command = opts.user && opts.user !== 'root' ? asUser(opts.user, argv) : argv;
    try {
      return await this.channels.run(`agent:${key}`, () =>
        new GuestAgent(files(paths).agent).exec(command, {
          timeout: opts.timeout ?? 30,
          ...(opts.stdin !== undefined ? { stdin: opts.stdin } : {}),
        }),
      );
    } catch (err) {
      const state = await runState(files(paths).qmp).catch(() => 'unknown');
      if (state === 'paused') throw new RuntimeError(`VM ${systemName} is paused: resume it first`, 'unavailable');
      throw new RuntimeError(
        `VM ${systemName} did not run the command: its guest agent does not answer (${(err as Error).message})`,
        'unavailable',
        { cause: err },
      );
    }
  }

  async close(): Promise<void> {}

  private paths(instanceId: string, system: string): VmPaths {
    checkInstanceId(instanceId);
    if (!dnsLabel.safeParse(system).success) {
      throw new RuntimeError(`system name "${system}" is not usable: expected a DNS label`, 'bad-spec');
    }
    return pathsOf(this.stateDir, this.socketDir, instanceId, system);
  }

  private readyMarker(paths: VmPaths): string {
    return path.join(paths.state, READY_MARKER);
  }

  private async runningPaths(instanceId: string, systemName: string): Promise<VmPaths> {
    const paths = this.paths(instanceId, systemName);
    if (!(await runningPid(paths))) {
      throw new RuntimeError(`VM ${systemName} of instance ${instanceId} is not running`, 'not-found');
    }
    return paths;
  }

  private async eachRunning(
    instanceId: string,
    systemName: string | undefined,
    fn: (p: VmPaths, key: string) => Promise<unknown>,
  ) {
    checkInstanceId(instanceId);
    const systems = systemName
      ? [systemName]
      : (await this.list()).filter((v) => v.instanceId === instanceId).map((v) => v.system);
    for (const system of systems) {
      const paths = this.paths(instanceId, system);
      if (await runningPid(paths)) await fn(paths, vmKey(instanceId, system));
    }
  }

  private async stop(paths: VmPaths, key: string, graceMs = this.powerdownMs): Promise<void> {
    const pid = await runningPid(paths);
    if (!pid) return;
    await this.channels.run(`qmp:${key}`, () =>
      stopQemu(files(paths).qmp, pid, async () => (await runningPid(paths)) === pid, graceMs),
    );
  }

  /** Everything of one VM: process, tap, sockets, state folder. Safe to repeat. */
  private async removeAll(paths: VmPaths, tap: string): Promise<void> {
    const key = path.basename(paths.sockets);
    await this.stop(paths, key);
    await removeTap(tap);
    await rm(paths.sockets, { recursive: true, force: true });
    await rm(paths.state, { recursive: true, force: true });
    await unlink(files(paths).pid).catch(() => {});
  }
}

function credentialsOf(system: SystemSpec): { user?: { name: string; password: string } } {
  if (system.credentials) return { user: { name: system.credentials.user, password: system.credentials.password } };
  const user = system.definition.user;
  if (user && user.password !== 'generate') return { user: { name: user.name, password: user.password } };
  return {};
}

/** Runs argv as another user through `su` (util-linux and busybox agree on `su -s SH -c CMD USER`). */
function asUser(user: string, argv: string[]): string[] {
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(user))
    throw new RuntimeError(`exec user "${user}" is not a Unix user name`, 'bad-spec');
  const quoted = argv.map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(' ');
  return ['su', '-s', '/bin/sh', '-c', `exec ${quoted}`, user];
}
