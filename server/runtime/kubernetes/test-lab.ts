/**
 * @file The VM + container lab the kubernetes runtime's tests build instances
 * of (unit tests here, integration tests against a real API server), parsed by
 * the real lab schema so defaults are what a lab author gets.
 */
import { type LabInput, labSchema } from '../../domain/lab/schema.js';
import type { InstanceSpec } from '../runtime.js';

export const VM_AND_CONTAINER_LAB: LabInput = {
  name: 'linux-net-101',
  title: 'Linux networking 101',
  systems: [
    {
      name: 'client',
      kind: 'container',
      image: 'docker.io/library/debian:12',
      command: ['sleep', 'infinity'],
      env: { LAB: 'net' },
      resources: { cpu: '500m', memory: '256Mi' },
    },
    {
      name: 'server',
      kind: 'vm',
      image: 'quay.io/containerdisks/debian:12',
      consoles: ['terminal', 'desktop'],
      resources: { cpu: '1', memory: '1Gi' },
      user: { name: 'student' },
      cloudInit: '#cloud-config\npackages: [nginx]\n',
      ports: [80],
    },
  ],
};

/** The same lab with the VM's root disk imported (lab format `disk`): a CDI DataVolume. */
export function withImportedDisk(source: string, size = '10Gi', input: LabInput = VM_AND_CONTAINER_LAB): LabInput {
  return { ...input, systems: input.systems.map((s) => (s.kind === 'vm' ? { ...s, disk: { source, size } } : s)) };
}

export function instanceOf(
  input: LabInput = VM_AND_CONTAINER_LAB,
  id = 'i-0001',
  owner = 'learner@example.org',
): InstanceSpec {
  const definition = labSchema.parse(input);
  return {
    id,
    owner,
    lab: { name: definition.name, version: 3, definition },
    systems: definition.systems.map((system) => ({
      definition: system,
      ...(system.user ? { credentials: { user: system.user.name, password: 'correct-horse-7' } } : {}),
    })),
  };
}
