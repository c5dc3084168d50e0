/**
 * @file The cloud-init NoCloud seed of a VM: its user and password, host
 * name, static address and /etc/hosts. Pure builders (tested without QEMU)
 * plus the writer that packs them with `cloud-localds`.
 *
 * The seed stays attached on every boot: without it cloud-init falls back
 * to DHCP and waits ~90 s. /etc/hosts: `manage_etc_hosts: true` re-renders
 * the file from cloud-init's template at every boot, so the lab's hosts go
 * into that template (write_files runs before update_etc_hosts).
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse, stringify } from 'yaml';
import { RuntimeError } from '../../runtime.js';
import type { VmNetwork } from '../vm-driver.js';

export interface SeedInput {
  instanceId: string;
  hostname: string;
  mac: string;
  net: VmNetwork;
  user?: { name: string; password: string };
  /** The lab's own `#cloud-config`, merged in (lists appended, other keys win except the host name). */
  cloudInit?: string;
}

export function metaData(input: SeedInput, bootId: string): string {
  return stringify({
    'instance-id': `${input.instanceId}.${input.hostname}.${bootId}`,
    'local-hostname': input.hostname,
  });
}

export function networkConfig(input: SeedInput): string {
  const { net } = input;
  return stringify({
    version: 2,
    ethernets: {
      lab: {
        match: { macaddress: input.mac },
        addresses: [net.address],
        ...(net.gateway ? { routes: [{ to: '0.0.0.0/0', via: net.gateway }] } : {}),
        ...(net.dns ? { nameservers: { addresses: [net.dns] } } : {}),
      },
    },
  });
}

export function hostsFile(input: SeedInput): string {
  const lines = ['## template:jinja', '127.0.0.1 localhost', '::1 localhost ip6-localhost ip6-loopback'];
  if (!(input.hostname in input.net.hosts)) lines.push(`${input.net.address.split('/')[0]} {{hostname}}`);
  for (const [name, ip] of Object.entries(input.net.hosts)) lines.push(`${ip} ${name}`);
  return `${lines.join('\n')}\n`;
}

export function userData(input: SeedInput): string {
  const ours: Record<string, unknown> = {
    hostname: input.hostname,
    manage_etc_hosts: true,
    write_files: [{ path: '/etc/cloud/templates/hosts.debian.tmpl', content: hostsFile(input) }],
    ...(input.user
      ? {
          users: [
            {
              name: input.user.name,
              lock_passwd: false,
              plain_text_passwd: input.user.password,
              shell: '/bin/bash',
              sudo: 'ALL=(ALL) NOPASSWD:ALL',
            },
          ],
          ssh_pwauth: true,
        }
      : {}),
  };
  const theirs = labCloudConfig(input.cloudInit);
  const merged: Record<string, unknown> = { ...ours };
  for (const [key, value] of Object.entries(theirs)) {
    if (key === 'hostname' || key === 'fqdn') continue;
    const mine = merged[key];
    merged[key] = Array.isArray(mine) && Array.isArray(value) ? [...mine, ...value] : value;
  }
  return `#cloud-config\n${stringify(merged)}`;
}

function labCloudConfig(text: string | undefined): Record<string, unknown> {
  if (!text?.trim()) return {};
  let value: unknown;
  try {
    value = parse(text);
  } catch (err) {
    throw new RuntimeError(`cloudInit is not valid YAML: ${(err as Error).message}`, 'bad-spec');
  }
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new RuntimeError('cloudInit must be a #cloud-config mapping (keys such as packages, runcmd)', 'bad-spec');
  }
  return value as Record<string, unknown>;
}

/** The kernel command line part read by tiny-vm's start-up (Debian ignores it). */
export function kernelIdentity(input: SeedInput): string {
  const hosts = Object.entries(input.net.hosts)
    .map(([name, ip]) => `${name}=${ip}`)
    .join(',');
  return [
    `lab.hostname=${input.hostname}`,
    `lab.address=${input.net.address}`,
    ...(input.net.gateway ? [`lab.gateway=${input.net.gateway}`] : []),
    ...(input.net.dns ? [`lab.dns=${input.net.dns}`] : []),
    ...(hosts ? [`lab.hosts=${hosts}`] : []),
  ].join(' ');
}

/** Writes `seed.img` (a NoCloud `cidata` volume) into `dir`. */
export async function writeSeed(dir: string, input: SeedInput, bootId: string): Promise<string> {
  const files = {
    user: path.join(dir, 'user-data'),
    meta: path.join(dir, 'meta-data'),
    network: path.join(dir, 'network-config'),
  };
  await writeFile(files.user, userData(input), { mode: 0o600 });
  await writeFile(files.meta, metaData(input, bootId));
  await writeFile(files.network, networkConfig(input));
  const seed = path.join(dir, 'seed.img');
  try {
    await promisify(execFile)('cloud-localds', [`--network-config=${files.network}`, seed, files.user, files.meta]);
  } catch (err) {
    throw new RuntimeError(
      `cannot make the cloud-init seed (is cloud-image-utils installed?): ${(err as Error).message}`,
      'unavailable',
      { cause: err },
    );
  }
  return seed;
}
