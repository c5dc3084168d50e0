/**
 * @file Names and labels of what the local runtime creates. Everything carries
 * the labels, so `list()` and `destroy()` find what exists from the engine
 * alone (after a crash, nothing else remembers it).
 */
import { createHash } from 'node:crypto';
import { RuntimeError } from '../runtime.js';

export const LABEL = {
  instance: 'lab-orchestrator.instance',
  system: 'lab-orchestrator.system',
  lab: 'lab-orchestrator.lab',
  owner: 'lab-orchestrator.owner',
  /**
   * Which server (or test run) owns the object: several can share one engine,
   * and each one's reconciler must only see, and reap, its own instances.
   */
  scope: 'lab-orchestrator.scope',
  /** On a container: the Unix user a terminal logs in as. */
  user: 'lab-orchestrator.user',
  /** On a container: its consoles, comma-separated. */
  consoles: 'lab-orchestrator.consoles',
  /** On the network: JSON list of the lab's systems (name, kind, consoles), so status can name missing ones. */
  systems: 'lab-orchestrator.systems',
} as const;

/** Instance ids end up in container, network and interface names: keep them to a safe alphabet. */
const INSTANCE_ID = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;

export function checkInstanceId(id: string): void {
  if (!INSTANCE_ID.test(id)) {
    throw new RuntimeError(
      `instance id "${id}" is not usable: expected 1 to 63 letters, digits, ".", "_" or "-", starting with a letter or digit`,
      'bad-spec',
    );
  }
}

export const networkName = (instanceId: string) => `labo-${instanceId}`;
export const containerName = (instanceId: string, system: string) => `labo-${instanceId}-${system}`;

/** Linux interface names have at most 15 characters: a hash keeps them unique and short. */
export const bridgeName = (instanceId: string) =>
  `lob${createHash('sha256').update(instanceId).digest('hex').slice(0, 11)}`;
