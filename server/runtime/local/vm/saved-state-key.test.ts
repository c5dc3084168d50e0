import { describe, expect, it } from 'vitest';
import { systemSchema } from '../../../domain/lab/schema.js';
import {
  coldBootReason,
  savedStateSwitch,
  type TemplateInputs,
  templateKey,
  templatePrefix,
} from './saved-state-key.js';

const inputs: TemplateInputs = {
  image: 'tiny-vm',
  manifest: '{"name":"lab-orchestrator/tiny-vm"}',
  files: [{ path: '/img/vmlinuz', size: 100, mtimeMs: 1 }],
  qemuVersion: 'QEMU emulator version 7.2.22',
  accel: 'tcg',
  memoryMiB: 256,
  cpus: 1,
};

describe('saved-state key', () => {
  it('is stable for the same inputs', () => {
    expect(templateKey(inputs)).toBe(templateKey({ ...inputs, files: [...inputs.files] }));
    expect(templateKey(inputs)).toMatch(/^[0-9a-f]{16}$/);
  });

  it('changes with anything the saved state depends on', () => {
    const key = templateKey(inputs);
    const changed: Array<Partial<TemplateInputs>> = [
      { memoryMiB: 512 },
      { cpus: 2 },
      { accel: 'kvm' },
      { qemuVersion: 'QEMU emulator version 8.2.0' },
      { manifest: '{"name":"lab-orchestrator/tiny-vm","append":"quiet"}' },
      { files: [{ path: '/img/vmlinuz', size: 100, mtimeMs: 2 }] },
      { image: 'debian-vm' },
    ];
    for (const change of changed) expect(templateKey({ ...inputs, ...change }), JSON.stringify(change)).not.toBe(key);
  });

  it('names template folders by image and key', () => {
    expect(templatePrefix(inputs, 'abc')).toBe('tiny-vm-abc-');
  });
});

describe('which systems may start from a saved state', () => {
  const system = (extra: Record<string, unknown>) => ({
    definition: systemSchema.parse({ name: 'box', kind: 'vm', image: 'lab-orchestrator/debian-vm', ...extra }),
  });

  it('a VM without its own cloud-init may', () => {
    expect(coldBootReason(system({}))).toBeUndefined();
  });

  it('a VM with its own cloud-init boots cold (it may need its real network and name)', () => {
    expect(coldBootReason(system({ cloudInit: '#cloud-config\npackages: [nginx]\n' }))).toMatch(/cloudInit/);
  });

  it('LAB_VM_SAVED_STATE is on by default, off when told, and anything else is an error naming it', () => {
    expect(savedStateSwitch(undefined)).toBe(true);
    expect(savedStateSwitch('on')).toBe(true);
    expect(savedStateSwitch('off')).toBe(false);
    expect(() => savedStateSwitch('no')).toThrow(/LAB_VM_SAVED_STATE "no".*on or off/);
  });
});
