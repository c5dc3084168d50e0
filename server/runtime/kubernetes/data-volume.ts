/**
 * @file A VM's imported root disk (lab format `disk`) as a CDI DataVolume
 * template in the VirtualMachine's `spec.dataVolumeTemplates`. KubeVirt's
 * controller creates the DataVolume (owned by the VM, so it goes with it),
 * CDI imports the source into a PersistentVolumeClaim, and the VM boots from
 * it. The tool itself never creates DataVolumes (its role has no access to
 * them). Each instance gets its own copy: a reset deletes the VM and with it
 * the disk, and the new VM imports the source again.
 */
import type { V1ObjectMeta } from '@kubernetes/client-node';
import type { SystemDefinition } from '../../domain/lab/schema.js';
import type { ClusterSettings } from './names.js';

export const CDI_API_VERSION = 'cdi.kubevirt.io/v1beta1';

/** Labels CDI puts on its importer pods (CDI pkg/common: app, cdi.kubevirt.io). */
export const CDI_IMPORTER_LABELS = { app: 'containerized-data-importer', 'cdi.kubevirt.io': 'importer' } as const;

/** The part of CDI's DataVolumeSpec this runtime writes (the API server checks it against KubeVirt's VM schema). */
export interface DataVolumeTemplate {
  apiVersion: typeof CDI_API_VERSION;
  kind: 'DataVolume';
  metadata: V1ObjectMeta;
  spec: {
    source: { http: { url: string } } | { registry: { url: string } };
    storage: { resources: { requests: { storage: string } }; storageClassName?: string };
  };
}

/** The DataVolume of a system's disk: one per system, in the instance's namespace. */
export function dataVolumeName(system: string): string {
  return `${system}-disk`;
}

export function buildDataVolumeTemplate(
  system: SystemDefinition,
  labels: Record<string, string>,
  settings: Pick<ClusterSettings, 'storageClassName'>,
): DataVolumeTemplate | undefined {
  const disk = system.disk;
  if (!disk) return undefined;
  // docker:// is CDI's own form of a registry source; http(s):// is an HTTP source.
  const source = disk.source.startsWith('docker://')
    ? { registry: { url: disk.source } }
    : { http: { url: disk.source } };
  return {
    apiVersion: CDI_API_VERSION,
    kind: 'DataVolume',
    metadata: { name: dataVolumeName(system.name), labels },
    spec: {
      source,
      // `storage`, not `pvc`: CDI fills access and volume modes from the storage class's profile.
      storage: {
        resources: { requests: { storage: disk.size } },
        ...(settings.storageClassName ? { storageClassName: settings.storageClassName } : {}),
      },
    },
  };
}
