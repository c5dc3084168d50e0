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
 * This class keeps the VmDriver contract (idempotence, adoption, locking per
 * VM); how a VM starts is vm-start.ts (saved states: template-choice.ts and
 * saved-state.ts, on unless LAB_VM_SAVED_STATE=off), how it stops vm-stop.ts,
 * its consoles serial-terminal.ts and console-socket.ts, commands vm-exec.ts.
 */
import { existsSync } from 'node:fs';
import { mkdir, rmdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Duplex } from 'node:stream';
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
import { connectConsole } from './console-socket.js';
import { type DriverLog, stderrLog } from './driver-log.js';
import { KeyedLock } from './keyed-lock.js';
import { files, type VmPaths } from './qemu-args.js';
import { qmp, runState } from './qmp.js';
import { SavedStates } from './saved-state.js';
import { savedStateSwitch, type TemplateInputs } from './saved-state-key.js';
import { SerialLines } from './serial-line.js';
import { openSerialTerminal } from './serial-terminal.js';
import { TemplateChoice } from './template-choice.js';
import { execInVm } from './vm-exec.js';
import { resolveImage, type VmImage } from './vm-image.js';
import { probeReady, waitReady, wasReady } from './vm-readiness.js';
import { checkNetwork } from './vm-spec.js';
import { VmStart } from './vm-start.js';
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
import { removeVm, stopVm } from './vm-stop.js';

export type { DriverLog } from './driver-log.js';

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
  private readonly choice: TemplateChoice;
  private readonly starter: VmStart;
  private readonly serialLines = new SerialLines();

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
    const log = options.log ?? stderrLog;
    this.templates = new SavedStates(
      path.resolve(options.templatesDir ?? path.join(path.dirname(this.stateDir), 'vm-templates')),
      () => this.templatesInUse(),
    );
    this.choice = new TemplateChoice({
      enabled: this.savedState,
      templates: this.templates,
      qemu: this.qemu,
      socketDir: this.socketDir,
      bootTimeoutMs: this.bootTimeoutMs,
      log,
    });
    this.starter = new VmStart({
      qemu: this.qemu,
      bootTimeoutMs: this.bootTimeoutMs,
      phases: this.doing,
      channels: this.channels,
      choice: this.choice,
      templates: this.templates,
      serialLines: this.serialLines,
      log,
    });
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
          if (wasReady(paths)) return;
          if ((await runState(files(paths).qmp).catch(() => 'unknown')) === 'paused') return;
          return await waitReady(paths, record, this.channels, this.bootTimeoutMs);
        }
        // A state folder without QEMU (server or host crashed): boot the same disk again.
        if (record && existsSync(files(paths).overlay)) {
          const image = await resolveImage(this.imagesDir, record.image);
          await this.starter.boot(paths, record, image, system, vmNet);
          return await waitReady(paths, record, this.channels, this.bootTimeoutMs);
        }
        await this.fresh(instanceId, paths, system, vmNet);
      } catch (err) {
        await removeVm(paths, tapName(key), this.channels, this.powerdownMs);
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
    await this.starter.start(paths, record, image, system, vmNet);
  }

  /**
   * Makes the saved state VMs of this system start from, so that the first
   * of them does not wait for a cold boot. A no-op when saved states are off
   * or the system must boot cold; a failure is logged (its VMs then boot cold).
   */
  async warmUp(system: SystemSpec): Promise<void> {
    const image = await resolveImage(this.imagesDir, system.definition.image);
    const accel = await this.accelerator(image.kernel);
    await this.choice.templateFor({ accel: accel.accel, system: system.definition.name }, image, system);
  }

  /** Everything the saved state depends on (saved-state-key.ts). */
  templateInputs(record: Pick<VmRecord, 'accel'>, image: VmImage, system: SystemSpec): Promise<TemplateInputs> {
    return this.choice.templateInputs(record, image, system);
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
      wasReady(paths) ||
      (!this.lifecycle.busy(key) && (await probeReady(paths, record, this.channels).catch(() => false)));
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
    for (const system of await this.systemsOf(instanceId, systemName)) {
      const paths = this.paths(instanceId, system);
      const key = vmKey(instanceId, system);
      await this.lifecycle.run(key, () => removeVm(paths, tapName(key), this.channels, this.powerdownMs));
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
        await stopVm(paths, key, this.channels, this.powerdownMs);
        const image = await resolveImage(this.imagesDir, system.definition.image);
        await this.starter.start(
          paths,
          { ...record, image: system.definition.image, readyProbe: image.readyProbe },
          image,
          system,
          vmNet,
        );
      } catch (err) {
        await removeVm(paths, record.tap, this.channels, this.powerdownMs);
        throw err;
      } finally {
        this.doing.delete(key);
      }
    });
  }

  /** Opens on the screen the guest printed last, then live (serial-line.ts, serial-terminal.ts). */
  async terminal(instanceId: InstanceId, systemName: string, _size: TerminalSize): Promise<TerminalStream> {
    const f = files(await this.runningPaths(instanceId, systemName));
    return openSerialTerminal(await this.serialLines.get(f.serial, f.serialLog));
  }

  async desktop(instanceId: InstanceId, systemName: string): Promise<Duplex> {
    const paths = await this.runningPaths(instanceId, systemName);
    return connectConsole(files(paths).vnc);
  }

  async exec(instanceId: InstanceId, systemName: string, argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    if (argv.length === 0) throw new RuntimeError('exec needs a command (argv is empty)', 'bad-spec');
    const paths = await this.runningPaths(instanceId, systemName);
    return execInVm(paths, instanceId, systemName, this.channels, argv, opts);
  }

  async close(): Promise<void> {
    this.serialLines.close();
  }

  private paths(instanceId: string, system: string): VmPaths {
    checkInstanceId(instanceId);
    if (!dnsLabel.safeParse(system).success) {
      throw new RuntimeError(`system name "${system}" is not usable: expected a DNS label`, 'bad-spec');
    }
    return pathsOf(this.stateDir, this.socketDir, instanceId, system);
  }

  private async runningPaths(instanceId: string, systemName: string): Promise<VmPaths> {
    const paths = this.paths(instanceId, systemName);
    if (!(await runningPid(paths))) {
      throw new RuntimeError(`VM ${systemName} of instance ${instanceId} is not running`, 'not-found');
    }
    return paths;
  }

  /** The named system, or every VM system of the instance. */
  private async systemsOf(instanceId: string, systemName: string | undefined): Promise<string[]> {
    if (systemName) return [systemName];
    return (await this.list()).filter((v) => v.instanceId === instanceId).map((v) => v.system);
  }

  private async eachRunning(
    instanceId: string,
    systemName: string | undefined,
    fn: (p: VmPaths, key: string) => Promise<unknown>,
  ) {
    checkInstanceId(instanceId);
    for (const system of await this.systemsOf(instanceId, systemName)) {
      const paths = this.paths(instanceId, system);
      if (await runningPid(paths)) await fn(paths, vmKey(instanceId, system));
    }
  }
}
