/**
 * The kubernetes runtime's objects against a real kube-apiserver (built from
 * Go modules by scripts/k8s-control-plane.sh) with KubeVirt's real CRD
 * schemas and CDI's DataVolume CRD (generated from CDI's Go types as CDI does,
 * with controller-gen): accepted by validation, stored as built, RBAC of the shipped role,
 * and deploy/kubernetes passing server-side dry-run. There is no kubelet and
 * no KubeVirt controller here: where a test needs their state (a VM's status)
 * it writes it as they would, and says so. KubeVirt's admission webhook
 * (virt-api) does not run either: its checks of dataVolumeTemplates are
 * covered by the unit tests of the manifests (data-volume.test.ts).
 */
import {
  ApiException,
  AuthorizationV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  PatchStrategy,
  Watch,
} from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildInstanceManifests, manifestList } from '../../server/runtime/kubernetes/manifests.js';
import { LABEL } from '../../server/runtime/kubernetes/names.js';
import { instanceOf, VM_AND_CONTAINER_LAB, withImportedDisk } from '../../server/runtime/kubernetes/test-lab.js';
import type { VirtualMachine } from '../../server/runtime/kubernetes/virtual-machine.js';
import { adminConfig, eventually, impersonating, kubectl, startControlPlane } from './kubernetes-control-plane.js';

const SERVICE_ACCOUNT = 'system:serviceaccount:lab-orchestrator:lab-orchestrator';
const run = Date.now().toString(36);

let file: string;
let admin: KubeConfig;
let objects: KubernetesObjectApi;

beforeAll(async () => {
  file = await startControlPlane();
  admin = adminConfig(file);
  objects = KubernetesObjectApi.makeApiClient(admin);
});

/** The HTTP status of a refused call, or 0 when it succeeded. */
async function statusOf(call: Promise<unknown>): Promise<number> {
  try {
    await call;
    return 0;
  } catch (err) {
    if (err instanceof ApiException) return err.code;
    throw err;
  }
}

/** What `read` and `delete` need of an object: its type and name. */
type Header = KubernetesObject & { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } };

function header(o: KubernetesObject): Header {
  const name = o.metadata?.name;
  if (!name) throw new Error(`${o.kind} without a name`);
  return {
    apiVersion: o.apiVersion as string,
    kind: o.kind as string,
    metadata: { name, ...(o.metadata?.namespace ? { namespace: o.metadata.namespace } : {}) },
  };
}

async function createAll(api: KubernetesObjectApi, list: KubernetesObject[]): Promise<void> {
  for (const o of list) await api.create(o);
}

describe('an instance of a VM + container lab', () => {
  const spec = instanceOf(VM_AND_CONTAINER_LAB, `m-${run}`);
  const m = buildInstanceManifests(spec);
  const namespace = m.namespace.metadata?.name as string;

  it('is accepted object by object and stored as built (nothing pruned by the KubeVirt schema)', async () => {
    await createAll(objects, manifestList(m));
    for (const sent of manifestList(m)) {
      const stored = await objects.read(header(sent));
      // (The API server adds its own labels, such as a namespace's kubernetes.io/metadata.name.)
      expect(stored.metadata?.labels, `${sent.kind} ${sent.metadata?.name}`).toMatchObject(sent.metadata?.labels ?? {});
      const { metadata: _m, ...sentBody } = sent as KubernetesObject & Record<string, unknown>;
      expect(stored, `${sent.kind} ${sent.metadata?.name}`).toMatchObject(sentBody);
    }
    const vm = (await objects.read(header(m.virtualMachines[0] as KubernetesObject))) as unknown as VirtualMachine;
    expect(vm.spec.template.spec.domain.devices.interfaces).toEqual([{ name: 'default', masquerade: {} }]);
    expect(vm.spec.template.spec.volumes[1]).toMatchObject({
      cloudInitNoCloud: { userData: expect.stringContaining('hostname: server') },
    });
  });

  it('carries the instance labels, so it is found by them', async () => {
    const found = await objects.list(
      'v1',
      'Namespace',
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      `${LABEL.instance}=${spec.id}`,
    );
    expect(found.items.map((n) => n.metadata?.name)).toEqual([namespace]);
    const vms = await objects.list(
      'kubevirt.io/v1',
      'VirtualMachine',
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      `${LABEL.instance}=${spec.id}`,
    );
    expect(vms.items.map((v) => v.metadata?.name)).toEqual(['server']);
  });

  it('isolates with the stored NetworkPolicies: deny all, namespace, DNS, gateway, no internet', async () => {
    const policies = await objects.list('networking.k8s.io/v1', 'NetworkPolicy', namespace);
    expect(policies.items.map((p) => p.metadata?.name).sort()).toEqual([
      'allow-dns',
      'allow-gateway',
      'allow-same-namespace',
      'deny-all',
    ]);
  });

  it('refuses a VM that breaks KubeVirt’s schema, naming the field', async () => {
    const broken = structuredClone(m.virtualMachines[0]) as unknown as {
      metadata: { name: string };
      spec: { template: { spec: { domain: { cpu: unknown } } } };
    };
    broken.metadata.name = 'broken';
    broken.spec.template.spec.domain.cpu = { cores: 'two' };
    const err = await objects.create(broken as unknown as KubernetesObject).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiException);
    expect((err as ApiException<unknown>).code).toBe(422);
    expect(String((err as ApiException<unknown>).body)).toContain('spec.template.spec.domain.cpu.cores');
  });

  it('takes a VM status through the status subresource (written here as KubeVirt’s controller would)', async () => {
    const custom = admin.makeApiClient(CustomObjectsApi);
    const vmRef = { group: 'kubevirt.io', version: 'v1', namespace, plural: 'virtualmachines', name: 'server' };
    const current = (await custom.getNamespacedCustomObject(vmRef)) as VirtualMachine;
    current.status = { printableStatus: 'Running', ready: true, conditions: [{ type: 'Ready', status: 'True' }] };
    await custom.replaceNamespacedCustomObjectStatus({ ...vmRef, body: current });
    // A write of the main resource leaves the status alone: a subresource really exists.
    await objects.patch(
      { ...header(current as unknown as KubernetesObject), status: { printableStatus: 'Stopped' } } as KubernetesObject,
      undefined,
      undefined,
      undefined,
      undefined,
      PatchStrategy.MergePatch,
    );
    const stored = (await custom.getNamespacedCustomObject(vmRef)) as VirtualMachine;
    expect(stored.status?.printableStatus).toBe('Running');
  });

  it('is gone, VM included, once its namespace is deleted (kube-controller-manager finalizes it)', async () => {
    await objects.delete(m.namespace);
    await eventually(
      `namespace ${namespace} to disappear`,
      async () => (await statusOf(objects.read(header(m.namespace)))) === 404,
      90,
    );
    const vms = await objects.list(
      'kubevirt.io/v1',
      'VirtualMachine',
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      `${LABEL.instance}=${spec.id}`,
    );
    expect(vms.items).toEqual([]);
  });
});

describe('an instance whose VM imports its disk (CDI DataVolume template)', () => {
  const SOURCE = 'https://images.example.org/debian-12-genericcloud-amd64.qcow2';
  const spec = instanceOf(withImportedDisk(SOURCE, '8Gi'), `d-${run}`);
  const m = buildInstanceManifests(spec);
  const namespace = m.namespace.metadata?.name as string;
  const custom = () => admin.makeApiClient(CustomObjectsApi);

  it('is accepted with the disk bound to its DataVolume, stored as built', async () => {
    await createAll(objects, manifestList(m));
    const vm = (await objects.read(header(m.virtualMachines[0] as KubernetesObject))) as unknown as VirtualMachine;
    expect(vm.spec.dataVolumeTemplates).toEqual([
      {
        apiVersion: 'cdi.kubevirt.io/v1beta1',
        kind: 'DataVolume',
        metadata: { name: 'server-disk', labels: m.virtualMachines[0]?.metadata.labels },
        spec: { source: { http: { url: SOURCE } }, storage: { resources: { requests: { storage: '8Gi' } } } },
      },
    ]);
    expect(vm.spec.template.spec.volumes[0]).toEqual({ name: 'rootdisk', dataVolume: { name: 'server-disk' } });
    expect(vm.spec.template.spec.domain.devices.disks[0]).toEqual({ name: 'rootdisk', disk: { bus: 'virtio' } });
    const quota = await objects.read(header(m.resourceQuota));
    expect((quota as { spec?: { hard?: Record<string, string> } }).spec?.hard).toMatchObject({
      persistentvolumeclaims: '2',
      'requests.storage': '16Gi',
      pods: '3',
    });
  });

  it('refuses a template that breaks KubeVirt’s schema (an http source without url), naming the field', async () => {
    const broken = structuredClone(m.virtualMachines[0]) as VirtualMachine;
    broken.metadata.name = 'broken-disk';
    const template = broken.spec.dataVolumeTemplates?.[0];
    if (template) template.spec.source = { http: {} } as unknown as { http: { url: string } };
    const err = await objects.create(broken as unknown as KubernetesObject).catch((e: unknown) => e);
    expect((err as ApiException<unknown>).code).toBe(422);
    expect(String((err as ApiException<unknown>).body)).toContain('spec.dataVolumeTemplates[0].spec.source.http.url');
  });

  it('makes a DataVolume that CDI’s schema accepts (created here as KubeVirt’s controller would)', async () => {
    // No KubeVirt controller runs here: make the DataVolume from the template as it does
    // (same name and spec, in the VM's namespace, owned by the VM), and let CDI's CRD judge it.
    const vm = (await objects.read(header(m.virtualMachines[0] as KubernetesObject))) as unknown as VirtualMachine;
    const template = vm.spec.dataVolumeTemplates?.[0];
    if (!template) throw new Error('no dataVolumeTemplate stored');
    const ref = { group: 'cdi.kubevirt.io', version: 'v1beta1', namespace, plural: 'datavolumes' };
    const owner = { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', name: 'server', uid: vm.metadata.uid };
    await custom().createNamespacedCustomObject({
      ...ref,
      body: { ...template, metadata: { ...template.metadata, namespace, ownerReferences: [owner] } },
    });
    const stored = (await custom().getNamespacedCustomObject({ ...ref, name: 'server-disk' })) as typeof template;
    expect(stored.spec).toEqual(template.spec);
    // CDI's schema is enforced: a content type outside its enum is refused.
    const bad = {
      ...template,
      metadata: { name: 'bad-disk', namespace },
      spec: { ...template.spec, contentType: 'floppy' },
    };
    const err = await custom()
      .createNamespacedCustomObject({ ...ref, body: bad })
      .catch((e: unknown) => e);
    expect((err as ApiException<unknown>).code).toBe(422);
    expect(String((err as ApiException<unknown>).body)).toContain('spec.contentType');
  });

  it('loses its DataVolume with the VM (garbage collection of what the VM owns)', async () => {
    const ref = { group: 'cdi.kubevirt.io', version: 'v1beta1', namespace, plural: 'datavolumes', name: 'server-disk' };
    await objects.delete(
      m.virtualMachines[0] as unknown as KubernetesObject,
      undefined,
      undefined,
      0,
      undefined,
      'Foreground',
    );
    await eventually(
      'the DataVolume to go with its VM',
      async () => (await statusOf(custom().getNamespacedCustomObject(ref))) === 404,
      90,
    );
    await objects.delete(m.namespace);
  });
});

describe('deploy/kubernetes', () => {
  it('passes server-side dry-run', async () => {
    // A dry run creates nothing, so the namespaced objects need their namespace for real first.
    await kubectl(file, ['apply', '--server-side', '-f', 'deploy/kubernetes/namespace.yaml']);
    const { stdout } = await kubectl(file, ['apply', '--dry-run=server', '-k', 'deploy/kubernetes']);
    // created on a fresh server, configured or unchanged when an earlier run applied them
    for (const object of [
      'namespace',
      'serviceaccount',
      'clusterrole.rbac.authorization.k8s.io',
      'clusterrolebinding.rbac.authorization.k8s.io',
      'service',
      'deployment.apps',
      'ingress.networking.k8s.io',
    ]) {
      expect(stdout).toMatch(
        new RegExp(`^${object}/lab-orchestrator (created|configured|unchanged) \\(server dry run\\)$`, 'm'),
      );
    }
  });
});

describe('RBAC of the shipped service account', () => {
  // With an imported disk: the VM carries dataVolumeTemplates and the instance a policy for CDI's importer.
  const spec = instanceOf(
    withImportedDisk('docker://quay.io/containerdisks/debian:12', '10Gi', {
      ...VM_AND_CONTAINER_LAB,
      network: { internet: true },
    }),
    `r-${run}`,
  );
  const m = buildInstanceManifests(spec);
  const namespace = m.namespace.metadata?.name as string;
  let sa: KubernetesObjectApi;

  beforeAll(async () => {
    await kubectl(file, ['apply', '--server-side', '-k', 'deploy/kubernetes']);
    sa = KubernetesObjectApi.makeApiClient(impersonating(file, SERVICE_ACCOUNT));
  });

  it('allows every call the runtime makes', async () => {
    const selector = `${LABEL.instance}=${spec.id}`;
    // provision: create, and read what exists (adopting on 409)
    await createAll(sa, manifestList(m));
    expect(await statusOf(sa.create(m.namespace))).toBe(409);
    for (const o of manifestList(m)) await sa.read(header(o));
    // list and watch instances and their workloads across namespaces, by label
    for (const [apiVersion, kind] of [
      ['v1', 'Namespace'],
      ['v1', 'Pod'],
      ['kubevirt.io/v1', 'VirtualMachine'],
      ['kubevirt.io/v1', 'VirtualMachineInstance'],
    ] as const) {
      await sa.list(apiVersion, kind, undefined, undefined, undefined, undefined, undefined, selector);
    }
    const seen = await new Promise<string>((resolve, reject) => {
      new Watch(impersonating(file, SERVICE_ACCOUNT))
        .watch(
          '/apis/kubevirt.io/v1/virtualmachines',
          { labelSelector: selector },
          (phase, obj) => {
            resolve(`${phase} ${obj.metadata.name}`);
          },
          (err) => err && reject(err),
        )
        .then((ctl) => setTimeout(() => ctl.abort(), 10_000), reject);
    });
    expect(seen).toBe('ADDED server');
    // converge and stop/start VMs, reset systems
    await sa.patch(
      m.networkPolicies[0] as KubernetesObject,
      undefined,
      undefined,
      undefined,
      undefined,
      PatchStrategy.MergePatch,
    );
    await sa.patch(
      { ...header(m.virtualMachines[0] as KubernetesObject), spec: { runStrategy: 'Halted' } } as KubernetesObject,
      undefined,
      undefined,
      undefined,
      undefined,
      PatchStrategy.MergePatch,
    );
    await sa.delete(m.pods[0] as KubernetesObject);
    await sa.delete(m.virtualMachines[0] as unknown as KubernetesObject);
    // consoles and pause: KubeVirt's aggregated API and the kubelet are absent here, so ask the authorizer
    for (const [group, resource, subresource, verb] of [
      ['', 'pods', 'exec', 'create'],
      ['', 'pods', 'exec', 'get'],
      ['', 'pods', 'portforward', 'create'],
      ['subresources.kubevirt.io', 'virtualmachineinstances', 'console', 'get'],
      ['subresources.kubevirt.io', 'virtualmachineinstances', 'vnc', 'get'],
      ['subresources.kubevirt.io', 'virtualmachineinstances', 'pause', 'update'],
      ['subresources.kubevirt.io', 'virtualmachineinstances', 'unpause', 'update'],
    ] as const) {
      expect(
        await allowed({ group, resource, subresource, verb, namespace }),
        `${verb} ${resource}/${subresource}`,
      ).toBe(true);
    }
    // destroy
    await sa.delete(m.namespace);
    await eventuallyGone();
    // Deleting what is gone answers 404 (done), not 403.
    expect(await statusOf(sa.delete(m.namespace))).toBe(404);
  });

  it('refuses what is outside the role', async () => {
    const other = `lab-orchestrator`;
    expect(await statusOf(sa.list('v1', 'Secret', other))).toBe(403);
    expect(await statusOf(sa.list('v1', 'ConfigMap', other))).toBe(403);
    expect(await statusOf(sa.list('v1', 'Node'))).toBe(403);
    expect(
      await statusOf(
        sa.create({
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'ClusterRoleBinding',
          metadata: { name: `escalate-${run}` },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
          subjects: [{ kind: 'ServiceAccount', name: 'lab-orchestrator', namespace: other }],
        } as KubernetesObject),
      ),
    ).toBe(403);
    expect(await allowed({ group: '', resource: 'pods', subresource: 'attach', verb: 'create', namespace: 'x' })).toBe(
      false,
    );
    expect(
      await allowed({ group: 'kubevirt.io', resource: 'virtualmachineinstances', verb: 'delete', namespace: 'x' }),
    ).toBe(false);
    expect(await allowed({ group: '', resource: 'pods', verb: 'update', namespace: 'x' })).toBe(false);
    // DataVolumes are KubeVirt's controller's to make from the VM's templates, not the tool's.
    for (const verb of ['create', 'get', 'delete'])
      expect(await allowed({ group: 'cdi.kubevirt.io', resource: 'datavolumes', verb, namespace: 'x' }), verb).toBe(
        false,
      );
  });

  async function eventuallyGone(): Promise<void> {
    await eventually(
      `namespace ${namespace} to disappear`,
      async () => (await statusOf(objects.read(header(m.namespace)))) === 404,
      90,
    );
  }
});

/** What the authorizer answers for the shipped service account (asked as admin). */
async function allowed(attrs: {
  group: string;
  resource: string;
  subresource?: string;
  verb: string;
  namespace: string;
}) {
  const review = await admin.makeApiClient(AuthorizationV1Api).createSubjectAccessReview({
    body: {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: { user: SERVICE_ACCOUNT, resourceAttributes: attrs },
    },
  });
  return review.status?.allowed === true;
}
