/**
 * @file Everything the kubernetes runtime creates for one instance, as plain
 * objects built from the InstanceSpec alone (pure: no I/O, no cluster). The
 * driver creates them in the order given; this is also what tests check
 * against a real API server.
 */
import type {
  KubernetesObject,
  V1LimitRange,
  V1Namespace,
  V1NetworkPolicy,
  V1Pod,
  V1ResourceQuota,
  V1Service,
} from '@kubernetes/client-node';
import type { InstanceSpec } from '../runtime.js';
import { RuntimeError } from '../runtime.js';
import { buildPod, buildService } from './container-system.js';
import { ANNOTATION, type ClusterSettings, DEFAULT_CLUSTER_SETTINGS, instanceLabels, namespaceName } from './names.js';
import { buildNetworkPolicies } from './network-policies.js';
import { buildLimitRange, buildResourceQuota } from './resources.js';
import { buildVirtualMachine, type VirtualMachine } from './virtual-machine.js';

export interface InstanceManifests {
  namespace: V1Namespace;
  networkPolicies: V1NetworkPolicy[];
  resourceQuota: V1ResourceQuota;
  limitRange: V1LimitRange;
  pods: V1Pod[];
  virtualMachines: VirtualMachine[];
  services: V1Service[];
}

export function buildNamespace(spec: InstanceSpec, settings: ClusterSettings): V1Namespace {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name: namespaceName(spec.id, settings),
      labels: instanceLabels(spec),
      annotations: { [ANNOTATION.user]: spec.owner },
    },
  };
}

export function buildInstanceManifests(
  spec: InstanceSpec,
  settings: ClusterSettings = DEFAULT_CLUSTER_SETTINGS,
): InstanceManifests {
  checkSpec(spec);
  const namespace = buildNamespace(spec, settings);
  const ns = namespace.metadata?.name as string;
  const containers = spec.systems.filter((s) => s.definition.kind === 'container');
  const vms = spec.systems.filter((s) => s.definition.kind === 'vm');
  return {
    namespace,
    networkPolicies: buildNetworkPolicies(spec, ns, settings),
    resourceQuota: buildResourceQuota(spec, ns, settings),
    limitRange: buildLimitRange(spec, ns, settings),
    pods: containers.map((s) => buildPod(spec, ns, s)),
    virtualMachines: vms.map((s) => buildVirtualMachine(spec, ns, s, settings)),
    services: spec.systems.map((s) => buildService(spec, ns, s.definition)),
  };
}

/**
 * In creation order: the namespace, then what constrains the namespace
 * (isolation and quota first, so no workload ever runs unconstrained), then
 * the services and the workloads.
 */
export function manifestList(m: InstanceManifests): KubernetesObject[] {
  return [
    m.namespace,
    ...m.networkPolicies,
    m.resourceQuota,
    m.limitRange,
    ...m.services,
    ...m.pods,
    ...m.virtualMachines,
  ];
}

function checkSpec(spec: InstanceSpec): void {
  if (spec.systems.length === 0) throw new RuntimeError(`instance ${spec.id}: no systems to create`, 'bad-spec');
  const seen = new Set<string>();
  for (const s of spec.systems) {
    if (seen.has(s.definition.name))
      throw new RuntimeError(`instance ${spec.id}: duplicate system name "${s.definition.name}"`, 'bad-spec');
    seen.add(s.definition.name);
    if (s.definition.user && !s.credentials)
      throw new RuntimeError(
        `instance ${spec.id}: system "${s.definition.name}" has a user but no generated credentials`,
        'bad-spec',
      );
  }
}
