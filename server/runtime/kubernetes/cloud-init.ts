/**
 * @file NoCloud user-data of a VM system: the lab's own `cloudInit` merged
 * with what the instance needs (host name = system name, the generated user
 * and password). A lab's `#cloud-config` is merged key by key (its users come
 * after ours); any other user-data (a shell script) travels beside ours in a
 * MIME multipart, which cloud-init runs both parts of.
 */
import { parse, stringify } from 'yaml';
import type { SystemSpec } from '../runtime.js';
import { RuntimeError } from '../runtime.js';

const BOUNDARY = '==lab-orchestrator-user-data==';

export function buildUserData(system: SystemSpec): string {
  const d = system.definition;
  const ours: Record<string, unknown> = { hostname: d.name, preserve_hostname: false, manage_etc_hosts: true };
  if (system.credentials) {
    const { user, password } = system.credentials;
    ours.users = [{ name: user, lock_passwd: false, shell: '/bin/bash', sudo: 'ALL=(ALL) NOPASSWD:ALL' }];
    ours.chpasswd = { expire: false, users: [{ name: user, password, type: 'text' }] };
    ours.ssh_pwauth = true;
  }
  const theirs = d.cloudInit?.trim();
  if (!theirs) return cloudConfig(ours);
  if (!theirs.startsWith('#cloud-config')) return multipart(cloudConfig(ours), theirs);
  let parsed: unknown;
  try {
    parsed = parse(theirs);
  } catch (err) {
    throw new RuntimeError(`system "${d.name}": cloudInit is not valid YAML: ${(err as Error).message}`, 'bad-spec', {
      cause: err,
    });
  }
  if (parsed === null || parsed === undefined) return cloudConfig(ours);
  if (!isMapping(parsed)) {
    throw new RuntimeError(`system "${d.name}": cloudInit must be a #cloud-config mapping`, 'bad-spec');
  }
  const lab = parsed;
  const merged: Record<string, unknown> = { ...lab, ...ours };
  if (Array.isArray(lab.users) || ours.users) {
    merged.users = [...((ours.users as unknown[]) ?? []), ...(Array.isArray(lab.users) ? lab.users : [])];
  }
  const labChpasswd = isMapping(lab.chpasswd) ? lab.chpasswd : undefined;
  if (labChpasswd && isMapping(ours.chpasswd)) {
    const labUsers = Array.isArray(labChpasswd.users) ? labChpasswd.users : [];
    merged.chpasswd = { ...labChpasswd, ...ours.chpasswd, users: [...(ours.chpasswd.users as unknown[]), ...labUsers] };
  }
  return cloudConfig(merged);
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function cloudConfig(doc: Record<string, unknown>): string {
  return `#cloud-config\n${stringify(doc)}`;
}

function multipart(config: string, other: string): string {
  const type = other.startsWith('#!') ? 'text/x-shellscript' : 'text/plain';
  return [
    `Content-Type: multipart/mixed; boundary="${BOUNDARY}"`,
    'MIME-Version: 1.0',
    '',
    `--${BOUNDARY}`,
    'Content-Type: text/cloud-config; charset="us-ascii"',
    '',
    config,
    `--${BOUNDARY}`,
    `Content-Type: ${type}; charset="us-ascii"`,
    '',
    other,
    `--${BOUNDARY}--`,
    '',
  ].join('\n');
}
