/**
 * @file What a VM is made of, checked once before anything is created:
 * memory and CPUs from the lab's resources, and a network whose every value
 * is safe to put on a kernel command line and into cloud-init.
 */
import { RuntimeError, type SystemSpec } from '../../runtime.js';
import type { VmNetwork } from '../vm-driver.js';

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const HOST = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/i;
const BRIDGE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/;

export function checkNetwork(net: VmNetwork): void {
  const bad = (field: string, value: string, expected: string) =>
    new RuntimeError(`VM network ${field} "${value}" is not usable: expected ${expected}`, 'bad-spec');
  if (!BRIDGE.test(net.bridge)) throw bad('bridge', net.bridge, 'a Linux interface name of at most 15 characters');
  const [ip, prefix] = net.address.split('/');
  if (!IPV4.test(ip ?? '') || !/^\d+$/.test(prefix ?? '') || Number(prefix) > 32) {
    throw bad('address', net.address, 'an IPv4 address in CIDR form such as 10.89.7.10/24');
  }
  if (net.gateway !== undefined && !IPV4.test(net.gateway)) throw bad('gateway', net.gateway, 'an IPv4 address');
  if (net.dns !== undefined && !IPV4.test(net.dns)) throw bad('dns', net.dns, 'an IPv4 address');
  for (const [name, addr] of Object.entries(net.hosts)) {
    if (!HOST.test(name)) throw bad(`hosts name`, name, 'a DNS label');
    if (!IPV4.test(addr)) throw bad(`hosts["${name}"]`, addr, 'an IPv4 address');
  }
}

/** MiB of RAM: the lab's request, but never below what the image needs to boot. */
export function memoryMiB(system: SystemSpec, minimum: number): number {
  const text = system.definition.resources?.memory ?? '256Mi';
  const m = /^(\d+)(Ki|Mi|Gi)$/.exec(text);
  const mib = m
    ? Math.ceil((Number(m[1]) * { Ki: 1 / 1024, Mi: 1, Gi: 1024 }[m[2] as 'Ki' | 'Mi' | 'Gi']) as number)
    : 256;
  return Math.max(mib, minimum);
}

/** Whole virtual CPUs: "500m" → 1, "2" → 2. */
export function cpuCount(system: SystemSpec): number {
  const text = system.definition.resources?.cpu ?? '500m';
  const cpus = text.endsWith('m') ? Number(text.slice(0, -1)) / 1000 : Number(text);
  return Number.isFinite(cpus) ? Math.max(1, Math.ceil(cpus)) : 1;
}
