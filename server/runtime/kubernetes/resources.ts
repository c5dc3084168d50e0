/**
 * @file ResourceQuota and LimitRange of an instance namespace, from the lab's
 * systems: the quota is what the systems need together, so an instance cannot
 * grow past its lab (a learner starting more pods, a VM asking for more
 * memory); the limit range caps each container at the largest system.
 * A VM runs in a KubeVirt launcher pod that asks for the guest's resources plus
 * KubeVirt's overhead: the overhead is counted, or the launcher would be refused.
 * A VM disk imported by CDI (lab format `disk`) adds CDI's importer pod while it
 * imports, the disk's claim, and a scratch claim of the same size that CDI
 * uses for registry and some HTTP imports: all counted, or the import would be refused.
 */
import type { V1LimitRange, V1ResourceQuota } from '@kubernetes/client-node';
import type { SystemDefinition } from '../../domain/lab/schema.js';
import type { InstanceSpec } from '../runtime.js';
import { type ClusterSettings, instanceLabels } from './names.js';
import { cpuMillis, formatCpu, formatMemory, memoryKi } from './quantity.js';

export const QUOTA_NAME = 'instance';
export const LIMIT_RANGE_NAME = 'instance';

/** Requests of containers that name none (KubeVirt's sidecars, for instance). */
const SMALL_DEFAULT = { cpu: '100m', memory: '64Mi' };

interface Footprint {
  cpu: number;
  memoryKi: number;
}

/** What CDI's importer pod of one imported disk may use. */
function importerFootprint(settings: ClusterSettings): Footprint {
  return { cpu: cpuMillis(settings.diskImport.cpu), memoryKi: memoryKi(settings.diskImport.memory) };
}

/** Sizes of the imported disks (lab `disk.size`), in KiB. */
function importedDisksKi(systems: SystemDefinition[]): number[] {
  return systems.flatMap((s) => (s.kind === 'vm' && s.disk ? [memoryKi(s.disk.size)] : []));
}

/** What one system's pod asks for. */
function footprint(system: SystemDefinition, settings: ClusterSettings): Footprint {
  const overhead = system.kind === 'vm';
  return {
    cpu: cpuMillis(system.resources.cpu) + (overhead ? cpuMillis(settings.vmOverhead.cpu) : 0),
    memoryKi: memoryKi(system.resources.memory) + (overhead ? memoryKi(settings.vmOverhead.memory) : 0),
  };
}

export function buildResourceQuota(spec: InstanceSpec, namespace: string, settings: ClusterSettings): V1ResourceQuota {
  const systems = spec.systems.map((s) => s.definition);
  const disks = importedDisksKi(systems);
  const all = [...systems.map((s) => footprint(s, settings)), ...disks.map(() => importerFootprint(settings))];
  const cpu = formatCpu(all.reduce((sum, f) => sum + f.cpu, 0));
  const memory = formatMemory(all.reduce((sum, f) => sum + f.memoryKi, 0));
  const vms = systems.filter((s) => s.kind === 'vm').length;
  return {
    apiVersion: 'v1',
    kind: 'ResourceQuota',
    metadata: { name: QUOTA_NAME, namespace, labels: instanceLabels(spec) },
    spec: {
      hard: {
        'requests.cpu': cpu,
        'requests.memory': memory,
        'limits.cpu': cpu,
        'limits.memory': memory,
        // One pod per system (a VM's launcher pod included) and per disk import, one Service per system.
        pods: String(systems.length + disks.length),
        services: String(systems.length),
        'count/virtualmachines.kubevirt.io': String(vms),
        // Nothing the runtime does not make: claims only for imported disks (the disk and
        // CDI's scratch space), no load balancers, no node ports.
        persistentvolumeclaims: String(2 * disks.length),
        ...(disks.length > 0 ? { 'requests.storage': formatMemory(2 * disks.reduce((a, b) => a + b, 0)) } : {}),
        'services.loadbalancers': '0',
        'services.nodeports': '0',
      },
    },
  };
}

export function buildLimitRange(spec: InstanceSpec, namespace: string, settings: ClusterSettings): V1LimitRange {
  const systems = spec.systems.map((s) => s.definition);
  const all = [
    ...systems.map((s) => footprint(s, settings)),
    ...importedDisksKi(systems).map(() => importerFootprint(settings)),
  ];
  const max = {
    cpu: formatCpu(Math.max(...all.map((f) => f.cpu))),
    memory: formatMemory(Math.max(...all.map((f) => f.memoryKi))),
  };
  return {
    apiVersion: 'v1',
    kind: 'LimitRange',
    metadata: { name: LIMIT_RANGE_NAME, namespace, labels: instanceLabels(spec) },
    spec: {
      limits: [{ type: 'Container', max, _default: SMALL_DEFAULT, defaultRequest: SMALL_DEFAULT }],
    },
  };
}
