/**
 * @file Which saved state (template, saved-state.ts) a VM starts from: the
 * newest usable one of its key, built now when there is none. Undefined
 * means boot cold: saved states are off, the lab must boot cold
 * (saved-state-key.ts), or a build of that key failed a short while ago —
 * its VMs then boot cold for SAVE_RETRY_MS instead of each waiting for a
 * build that fails again.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { SystemSpec } from '../../runtime.js';
import type { DriverLog } from './driver-log.js';
import { type SavedStates, SaveFailed, type Template, templateInputsOf } from './saved-state.js';
import { coldBootReason, type TemplateInputs } from './saved-state-key.js';
import type { VmImage } from './vm-image.js';
import { cpuCount, memoryMiB } from './vm-spec.js';
import type { VmRecord } from './vm-state.js';

/** After a template could not be saved, its VMs boot cold for this long before another try. */
const SAVE_RETRY_MS = 10 * 60_000;

export interface TemplateChoiceOptions {
  /** Saved states on (LAB_VM_SAVED_STATE). */
  enabled: boolean;
  templates: SavedStates;
  qemu: string;
  socketDir: string;
  bootTimeoutMs: number;
  log: DriverLog;
}

export class TemplateChoice {
  private qemuVersion?: Promise<string>;
  /** Template keys whose save failed, until when not to try again. */
  private readonly unsavable = new Map<string, number>();

  constructor(private readonly o: TemplateChoiceOptions) {}

  /** The template this VM may start from, built now if needed (`onBuild` is told first); undefined means boot cold. */
  async templateFor(
    record: Pick<VmRecord, 'accel' | 'system'>,
    image: VmImage,
    system: SystemSpec,
    onBuild: () => void = () => {},
  ): Promise<Template | undefined> {
    if (!this.o.enabled || coldBootReason(system)) return undefined;
    const inputs = await this.templateInputs(record, image, system);
    const found = await this.o.templates.find(inputs);
    if (found) return found;
    const key = `${inputs.image}/${JSON.stringify(inputs)}`;
    if ((this.unsavable.get(key) ?? 0) > Date.now()) return undefined;
    onBuild();
    try {
      const { template, built } = await this.o.templates.obtain({
        inputs,
        image,
        system: record.system,
        qemu: this.o.qemu,
        socketDir: this.o.socketDir,
        bootTimeoutMs: this.o.bootTimeoutMs,
      });
      if (built) this.o.log.info({ template: template.dir, stateBytes: template.stateBytes }, 'VM saved state built');
      return template;
    } catch (err) {
      // Whatever failed (the template's boot, its save, a tap), the VM itself may still boot cold;
      // when the image cannot boot at all, that boot fails with the VM's own message.
      this.unsavable.set(key, Date.now() + SAVE_RETRY_MS);
      const what = err instanceof SaveFailed ? 'cannot save a VM state' : 'cannot build a VM saved state';
      this.o.log.warn({ image: inputs.image, err: (err as Error).message }, `${what}: booting cold`);
      return undefined;
    }
  }

  /** Everything the saved state depends on (saved-state-key.ts). */
  async templateInputs(record: Pick<VmRecord, 'accel'>, image: VmImage, system: SystemSpec): Promise<TemplateInputs> {
    this.qemuVersion ??= promisify(execFile)(this.o.qemu, ['--version']).then((r) => r.stdout.split('\n')[0] ?? '');
    return templateInputsOf(image, {
      qemuVersion: await this.qemuVersion,
      accel: record.accel,
      memoryMiB: memoryMiB(system, image.minMemoryMiB),
      cpus: cpuCount(system),
    });
  }
}
