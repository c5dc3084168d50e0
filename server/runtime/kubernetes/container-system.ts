/**
 * @file A container system as a Pod and a Service. The Service is headless
 * (no cluster IP) and publishes the pod before it is ready: the system's name
 * resolves to the pod itself, as a host on a LAN would, so every port and
 * ping work, not only declared ports.
 */
import type { V1Pod, V1Service, V1ServicePort } from '@kubernetes/client-node';
import type { SystemDefinition } from '../../domain/lab/schema.js';
import type { InstanceSpec, SystemSpec } from '../runtime.js';
import { ANNOTATION, instanceLabels, LABEL, systemSelector } from './names.js';

/** Port of the VNC server a container system with a desktop console must run. */
export const CONTAINER_VNC_PORT = 5900;
/** Name of the one container of a system's pod (exec and port-forward address it). */
export const SYSTEM_CONTAINER = 'system';

export function systemLabels(spec: InstanceSpec, system: SystemDefinition): Record<string, string> {
  return { ...instanceLabels(spec), [LABEL.system]: system.name };
}

export function systemAnnotations(system: SystemDefinition): Record<string, string> {
  return { [ANNOTATION.consoles]: system.consoles.join(',') };
}

export function buildPod(spec: InstanceSpec, namespace: string, system: SystemSpec): V1Pod {
  const d = system.definition;
  const resources = { cpu: d.resources.cpu, memory: d.resources.memory };
  // No credentials here: as in the local runtime, the driver creates the lab's
  // user through exec once the pod runs, so the password is never in the spec.
  const env = Object.entries(d.env ?? {}).map(([name, value]) => ({ name, value }));
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: d.name, namespace, labels: systemLabels(spec, d), annotations: systemAnnotations(d) },
    spec: {
      hostname: d.name,
      // Learners get no credentials to the cluster, and no variables about its services.
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 5,
      containers: [
        {
          name: SYSTEM_CONTAINER,
          image: d.image,
          ...(d.command ? { command: d.command } : {}),
          ...nonEmpty('env', env),
          ...nonEmpty(
            'ports',
            containerPorts(d).map((p) => ({ name: p.name, containerPort: p.port, protocol: 'TCP' })),
          ),
          resources: { requests: resources, limits: resources },
          securityContext: { privileged: false },
        },
      ],
    },
  };
}

/** The Service of a system, container or VM: its DNS name is the system name. */
export function buildService(spec: InstanceSpec, namespace: string, system: SystemDefinition): V1Service {
  const ports: V1ServicePort[] = containerPorts(system).map((p) => ({
    name: p.name,
    port: p.port,
    targetPort: p.port,
    protocol: 'TCP',
  }));
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: system.name, namespace, labels: systemLabels(spec, system) },
    spec: {
      clusterIP: 'None',
      publishNotReadyAddresses: true,
      selector: systemSelector(spec, system.name),
      ...nonEmpty('ports', ports),
    },
  };
}

/** Declared ports, named for the Service; the VNC port of a container desktop. */
function containerPorts(system: SystemDefinition): { name: string; port: number }[] {
  const ports = (system.ports ?? []).map((port) => ({ name: `http-${port}`, port }));
  if (system.kind === 'container' && system.consoles.includes('desktop') && !system.ports?.includes(CONTAINER_VNC_PORT))
    ports.push({ name: 'vnc', port: CONTAINER_VNC_PORT });
  return ports;
}

/** The API server drops empty lists: leave them out, so what is stored is what was built. */
function nonEmpty<K extends string, T>(key: K, list: T[]): { [P in K]?: T[] } {
  return (list.length > 0 ? { [key]: list } : {}) as { [P in K]?: T[] };
}
