/**
 * The VM's dataVolumeTemplates against the rules of KubeVirt's admission
 * webhook, which no test here can run (virt-api needs a KubeVirt install): the
 * rules of KubeVirt v1.8.0 pkg/storage/admitters/data-volume-template.go,
 * restated. The API server's schema checks are in test/integration.
 */
import { describe, expect, it } from 'vitest';
import { dataVolumeName } from './data-volume.js';
import { buildInstanceManifests } from './manifests.js';
import { instanceOf, withImportedDisk } from './test-lab.js';
import type { VirtualMachine } from './virtual-machine.js';

/** What KubeVirt's webhook refuses in a VM's dataVolumeTemplates (empty: admitted). */
function webhookCauses(vm: VirtualMachine): string[] {
  const causes: string[] = [];
  (vm.spec.dataVolumeTemplates ?? []).forEach((dv, i) => {
    const at = `spec.dataVolumeTemplate[${i}]`;
    const spec = dv.spec as Record<string, unknown>;
    const sources = Object.values((spec.source ?? {}) as Record<string, unknown>).filter((v) => v != null);
    if (!dv.metadata.name) causes.push(`${at}.name: must not be empty`);
    else if (!spec.pvc === !spec.storage) causes.push(`${at}: exactly one of PVC or Storage`);
    else if (sources.length !== 1) causes.push(`${at}.source: exactly one source`);
    else if (dv.metadata.namespace && dv.metadata.namespace !== vm.metadata.namespace)
      causes.push(`${at}: namespace differs from the VM's`);
    else if (!vm.spec.template.spec.volumes.some((v) => 'dataVolume' in v && v.dataVolume.name === dv.metadata.name))
      causes.push(`${at}: must be referenced in the VMI template's volumes`);
  });
  return causes;
}

const vmOf = (source: string) =>
  buildInstanceManifests(instanceOf(withImportedDisk(source))).virtualMachines[0] as VirtualMachine;

describe('dataVolumeTemplates', () => {
  it('pass KubeVirt’s webhook rules for http and registry sources', () => {
    expect(webhookCauses(vmOf('https://images.example.org/disk.qcow2'))).toEqual([]);
    expect(webhookCauses(vmOf('docker://quay.io/containerdisks/debian:12'))).toEqual([]);
  });

  it('would be refused by those rules if the disk were not bound to its DataVolume', () => {
    const vm = structuredClone(vmOf('https://images.example.org/disk.qcow2'));
    vm.spec.template.spec.volumes[0] = { name: 'rootdisk', containerDisk: { image: 'x' } };
    expect(webhookCauses(vm)).toEqual(["spec.dataVolumeTemplate[0]: must be referenced in the VMI template's volumes"]);
  });

  it('are named after the system, one per system of an instance', () => {
    expect(vmOf('https://images.example.org/disk.qcow2').spec.dataVolumeTemplates?.[0]?.metadata.name).toBe(
      dataVolumeName('server'),
    );
    expect(dataVolumeName('server')).toBe('server-disk');
  });

  it('are absent without a disk to import: the containerDisk image is the root disk', () => {
    const plain = buildInstanceManifests(instanceOf()).virtualMachines[0];
    expect(plain?.spec.dataVolumeTemplates).toBeUndefined();
    expect(plain?.spec.template.spec.volumes[0]).toEqual({
      name: 'rootdisk',
      containerDisk: { image: 'quay.io/containerdisks/debian:12' },
    });
  });
});
