/**
 * @file What the local runtime's integration tests need on this machine:
 * Podman's API socket (scripts/podman-service.sh) and the lab images
 * (deploy/images/build.sh, a no-op when they are up to date). Sets DOCKER_HOST
 * and CONTAINERS_CONF for the test process, so a test run works from a fresh
 * clone as well as after scripts/test.sh started the service.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { type LabInput, labSchema } from '../../server/domain/lab/schema.js';
import type { InstanceSpec } from '../../server/runtime/runtime.js';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));

/** Starts the service (idempotent), exports its environment here, and builds the images. */
export function prepareLocalRuntime(images: string[] = ['shell', 'desktop']): void {
  const exports = execFileSync(`${REPO}scripts/podman-service.sh`, ['start'], { encoding: 'utf8' });
  for (const line of exports.split('\n')) {
    const m = /^export (\w+)=(.*)$/.exec(line.trim());
    if (m?.[1] && m[2] !== undefined) process.env[m[1]] = m[2];
  }
  execFileSync(`${REPO}deploy/images/build.sh`, images, { stdio: ['ignore', 'inherit', 'inherit'] });
}

/** A fresh instance id per test run, so runs never meet each other's leftovers. */
export const newInstanceId = (tag: string) => `t${Date.now().toString(36)}${randomBytes(2).toString('hex')}-${tag}`;

/** An instance spec for a lab written as in YAML (validated by the real schema). */
export function instanceOf(id: string, lab: LabInput, password = 'secret-pw-1'): InstanceSpec {
  const definition = labSchema.parse(lab);
  return {
    id,
    owner: 'learner-1',
    lab: { name: definition.name, version: 1, definition },
    systems: definition.systems.map((d) => ({
      definition: d,
      ...(d.user ? { credentials: { user: d.user.name, password } } : {}),
    })),
  };
}

/** `podman` CLI output, for checking what exists independently of the runtime. */
export function podman(...args: string[]): string {
  return execFileSync('podman', args, { encoding: 'utf8' });
}
