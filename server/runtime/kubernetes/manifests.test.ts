import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { RuntimeError } from '../runtime.js';
import { buildInstanceManifests, manifestList } from './manifests.js';
import { DEFAULT_CLUSTER_SETTINGS, LABEL, labelValue } from './names.js';
import { POLICY } from './network-policies.js';
import { instanceOf, VM_AND_CONTAINER_LAB, withImportedDisk } from './test-lab.js';

const spec = instanceOf();
const m = buildInstanceManifests(spec);

describe('namespace', () => {
  it('is named after the instance and labelled with instance, user, lab and version', () => {
    expect(m.namespace.metadata?.name).toBe('lab-i-0001');
    expect(m.namespace.metadata?.labels).toEqual({
      [LABEL.managedBy]: 'lab-orchestrator',
      [LABEL.instance]: 'i-0001',
      [LABEL.user]: labelValue('learner@example.org'),
      [LABEL.lab]: 'linux-net-101',
      [LABEL.version]: '3',
    });
    // The owner id is not a valid label value: the label is a hash, the annotation the id.
    expect(m.namespace.metadata?.labels?.[LABEL.user]).toMatch(/^h-[0-9a-f]{40}$/);
    expect(m.namespace.metadata?.annotations?.[LABEL.user]).toBe('learner@example.org');
  });

  it('refuses an instance id that cannot name a namespace', () => {
    expect(() => buildInstanceManifests(instanceOf(VM_AND_CONTAINER_LAB, 'Bad_Id'))).toThrowError(
      /instance id "Bad_Id" cannot name a namespace/,
    );
  });

  it('puts every object in the namespace with the instance labels', () => {
    for (const object of manifestList(m).slice(1)) {
      expect(object.metadata?.namespace).toBe('lab-i-0001');
      expect(object.metadata?.labels?.[LABEL.instance]).toBe('i-0001');
    }
  });
});

describe('network policies', () => {
  const byName = (list = m.networkPolicies) => new Map(list.map((p) => [p.metadata?.name, p.spec]));

  it('deny everything in both directions, then allow the namespace, DNS and the gateway', () => {
    const policies = byName();
    expect([...policies.keys()]).toEqual([POLICY.denyAll, POLICY.sameNamespace, POLICY.dns, POLICY.gateway]);
    expect(policies.get(POLICY.denyAll)).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
    expect(policies.get(POLICY.sameNamespace)?.egress).toEqual([{ to: [{ podSelector: {} }] }]);
    const dns = policies.get(POLICY.dns)?.egress?.[0];
    expect(dns?.to).toEqual([{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } } }]);
    expect(dns?.ports).toEqual([
      { protocol: 'UDP', port: 53 },
      { protocol: 'TCP', port: 53 },
    ]);
    expect(policies.get(POLICY.gateway)?.ingress?.[0]?._from).toEqual([
      {
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'lab-orchestrator' } },
        podSelector: { matchLabels: { 'app.kubernetes.io/name': 'lab-orchestrator' } },
      },
    ]);
  });

  it('open the internet only when the lab asks, never private ranges or the metadata address', () => {
    const open = buildInstanceManifests(instanceOf({ ...VM_AND_CONTAINER_LAB, network: { internet: true } }));
    const internet = byName(open.networkPolicies).get(POLICY.internet);
    const v4 = internet?.egress?.[0]?.to?.[0]?.ipBlock;
    expect(v4?.cidr).toBe('0.0.0.0/0');
    expect(v4?.except).toEqual(
      expect.arrayContaining(['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16']),
    );
    expect(internet?.policyTypes).toEqual(['Egress']);
  });
});

describe('quota and limits', () => {
  it('sum the systems, with KubeVirt overhead for VMs', () => {
    // client 500m/256Mi + server 1/1Gi + overhead 200m/512Mi
    expect(m.resourceQuota.spec?.hard).toMatchObject({
      'requests.cpu': '1700m',
      'requests.memory': '1792Mi',
      'limits.cpu': '1700m',
      'limits.memory': '1792Mi',
      pods: '2',
      services: '2',
      'count/virtualmachines.kubevirt.io': '1',
      persistentvolumeclaims: '0',
    });
  });

  it('cap one container at the largest system', () => {
    expect(m.limitRange.spec?.limits[0]?.max).toEqual({ cpu: '1200m', memory: '1536Mi' });
  });
});

describe('container system', () => {
  const pod = m.pods[0];
  it('is a pod named and host-named after the system, without cluster credentials', () => {
    expect(m.pods).toHaveLength(1);
    expect(pod?.metadata?.name).toBe('client');
    expect(pod?.spec?.hostname).toBe('client');
    expect(pod?.spec?.automountServiceAccountToken).toBe(false);
    const c = pod?.spec?.containers[0];
    expect(c?.image).toBe('docker.io/library/debian:12');
    expect(c?.command).toEqual(['sleep', 'infinity']);
    expect(c?.env).toEqual([{ name: 'LAB', value: 'net' }]);
    expect(c?.resources).toEqual({
      requests: { cpu: '500m', memory: '256Mi' },
      limits: { cpu: '500m', memory: '256Mi' },
    });
  });

  it('is reachable by its name through a headless Service selecting its pod', () => {
    const service = m.services.find((s) => s.metadata?.name === 'client');
    expect(service?.spec?.clusterIP).toBe('None');
    expect(service?.spec?.selector).toEqual({ [LABEL.instance]: 'i-0001', [LABEL.system]: 'client' });
    expect(pod?.metadata?.labels).toMatchObject(service?.spec?.selector ?? { missing: 'selector' });
  });
});

describe('VM system', () => {
  const vm = m.virtualMachines[0];
  const template = vm?.spec.template;
  it('is a kubevirt.io/v1 VirtualMachine that runs, from a containerDisk, on the pod network', () => {
    expect(vm?.apiVersion).toBe('kubevirt.io/v1');
    expect(vm?.metadata.name).toBe('server');
    expect(vm?.spec.runStrategy).toBe('Always');
    expect(template?.spec.volumes[0]).toEqual({
      name: 'rootdisk',
      containerDisk: { image: 'quay.io/containerdisks/debian:12' },
    });
    expect(template?.spec.domain.devices.interfaces).toEqual([{ name: 'default', masquerade: {} }]);
    expect(template?.spec.networks).toEqual([{ name: 'default', pod: {} }]);
    expect(template?.spec.domain.resources.requests).toEqual({ cpu: '1', memory: '1Gi' });
    expect(template?.spec.domain.cpu).toEqual({ cores: 1 });
    expect(template?.spec.domain.devices.autoattachGraphicsDevice).toBe(true);
    expect(template?.spec.domain.devices.autoattachSerialConsole).toBe(true);
  });

  it('labels its launcher pod so the Service named after it selects it', () => {
    const service = m.services.find((s) => s.metadata?.name === 'server');
    expect(template?.metadata.labels).toMatchObject(service?.spec?.selector ?? { missing: 'selector' });
    expect(service?.spec?.ports).toEqual([{ name: 'http-80', port: 80, targetPort: 80, protocol: 'TCP' }]);
  });

  it('gets the host name and the generated user through NoCloud user-data, merged with the lab’s', () => {
    const volume = template?.spec.volumes[1];
    const userData = volume && 'cloudInitNoCloud' in volume ? volume.cloudInitNoCloud.userData : '';
    expect(userData.startsWith('#cloud-config\n')).toBe(true);
    const doc = parse(userData);
    expect(doc.hostname).toBe('server');
    expect(doc.packages).toEqual(['nginx']);
    expect(doc.users[0]).toMatchObject({ name: 'student', lock_passwd: false });
    expect(doc.chpasswd).toEqual({
      expire: false,
      users: [{ name: 'student', password: 'correct-horse-7', type: 'text' }],
    });
  });

  it('has no graphics device when the lab asks for a terminal only', () => {
    const lab = structuredClone(VM_AND_CONTAINER_LAB);
    const server = lab.systems[1];
    if (server) server.consoles = ['terminal'];
    const one = buildInstanceManifests(instanceOf(lab)).virtualMachines[0];
    expect(one?.spec.template.spec.domain.devices.autoattachGraphicsDevice).toBe(false);
  });
});

describe('VM system with an imported disk', () => {
  const DEBIAN = 'https://cloud.example.org/debian-12-genericcloud-amd64.qcow2';
  const imported = buildInstanceManifests(instanceOf(withImportedDisk(DEBIAN, '10Gi')));
  const vm = imported.virtualMachines[0];

  it('boots from a DataVolume made from a dataVolumeTemplate, not from a containerDisk', () => {
    expect(vm?.spec.dataVolumeTemplates).toEqual([
      {
        apiVersion: 'cdi.kubevirt.io/v1beta1',
        kind: 'DataVolume',
        metadata: { name: 'server-disk', labels: vm?.metadata.labels },
        spec: {
          source: { http: { url: DEBIAN } },
          storage: { resources: { requests: { storage: '10Gi' } } },
        },
      },
    ]);
    const volumes = vm?.spec.template.spec.volumes ?? [];
    expect(volumes[0]).toEqual({ name: 'rootdisk', dataVolume: { name: 'server-disk' } });
    expect(volumes.some((v) => 'containerDisk' in v)).toBe(false);
    // The first disk of the domain is the one bound to the DataVolume: the VM boots from it.
    expect(vm?.spec.template.spec.domain.devices.disks[0]).toEqual({ name: 'rootdisk', disk: { bus: 'virtio' } });
  });

  it('imports a docker:// source from the registry', () => {
    const fromRegistry = buildInstanceManifests(
      instanceOf(withImportedDisk('docker://quay.io/containerdisks/debian:12')),
    );
    expect(fromRegistry.virtualMachines[0]?.spec.dataVolumeTemplates?.[0]?.spec.source).toEqual({
      registry: { url: 'docker://quay.io/containerdisks/debian:12' },
    });
  });

  it('uses the storage class of the settings when one is set', () => {
    const settings = { ...DEFAULT_CLUSTER_SETTINGS, storageClassName: 'fast-ssd' };
    const other = buildInstanceManifests(instanceOf(withImportedDisk(DEBIAN, '20Gi')), settings);
    expect(other.virtualMachines[0]?.spec.dataVolumeTemplates?.[0]?.spec.storage).toEqual({
      resources: { requests: { storage: '20Gi' } },
      storageClassName: 'fast-ssd',
    });
  });

  it('has quota for the importer pod, the disk and its scratch claim', () => {
    // client 500m/256Mi + server 1/1Gi + overhead 200m/512Mi + importer 750m/600Mi
    expect(imported.resourceQuota.spec?.hard).toMatchObject({
      'requests.cpu': '2450m',
      'limits.memory': '2392Mi',
      pods: '3',
      persistentvolumeclaims: '2',
      'requests.storage': '20Gi',
    });
    expect(m.resourceQuota.spec?.hard?.['requests.storage']).toBeUndefined();
  });

  it('lets only CDI’s importer pods reach the disk source', () => {
    const policy = imported.networkPolicies.find((p) => p.metadata?.name === POLICY.diskImport);
    expect(policy?.spec).toEqual({
      podSelector: { matchLabels: { app: 'containerized-data-importer', 'cdi.kubevirt.io': 'importer' } },
      policyTypes: ['Egress'],
      egress: [{}],
    });
    expect(m.networkPolicies.map((p) => p.metadata?.name)).not.toContain(POLICY.diskImport);
  });
});

describe('bad specs', () => {
  it('refuses a system with a user but no generated credentials, naming it', () => {
    const broken = instanceOf();
    const server = broken.systems[1];
    if (server) delete server.credentials;
    expect(() => buildInstanceManifests(broken)).toThrowError(RuntimeError);
    expect(() => buildInstanceManifests(broken)).toThrowError(
      /system "server" has a user but no generated credentials/,
    );
  });

  it('use the settings given (namespace prefix, gateway namespace)', () => {
    const settings = { ...DEFAULT_CLUSTER_SETTINGS, namespacePrefix: 'course-', orchestratorNamespace: 'tools' };
    const other = buildInstanceManifests(spec, settings);
    expect(other.namespace.metadata?.name).toBe('course-i-0001');
    expect(other.networkPolicies[3]?.spec?.ingress?.[0]?._from?.[0]?.namespaceSelector?.matchLabels).toEqual({
      'kubernetes.io/metadata.name': 'tools',
    });
  });
});
