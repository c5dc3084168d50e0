/**
 * @file What the local runtime asks the engine to create, as pure functions of
 * the instance spec (tested without an engine). Only Docker Engine API fields
 * that Docker and Podman's compatible socket both honour.
 */
import type Docker from 'dockerode';
import type { InstanceSpec, SystemSpec } from '../runtime.js';
import { type Subnet, systemAddress } from './addressing.js';
import { bridgeName, containerName, LABEL, networkName } from './names.js';

/**
 * Capabilities a lab container keeps; everything else is dropped. Docker's
 * default set minus MKNOD and SETFCAP: enough for a root shell to manage users
 * and files (CHOWN, DAC_OVERRIDE, FOWNER, FSETID, SETUID, SETGID, SETPCAP),
 * su/login (AUDIT_WRITE, SYS_CHROOT), kill its processes (KILL), bind low ports
 * (NET_BIND_SERVICE), and ping/traceroute/tcpdump (NET_RAW) — networking labs
 * need raw sockets, and the network is the instance's own.
 */
export const KEPT_CAPABILITIES = [
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'FSETID',
  'KILL',
  'SETGID',
  'SETUID',
  'SETPCAP',
  'NET_BIND_SERVICE',
  'NET_RAW',
  'SYS_CHROOT',
  'AUDIT_WRITE',
];

/** Upper bound of processes in one container: a fork bomb stays inside. */
export const PIDS_LIMIT = 1024;

/** "500m" → 0.5e9, "2" → 2e9 (Docker's NanoCpus). */
export function nanoCpus(cpu: string): number {
  return cpu.endsWith('m') ? Number(cpu.slice(0, -1)) * 1e6 : Math.round(Number(cpu) * 1e9);
}

/** "256Mi" → bytes. */
export function memoryBytes(memory: string): number {
  const unit = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30 }[memory.slice(-2) as 'Ki' | 'Mi' | 'Gi'];
  return Number(memory.slice(0, -2)) * unit;
}

/** What `status` needs to name every system of the lab, even one whose container is gone. */
export interface SystemSummary {
  name: string;
  kind: 'container' | 'vm';
  consoles: Array<'terminal' | 'desktop'>;
}

export function instanceLabels(spec: InstanceSpec, scope: string): Record<string, string> {
  return { [LABEL.instance]: spec.id, [LABEL.lab]: spec.lab.name, [LABEL.owner]: spec.owner, [LABEL.scope]: scope };
}

export function networkOptions(spec: InstanceSpec, subnet: Subnet, scope: string): Docker.NetworkCreateOptions {
  const systems: SystemSummary[] = spec.systems.map(({ definition: d }) => ({
    name: d.name,
    kind: d.kind,
    consoles: d.consoles,
  }));
  return {
    Name: networkName(spec.id),
    Driver: 'bridge',
    CheckDuplicate: true,
    // Without internet the bridge has no route out: systems reach each other only.
    Internal: !spec.lab.definition.network.internet,
    EnableIPv6: false,
    IPAM: { Driver: 'default', Config: [{ Subnet: subnet.cidr, Gateway: subnet.gateway }] },
    // A known bridge name lets the VM driver attach its taps to this network. `isolate`: Podman
    // (netavark) otherwise routes between two bridges with a way out, so instance A could reach
    // B when both labs ask for internet (measured); Docker isolates bridges by default.
    Options: { 'com.docker.network.bridge.name': bridgeName(spec.id), isolate: 'true' },
    Labels: { ...instanceLabels(spec, scope), [LABEL.systems]: JSON.stringify(systems) },
  };
}

/** Address of every system of the instance, by name (for /etc/hosts of VMs and ExtraHosts of containers). */
export function hostsOf(spec: InstanceSpec, subnet: Subnet): Record<string, string> {
  return Object.fromEntries(spec.systems.map((s, i) => [s.definition.name, systemAddress(subnet, i)]));
}

export function containerOptions(
  spec: InstanceSpec,
  system: SystemSpec,
  subnet: Subnet,
  scope: string,
): Docker.ContainerCreateOptions {
  const d = system.definition;
  const index = spec.systems.findIndex((s) => s.definition.name === d.name);
  const hosts = hostsOf(spec, subnet);
  // Containers find each other through the engine's DNS (aliases); VMs are not
  // registered there, so their names go to /etc/hosts.
  const vmHosts = spec.systems
    .filter((s) => s.definition.kind === 'vm')
    .map((s) => `${s.definition.name}:${hosts[s.definition.name]}`);
  const net = networkName(spec.id);
  return {
    name: containerName(spec.id, d.name),
    Image: d.image,
    Hostname: d.name,
    ...(d.command ? { Cmd: d.command } : {}),
    Env: Object.entries(d.env ?? {}).map(([k, v]) => `${k}=${v}`),
    Labels: {
      ...instanceLabels(spec, scope),
      [LABEL.system]: d.name,
      [LABEL.consoles]: d.consoles.join(','),
      ...(system.credentials ? { [LABEL.user]: system.credentials.user } : {}),
    },
    Tty: false,
    OpenStdin: false,
    HostConfig: {
      NetworkMode: net,
      NanoCpus: nanoCpus(d.resources.cpu),
      Memory: memoryBytes(d.resources.memory),
      PidsLimit: PIDS_LIMIT,
      Privileged: false,
      CapDrop: ['ALL'],
      CapAdd: KEPT_CAPABILITIES,
      // Unprivileged users may ping (ICMP datagram sockets), as on a Debian desktop.
      Sysctls: { 'net.ipv4.ping_group_range': '0 2147483647' },
      ExtraHosts: vmHosts,
      RestartPolicy: { Name: 'no' },
    },
    NetworkingConfig: {
      EndpointsConfig: {
        [net]: { Aliases: [d.name], IPAMConfig: { IPv4Address: systemAddress(subnet, index) } },
      },
    },
  };
}
