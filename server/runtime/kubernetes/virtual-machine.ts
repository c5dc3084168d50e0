/**
 * @file A VM system as a `kubevirt.io/v1` VirtualMachine: the root disk from a
 * containerDisk image, or imported by CDI when the lab names a `disk`
 * (data-volume.ts), NoCloud user-data, masquerade networking on the pod network (so the
 * system's headless Service reaches it like a container), serial console
 * always, VNC when the lab asks for a desktop. The types describe the part of
 * KubeVirt's schema this runtime writes and reads; the API server validates
 * the whole against KubeVirt's CRD.
 */
import type { V1ObjectMeta } from '@kubernetes/client-node';
import type { InstanceSpec, SystemSpec } from '../runtime.js';
import { buildUserData } from './cloud-init.js';
import { systemAnnotations, systemLabels } from './container-system.js';
import { buildDataVolumeTemplate, type DataVolumeTemplate } from './data-volume.js';
import type { ClusterSettings } from './names.js';
import { cpuCores } from './quantity.js';

export const KUBEVIRT_API_VERSION = 'kubevirt.io/v1';

export type RunStrategy = 'Always' | 'Halted' | 'Manual' | 'RerunOnFailure' | 'Once';

export interface VirtualMachine {
  apiVersion: typeof KUBEVIRT_API_VERSION;
  kind: 'VirtualMachine';
  metadata: V1ObjectMeta;
  spec: {
    runStrategy: RunStrategy;
    dataVolumeTemplates?: DataVolumeTemplate[];
    template: { metadata: V1ObjectMeta; spec: VirtualMachineInstanceSpec };
  };
  status?: {
    printableStatus?: string;
    ready?: boolean;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
  };
}

export interface VirtualMachineInstanceSpec {
  hostname?: string;
  terminationGracePeriodSeconds?: number;
  domain: {
    cpu?: { cores: number };
    resources: { requests: Record<string, string>; limits?: Record<string, string> };
    devices: {
      disks: { name: string; disk: { bus: 'virtio' | 'sata' | 'scsi' } }[];
      interfaces: { name: string; masquerade: Record<string, never> }[];
      autoattachGraphicsDevice?: boolean;
      autoattachSerialConsole?: boolean;
      rng?: Record<string, never>;
    };
  };
  networks: { name: string; pod: Record<string, never> }[];
  volumes: (
    | { name: string; containerDisk: { image: string; imagePullPolicy?: string } }
    | { name: string; dataVolume: { name: string } }
    | { name: string; cloudInitNoCloud: { userData: string } }
  )[];
}

const ROOT_DISK = 'rootdisk';
const CLOUD_INIT_DISK = 'cloudinit';
const POD_NETWORK = 'default';

export function buildVirtualMachine(
  spec: InstanceSpec,
  namespace: string,
  system: SystemSpec,
  settings: Pick<ClusterSettings, 'storageClassName'>,
  runStrategy: RunStrategy = 'Always',
): VirtualMachine {
  const d = system.definition;
  const labels = systemLabels(spec, d);
  const resources = { cpu: d.resources.cpu, memory: d.resources.memory };
  const dataVolume = buildDataVolumeTemplate(d, labels, settings);
  const rootDisk = dataVolume
    ? { name: ROOT_DISK, dataVolume: { name: dataVolume.metadata.name as string } }
    : { name: ROOT_DISK, containerDisk: { image: d.image } };
  return {
    apiVersion: KUBEVIRT_API_VERSION,
    kind: 'VirtualMachine',
    metadata: { name: d.name, namespace, labels, annotations: systemAnnotations(d) },
    spec: {
      runStrategy,
      ...(dataVolume ? { dataVolumeTemplates: [dataVolume] } : {}),
      // KubeVirt copies these labels to the launcher pod: the Service selects it by them.
      template: {
        metadata: { labels },
        spec: {
          hostname: d.name,
          terminationGracePeriodSeconds: 30,
          domain: {
            cpu: { cores: cpuCores(d.resources.cpu) },
            resources: { requests: resources, limits: resources },
            devices: {
              disks: [
                { name: ROOT_DISK, disk: { bus: 'virtio' } },
                { name: CLOUD_INIT_DISK, disk: { bus: 'virtio' } },
              ],
              interfaces: [{ name: POD_NETWORK, masquerade: {} }],
              autoattachSerialConsole: true,
              autoattachGraphicsDevice: d.consoles.includes('desktop'),
              rng: {},
            },
          },
          networks: [{ name: POD_NETWORK, pod: {} }],
          volumes: [
            rootDisk,
            // Inline user-data, not a Secret: the tool's role has no access to Secrets.
            { name: CLOUD_INIT_DISK, cloudInitNoCloud: { userData: buildUserData(system) } },
          ],
        },
      },
    },
  };
}
