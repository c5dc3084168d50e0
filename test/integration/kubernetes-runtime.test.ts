/**
 * The KubernetesRuntime driver against a real kube-apiserver with KubeVirt's
 * CRDs (scripts/k8s-control-plane.sh). No kubelet and no KubeVirt controller
 * run here: where a test needs a running pod or VM, it writes the status the
 * kubelet or KubeVirt would write, through the status subresource, and says so.
 */
import { CoreV1Api, CustomObjectsApi, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubernetesRuntime } from '../../server/runtime/kubernetes/runtime.js';
import { instanceOf, VM_AND_CONTAINER_LAB, withImportedDisk } from '../../server/runtime/kubernetes/test-lab.js';
import type { VirtualMachine } from '../../server/runtime/kubernetes/virtual-machine.js';
import type { InstanceStatus } from '../../server/runtime/runtime.js';
import { adminConfig, eventually, impersonating, kubectl, startControlPlane } from './kubernetes-control-plane.js';

const run = Date.now().toString(36);
let file: string;
let kc: KubeConfig;
let runtime: KubernetesRuntime;
const watchErrors: string[] = [];

beforeAll(async () => {
  file = await startControlPlane();
  kc = adminConfig(file);
  runtime = new KubernetesRuntime({ kubeConfig: kc, onError: (err, what) => watchErrors.push(`${what}: ${err}`) });
});

afterAll(async () => {
  await runtime?.close();
});

async function statusUntil(id: string, what: string, check: (s: InstanceStatus) => boolean): Promise<InstanceStatus> {
  let last: InstanceStatus | undefined;
  await eventually(`${what} (last: ${JSON.stringify(last)})`, async () => {
    last = await runtime.status(id);
    return check(last);
  });
  return last as InstanceStatus;
}

const phases = (s: InstanceStatus) => Object.fromEntries(s.systems.map((x) => [x.name, x.phase]));

describe('KubernetesRuntime', () => {
  const spec = instanceOf(VM_AND_CONTAINER_LAB, `d-${run}`);
  const namespace = `lab-${spec.id}`;

  it('provisions an instance, idempotently, and lists it', async () => {
    await runtime.provision(spec);
    await runtime.provision(spec); // a retry adopts what exists
    expect(await runtime.list()).toContain(spec.id);
    const status = await statusUntil(spec.id, 'both systems seen', (s) => s.systems.length === 2);
    expect(status.exists).toBe(true);
    expect(status.systems).toEqual([
      { name: 'client', kind: 'container', consoles: ['terminal'], phase: 'pending', reason: 'waiting for a node' },
      {
        name: 'server',
        kind: 'vm',
        consoles: ['terminal', 'desktop'],
        phase: 'pending',
        reason: 'waiting for KubeVirt',
      },
    ]);
  });

  it('finishes a half-made instance', async () => {
    const core = kc.makeApiClient(CoreV1Api);
    await core.deleteNamespacedService({ name: 'server', namespace });
    await runtime.provision(spec);
    const service = await core.readNamespacedService({ name: 'server', namespace });
    expect(service.spec?.clusterIP).toBe('None');
  });

  it('reports ready from the watches once the kubelet and KubeVirt say so (statuses written here as they would)', async () => {
    const core = kc.makeApiClient(CoreV1Api);
    const pod = await core.readNamespacedPod({ name: 'client', namespace });
    const running: V1Pod = {
      ...pod,
      status: {
        phase: 'Running',
        conditions: [{ type: 'Ready', status: 'True' }],
      },
    };
    await core.replaceNamespacedPodStatus({ name: 'client', namespace, body: running });
    const custom = kc.makeApiClient(CustomObjectsApi);
    const ref = { group: 'kubevirt.io', version: 'v1', namespace, plural: 'virtualmachines', name: 'server' };
    const vm = (await custom.getNamespacedCustomObject(ref)) as VirtualMachine;
    vm.status = { printableStatus: 'Running', ready: true, conditions: [{ type: 'Ready', status: 'True' }] };
    await custom.replaceNamespacedCustomObjectStatus({ ...ref, body: vm });
    const status = await statusUntil(spec.id, 'both systems ready', (s) => s.systems.every((x) => x.phase === 'ready'));
    expect(phases(status)).toEqual({ client: 'ready', server: 'ready' });
  });

  it('pauses a running VM through KubeVirt’s pause subresource (absent here: the server’s answer comes back readable)', async () => {
    await expect(runtime.pause(spec.id)).rejects.toThrowError(
      new RegExp(`pause VM server of instance ${spec.id}: .*(404|not found)`),
    );
  });

  it('re-attaches after a restart of the tool: same instances, no duplicates', async () => {
    const again = new KubernetesRuntime({ kubeConfig: kc });
    try {
      const ids = await again.list();
      expect(ids.filter((id) => id === spec.id)).toEqual([spec.id]);
      expect(phases(await again.status(spec.id))).toEqual({ client: 'ready', server: 'ready' });
    } finally {
      await again.close();
    }
  });

  it('resets one system back to its image (a new pod), leaving the others', async () => {
    const core = kc.makeApiClient(CoreV1Api);
    const before = await core.readNamespacedPod({ name: 'client', namespace });
    await runtime.reset(spec, 'client');
    const after = await core.readNamespacedPod({ name: 'client', namespace });
    expect(after.metadata?.uid).not.toBe(before.metadata?.uid);
    const status = await statusUntil(spec.id, 'the new client pod seen', (s) => phases(s).client === 'pending');
    expect(phases(status)).toEqual({ client: 'pending', server: 'ready' });
    await expect(runtime.reset(spec, 'nope')).rejects.toThrowError(/has no system "nope"/);
  });

  it('destroys by deleting the namespace; destroying again is fine', async () => {
    await runtime.destroy(spec.id);
    await runtime.destroy(spec.id);
    await statusUntil(spec.id, 'the instance gone', (s) => !s.exists);
    expect(await runtime.list()).not.toContain(spec.id);
    const core = kc.makeApiClient(CoreV1Api);
    await eventually(
      `namespace ${namespace} removed`,
      async () =>
        core.readNamespace({ name: namespace }).then(
          () => false,
          () => true,
        ),
      90,
    );
    await runtime.destroy(spec.id);
  });

  it('provisions 100 instances concurrently without error, then destroys them', async () => {
    const specs = Array.from({ length: 100 }, (_, i) => instanceOf(VM_AND_CONTAINER_LAB, `c-${run}-${i}`, `user-${i}`));
    await Promise.all(specs.map((s) => runtime.provision(s)));
    await eventually('all 100 listed', async () => {
      const ids = new Set(await runtime.list());
      return specs.every((s) => ids.has(s.id));
    });
    const listed = (await runtime.list()).filter((id) => id.startsWith(`c-${run}-`));
    expect(listed).toHaveLength(100);
    await Promise.all(specs.map((s) => runtime.destroy(s.id)));
    await eventually('all 100 gone from the list', async () => {
      const ids = new Set(await runtime.list());
      return specs.every((s) => !ids.has(s.id));
    });
  });

  it('provisions a VM whose disk CDI imports, and reports the import from the VM’s status (written as KubeVirt would)', async () => {
    const disk = instanceOf(withImportedDisk('docker://quay.io/containerdisks/debian:12', '10Gi'), `v-${run}`);
    await runtime.provision(disk);
    const custom = kc.makeApiClient(CustomObjectsApi);
    const ref = {
      group: 'kubevirt.io',
      version: 'v1',
      namespace: `lab-${disk.id}`,
      plural: 'virtualmachines',
      name: 'server',
    };
    const vm = (await custom.getNamespacedCustomObject(ref)) as VirtualMachine;
    expect(vm.spec.dataVolumeTemplates?.[0]?.spec.source).toEqual({
      registry: { url: 'docker://quay.io/containerdisks/debian:12' },
    });
    // While CDI imports, KubeVirt shows Provisioning; a failed import is DataVolumeError with its reason.
    vm.status = { printableStatus: 'Provisioning' };
    const written = (await custom.replaceNamespacedCustomObjectStatus({ ...ref, body: vm })) as VirtualMachine;
    await statusUntil(disk.id, 'the VM creating', (s) => phases(s).server === 'creating');
    written.status = {
      printableStatus: 'DataVolumeError',
      conditions: [{ type: 'DataVolumesReady', status: 'False', message: 'import failed: 404 Not Found' }],
    };
    await custom.replaceNamespacedCustomObjectStatus({ ...ref, body: written });
    const failed = await statusUntil(disk.id, 'the VM failed', (s) => phases(s).server === 'failed');
    expect(failed.systems.find((x) => x.name === 'server')?.reason).toBe(
      'DataVolumeError: import failed: 404 Not Found',
    );
    await runtime.destroy(disk.id);
  });

  it('answers plainly for instances that do not exist', async () => {
    await expect(runtime.exec(`x-${run}`, 'client', ['true'])).rejects.toThrowError(
      /instance x-.* has no system "client"/,
    );
    await expect(runtime.pause(`x-${run}`)).rejects.toThrowError(/instance x-.* does not exist/);
    expect(await runtime.status(`x-${run}`)).toEqual({ id: `x-${run}`, exists: false, systems: [] });
    expect(watchErrors).toEqual([]);
  });

  it('reaches the API server for consoles, and says why one cannot open here (no kubelet, no KubeVirt)', async () => {
    const spec = instanceOf(VM_AND_CONTAINER_LAB, `e-${run}`);
    await runtime.provision(spec);
    await eventually('both systems seen', async () => (await runtime.status(spec.id)).systems.length === 2);
    // The pod was never scheduled: the API server refuses exec with its own reason.
    await expect(runtime.exec(spec.id, 'client', ['true'])).rejects.toThrowError(/exec in client: .*host/);
    await expect(runtime.exec(spec.id, 'server', ['true'])).rejects.toThrowError(/KubeVirt has no exec API/);
    // KubeVirt's aggregated API is not installed here: its console answers 404.
    await expect(runtime.terminal(spec.id, 'server', { cols: 80, rows: 24 })).rejects.toThrowError(
      /console of VM server/,
    );
    await runtime.destroy(spec.id);
  });
});

describe('KubernetesRuntime with the shipped role only', () => {
  it('provisions, watches, resets and destroys as the ServiceAccount of deploy/kubernetes', async () => {
    await kubectl(file, ['apply', '--server-side', '-k', 'deploy/kubernetes']);
    const sa = new KubernetesRuntime({
      kubeConfig: impersonating(file, 'system:serviceaccount:lab-orchestrator:lab-orchestrator'),
      onError: (err, what) => watchErrors.push(`as the service account, ${what}: ${err}`),
    });
    const spec = instanceOf(VM_AND_CONTAINER_LAB, `s-${run}`);
    try {
      await sa.provision(spec);
      await sa.provision(spec);
      expect(await sa.list()).toContain(spec.id);
      await eventually('both systems seen', async () => (await sa.status(spec.id)).systems.length === 2);
      await sa.reset(spec);
      await sa.destroy(spec.id);
      await sa.destroy(spec.id);
      await eventually('the instance gone', async () => !(await sa.list()).includes(spec.id));
      expect(watchErrors).toEqual([]);
    } finally {
      await sa.close();
    }
  });
});

describe('KubernetesRuntime without access', () => {
  it('fails with a readable error instead of waiting forever when it may not watch', async () => {
    const nobody = new KubernetesRuntime({ kubeConfig: impersonating(file, `nobody-${run}`) });
    try {
      await expect(nobody.list()).rejects.toThrowError(/watch (namespaces|pods|virtualmachines): .*forbidden/);
    } finally {
      await nobody.close();
    }
  });
});
