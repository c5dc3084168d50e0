/**
 * @file ResourceQuota and LimitRange of an instance namespace, from the lab's
 * systems: the quota is what the systems need together, so an instance cannot
 * grow past its lab (a learner starting more pods, a VM asking for more
 * memory); the limit range caps each container at the largest system.
 * A VM runs in a KubeVirt launcher pod that asks for the guest's resources plus
 * KubeVirt's overhead: the overhead is counted, or the launcher would be refused.
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
  const all = systems.map((s) => footprint(s, settings));
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
        // One pod per system (a VM's launcher pod included), one Service per system.
        pods: String(systems.length),
        services: String(systems.length),
        'count/virtualmachines.kubevirt.io': String(vms),
        // Nothing the runtime does not make: no volumes claimed, no load balancers, no node ports.
        persistentvolumeclaims: '0',
        'services.loadbalancers': '0',
        'services.nodeports': '0',
      },
    },
  };
}

export function buildLimitRange(spec: InstanceSpec, namespace: string, settings: ClusterSettings): V1LimitRange {
  const all = spec.systems.map((s) => footprint(s.definition, settings));
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
