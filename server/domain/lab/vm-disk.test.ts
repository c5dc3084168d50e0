/** The `disk` of a VM system (schema.ts vmDisk): what is accepted, and errors that name the field. */
import { describe, expect, it } from 'vitest';
import { labSchema } from './schema.js';

function lab(system: Record<string, unknown>) {
  return { name: 'disks', title: 'Disks', systems: [{ name: 'server', kind: 'vm', image: 'lab/vm', ...system }] };
}

function problems(input: unknown): string[] {
  const result = labSchema.safeParse(input);
  return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('VM disk', () => {
  it('accepts an http(s) URL or a docker:// image with a size', () => {
    for (const source of [
      'https://cloud.example.org/images/debian-12-genericcloud-amd64.qcow2',
      'http://10.0.0.5:8080/disk.img.xz',
      'docker://quay.io/containerdisks/debian:12',
    ]) {
      const parsed = labSchema.parse(lab({ disk: { source, size: '10Gi' } }));
      expect(parsed.systems[0]?.disk).toEqual({ source, size: '10Gi' });
    }
  });

  it('is optional', () => {
    expect(labSchema.parse(lab({})).systems[0]?.disk).toBeUndefined();
  });

  it('names the field and the reason when the source or size is wrong', () => {
    expect(problems(lab({ disk: { source: 'quay.io/containerdisks/debian:12', size: '10Gi' } }))).toEqual([
      'systems.0.disk.source: expected an http(s):// URL of a disk image or docker://REGISTRY/IMAGE of a containerDisk image',
    ]);
    expect(problems(lab({ disk: { source: 'ftp://example.org/disk.img', size: '10GB' } }))).toEqual([
      'systems.0.disk.source: expected an http(s):// URL of a disk image or docker://REGISTRY/IMAGE of a containerDisk image',
      'systems.0.disk.size: expected a disk size such as "10Gi"',
    ]);
    expect(problems(lab({ disk: { source: 'https://example.org/disk.img' } }))).toEqual([
      'systems.0.disk.size: Invalid input: expected string, received undefined',
    ]);
  });

  it('is only for VMs', () => {
    const input = lab({ kind: 'container', disk: { source: 'https://example.org/disk.img', size: '1Gi' } });
    expect(problems(input)).toEqual(['systems.0.disk: disk is only for systems of kind "vm"']);
  });
});
