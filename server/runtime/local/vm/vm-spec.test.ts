import { describe, expect, it } from 'vitest';
import { systemSchema } from '../../../domain/lab/schema.js';
import { checkNetwork, cpuCount, memoryMiB } from './vm-spec.js';

const net = { bridge: 'lob123', address: '10.1.2.10/24', hosts: { server: '10.1.2.10' } };
const system = (resources: { cpu?: string; memory?: string }) => ({
  definition: systemSchema.parse({ name: 'server', kind: 'vm', image: 'x', resources }),
});

describe('VM spec checks', () => {
  it('accepts a plain instance network', () => {
    expect(() => checkNetwork(net)).not.toThrow();
  });

  it('names the field and the reason for values unsafe on a kernel command line', () => {
    expect(() => checkNetwork({ ...net, address: '10.1.2.10' })).toThrow(/address "10.1.2.10" is not usable/);
    expect(() => checkNetwork({ ...net, gateway: '10.1.2.1 init=/bin/sh' })).toThrow(/gateway/);
    expect(() => checkNetwork({ ...net, hosts: { 'a b': '10.1.2.3' } })).toThrow(/hosts name "a b"/);
    expect(() => checkNetwork({ ...net, hosts: { ok: '10.1.2.999' } })).toThrow(/hosts\["ok"\]/);
    expect(() => checkNetwork({ ...net, bridge: 'a-bridge-name-too-long' })).toThrow(/bridge/);
  });

  it('sizes memory from the lab but never below the image minimum, and CPUs in whole units', () => {
    expect(memoryMiB(system({ memory: '1Gi' }), 128)).toBe(1024);
    expect(memoryMiB(system({ memory: '64Mi' }), 128)).toBe(128);
    expect(cpuCount(system({ cpu: '500m' }))).toBe(1);
    expect(cpuCount(system({ cpu: '2' }))).toBe(2);
    expect(cpuCount(system({ cpu: '1500m' }))).toBe(2);
  });
});
