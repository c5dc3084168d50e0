/**
 * @file Which saved state (template) a VM may start from. A saved state is
 * only usable by a QEMU with the very same devices, memory and CPUs, on the
 * same image files and accelerator: all of that goes into the key, so a
 * template whose inputs changed is never used (a new one is built under a
 * new key). Pure: tested without QEMU.
 */
import { createHash } from 'node:crypto';
import type { SystemSpec } from '../../runtime.js';
import type { Accel } from './qemu-args.js';

/** Bump when qemuArgs' devices or the template recipe change: older templates then stop matching. */
export const TEMPLATE_FORMAT = 1;

export interface TemplateInputs {
  /** Folder name of the image (`tiny-vm`). */
  image: string;
  /** The image's manifest.json as text, and size/mtime of its kernel, initrd and base disk. */
  manifest: string;
  files: Array<{ path: string; size: number; mtimeMs: number }>;
  /** `qemu-system-x86_64 --version`: a state saved by one QEMU may not load in another. */
  qemuVersion: string;
  accel: Accel;
  memoryMiB: number;
  cpus: number;
}

export function templateKey(inputs: TemplateInputs): string {
  const canonical = JSON.stringify({ format: TEMPLATE_FORMAT, ...inputs, files: [...inputs.files] });
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}

/** Folder names of one key's templates start with this; a build appends its time. */
export const templatePrefix = (inputs: TemplateInputs, key: string) => `${inputs.image}-${key}-`;

/**
 * Why this system must boot cold, or undefined when it may start from a
 * saved state. A lab's own cloud-init runs at first boot with the VM's real
 * network and identity (packages from the internet, files naming the host):
 * a template booted on an isolated network with a placeholder identity would
 * not be the same machine.
 */
export function coldBootReason(system: SystemSpec): string | undefined {
  if (system.definition.cloudInit?.trim()) return 'the lab has its own cloudInit';
  return undefined;
}

/** LAB_VM_SAVED_STATE: on (default) or off. */
export function savedStateSwitch(value: string | undefined): boolean {
  if (value === undefined || value === '' || value === 'on') return true;
  if (value === 'off') return false;
  throw new Error(`LAB_VM_SAVED_STATE "${value}" is not usable: expected on or off`);
}
