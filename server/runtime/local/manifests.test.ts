import { describe, expect, it } from 'vitest';
import { labSchema } from '../../domain/lab/schema.js';
import type { InstanceSpec } from '../runtime.js';
import { subnetOf } from './addressing.js';
import { containerOptions, KEPT_CAPABILITIES, memoryBytes, nanoCpus, networkOptions } from './manifests.js';

const definition = labSchema.parse({
  name: 'net-101',
  title: 'Net 101',
  systems: [
    { name: 'client', kind: 'container', image: 'lab-orchestrator/shell', resources: { cpu: '1500m', memory: '1Gi' } },
    { name: 'server', kind: 'vm', image: 'lab/debian-vm', user: { name: 'student' } },
    {
      name: 'web',
      kind: 'container',
      image: 'lab-orchestrator/shell',
      env: { MODE: 'demo' },
      command: ['sleep', '1d'],
    },
  ],
});
const spec: InstanceSpec = {
  id: 'i-42',
  owner: 'u-1',
  lab: { name: definition.name, version: 3, definition },
  systems: definition.systems.map((d) => ({ definition: d })),
};
const subnet = subnetOf('10.123.4');

describe('what the local runtime asks the engine for', () => {
  it('converts resource quantities', () => {
    expect(nanoCpus('500m')).toBe(500_000_000);
    expect(nanoCpus('2')).toBe(2_000_000_000);
    expect(memoryBytes('256Mi')).toBe(256 * 1024 * 1024);
    expect(memoryBytes('1Gi')).toBe(1024 ** 3);
  });

  it('an internal network with the chosen subnet, a known bridge and the lab recorded', () => {
    const net = networkOptions(spec, subnet, 'default');
    expect(net).toMatchObject({
      Name: 'labo-i-42',
      Internal: true,
      IPAM: { Config: [{ Subnet: '10.123.4.0/24', Gateway: '10.123.4.1' }] },
      Labels: {
        'lab-orchestrator.instance': 'i-42',
        'lab-orchestrator.lab': 'net-101',
        'lab-orchestrator.owner': 'u-1',
        'lab-orchestrator.scope': 'default',
      },
    });
    expect(net.Options?.['com.docker.network.bridge.name']).toMatch(/^lob[0-9a-f]{11}$/);
    expect(JSON.parse(net.Labels?.['lab-orchestrator.systems'] ?? '')).toEqual([
      { name: 'client', kind: 'container', consoles: ['terminal'] },
      { name: 'server', kind: 'vm', consoles: ['terminal'] },
      { name: 'web', kind: 'container', consoles: ['terminal'] },
    ]);
  });

  it('a network with a way out only when the lab asks for internet', () => {
    const open = { ...spec, lab: { ...spec.lab, definition: { ...definition, network: { internet: true } } } };
    expect(networkOptions(open, subnet, 'default').Internal).toBe(false);
  });

  it('a container named, limited, unprivileged, on the instance network under its system name', () => {
    const [client, , web] = spec.systems;
    if (!client || !web) throw new Error('lab fixture');
    const options = containerOptions(spec, client, subnet, 'default');
    expect(options).toMatchObject({
      name: 'labo-i-42-client',
      Image: 'lab-orchestrator/shell',
      Hostname: 'client',
      HostConfig: {
        NetworkMode: 'labo-i-42',
        NanoCpus: 1_500_000_000,
        Memory: 1024 ** 3,
        Privileged: false,
        CapDrop: ['ALL'],
        CapAdd: KEPT_CAPABILITIES,
        ExtraHosts: ['server:10.123.4.11'],
      },
      NetworkingConfig: {
        EndpointsConfig: { 'labo-i-42': { Aliases: ['client'], IPAMConfig: { IPv4Address: '10.123.4.10' } } },
      },
      Labels: { 'lab-orchestrator.system': 'client', 'lab-orchestrator.instance': 'i-42' },
    });
    expect(KEPT_CAPABILITIES).not.toContain('SYS_ADMIN');
    expect(options.Cmd).toBeUndefined();
    const webOptions = containerOptions(spec, web, subnet, 'default');
    expect(webOptions.Cmd).toEqual(['sleep', '1d']);
    expect(webOptions.Env).toEqual(['MODE=demo']);
    expect(webOptions.NetworkingConfig?.EndpointsConfig?.['labo-i-42']?.IPAMConfig?.IPv4Address).toBe('10.123.4.12');
  });
});
