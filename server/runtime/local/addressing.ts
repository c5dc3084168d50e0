/**
 * @file Addresses of an instance network. Every instance gets its own /24 out
 * of a private pool, chosen here instead of by the engine, because VMs are not
 * containers: they join the bridge through a tap and need a fixed address, and
 * every system (container or VM) must know every other's address before it
 * starts (VMs read /etc/hosts from cloud-init). So each system gets a fixed
 * address by its position in the lab.
 */
import { RuntimeError } from '../runtime.js';

export interface Subnet {
  /** e.g. `10.123.7.0/24` */
  cidr: string;
  /** e.g. `10.123.7.1` */
  gateway: string;
  /** The first three octets, e.g. `10.123.7`. */
  prefix: string;
}

/** The first address given to a system; below it: the gateway and room for the engine. */
const FIRST_HOST = 10;
const MAX_SYSTEMS = 240;

/** Parses a pool such as `10.123.0.0/16` into the first two octets. */
export function parsePool(pool: string): [number, number] {
  const m = /^(\d{1,3})\.(\d{1,3})\.0\.0\/16$/.exec(pool);
  const a = Number(m?.[1]);
  const b = Number(m?.[2]);
  if (!m || a > 255 || b > 255) {
    throw new RuntimeError(`subnet pool "${pool}" is not usable: expected a /16 such as "10.123.0.0/16"`, 'bad-spec');
  }
  return [a, b];
}

export function subnetOf(prefix: string): Subnet {
  return { cidr: `${prefix}.0/24`, gateway: `${prefix}.1`, prefix };
}

/** Parses `10.123.7.0/24` back; undefined for anything that is not a /24 of IPv4. */
export function parseSubnet(cidr: string | undefined): Subnet | undefined {
  const m = /^(\d{1,3}\.\d{1,3}\.\d{1,3})\.0\/24$/.exec(cidr ?? '');
  return m?.[1] ? subnetOf(m[1]) : undefined;
}

/** True when two IPv4 CIDRs share an address. */
export function overlaps(a: string, b: string): boolean {
  const range = (cidr: string): [number, number] | undefined => {
    const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr);
    if (!m) return undefined;
    const ip = ((+m[1]! << 24) | (+m[2]! << 16) | (+m[3]! << 8) | +m[4]!) >>> 0;
    const bits = +m[5]!;
    const size = 2 ** (32 - bits);
    const start = ip - (ip % size);
    return [start, start + size - 1];
  };
  const ra = range(a);
  const rb = range(b);
  if (!ra || !rb) return false;
  return ra[0] <= rb[1] && rb[0] <= ra[1];
}

/**
 * The first /24 of the pool that overlaps none of the subnets in use.
 * `skip` lets a caller move past one the engine refused.
 */
export function pickSubnet(pool: string, used: string[], skip = 0): Subnet {
  const [a, b] = parsePool(pool);
  let skipped = 0;
  for (let c = 0; c < 256; c++) {
    const candidate = subnetOf(`${a}.${b}.${c}`);
    if (used.some((u) => overlaps(u, candidate.cidr))) continue;
    if (skipped++ < skip) continue;
    return candidate;
  }
  throw new RuntimeError(`no free subnet left in ${pool}: too many instances on this machine`, 'unavailable');
}

/** The fixed address of the system at `index` in the lab. */
export function systemAddress(subnet: Subnet, index: number): string {
  if (index < 0 || index >= MAX_SYSTEMS) {
    throw new RuntimeError(`a lab has at most ${MAX_SYSTEMS} systems on the local runtime`, 'bad-spec');
  }
  return `${subnet.prefix}.${FIRST_HOST + index}`;
}
