/**
 * @file The kubernetes runtime (DESIGN.md "kubernetes"): one namespace per
 * instance, built by the pure manifest builders, created in order. What exists
 * is read from watches (labels), never remembered, so a restarted tool sees
 * the same instances. 409 on create adopts what is there; 404 on delete is done.
 *
 * Pause: Kubernetes cannot freeze a pod. Pausing an instance pauses its VM
 * systems (KubeVirt's pause subresource); container systems keep running and
 * keep their quota. Terminals, desktops and exec go through the API server:
 * pods/exec and pods/portforward for containers, KubeVirt's console and vnc for
 * VMs (exec in a VM has no API: "unavailable").
 */
import type { Duplex } from 'node:stream';
import type { KubeConfig, KubernetesObject, KubernetesObjectApi } from '@kubernetes/client-node';
import {
  type ExecOptions,
  type ExecResult,
  type InstanceId,
  type InstanceSpec,
  type InstanceStatus,
  type Runtime,
  RuntimeError,
  type SystemSpec,
  type TerminalSize,
  type TerminalStream,
} from '../runtime.js';
import { makeKeptAliveObjectApi } from './api-clients.js';
import { isConflict, isNotFound, isServiceAccountPending, runtimeError } from './api-errors.js';
import { openVmiStream } from './kubevirt-streams.js';
import { vmiAction } from './kubevirt-subresources.js';
import { buildInstanceManifests, manifestList } from './manifests.js';
import { type ClusterSettings, DEFAULT_CLUSTER_SETTINGS, LABEL, namespaceName } from './names.js';
import { desktopOfPod, execInPod, terminalInPod } from './pod-streams.js';
import { podStatus, vmStatus } from './system-status.js';
import { InstanceWatches } from './watches.js';

/** How long provisioning waits for a container system to run before it sets up its user. */
const USER_SETUP_WAIT_MS = 10 * 60_000;
/** How long a pod waits for its new namespace's default service account (seconds in a busy cluster). */
const SERVICE_ACCOUNT_WAIT_MS = 60_000;

export interface KubernetesRuntimeOptions {
  kubeConfig: KubeConfig;
  settings?: Partial<ClusterSettings>;
  /** Where failures of background watches go (they are retried). */
  onError?: (err: unknown, what: string) => void;
}

export class KubernetesRuntime implements Runtime {
  readonly name = 'kubernetes';
  private readonly kc: KubeConfig;
  private readonly settings: ClusterSettings;
  private readonly objects: KubernetesObjectApi;
  private readonly watches: InstanceWatches;

  constructor(options: KubernetesRuntimeOptions) {
    this.kc = options.kubeConfig;
    this.settings = { ...DEFAULT_CLUSTER_SETTINGS, ...options.settings };
    this.objects = makeKeptAliveObjectApi(this.kc);
    this.watches = new InstanceWatches(this.kc, options.onError ?? (() => {}));
  }

  async provision(spec: InstanceSpec): Promise<void> {
    const manifests = buildInstanceManifests(spec, this.settings);
    await this.adoptNamespace(spec, manifests.namespace);
    for (const object of manifestList(manifests).slice(1)) await this.ensure(object);
    const namespace = manifests.namespace.metadata?.name as string;
    const withUsers = spec.systems.filter((s) => s.definition.kind === 'container' && s.credentials);
    await Promise.all(withUsers.map((s) => this.setUser(namespace, s)));
  }

  /**
   * Creates the lab's user of a container system once its pod runs, as the
   * local runtime does: idempotent, the password through stdin, never argv
   * or the pod spec. (VMs get theirs from cloud-init.)
   */
  private async setUser(namespace: string, system: SystemSpec): Promise<void> {
    const name = system.definition.name;
    const { user, password } = system.credentials ?? { user: '', password: '' };
    await this.watches.ready();
    const phase = () => {
      const pod = this.watches.pods.get(name, namespace);
      return pod ? podStatus(pod) : undefined;
    };
    await this.watches.until(
      `system ${name} to run`,
      () => ['ready', 'failed'].includes(phase()?.phase ?? ''),
      USER_SETUP_WAIT_MS,
    );
    const now = phase();
    if (now?.phase === 'failed')
      throw new RuntimeError(`system ${name} failed: ${now.reason ?? 'unknown reason'}`, 'failed');
    const script =
      'id -u "$1" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$1" 2>/dev/null || ' +
      'useradd -m "$1" || adduser -D "$1"; chpasswd';
    const result = await execInPod(this.kc, namespace, name, ['/bin/sh', '-c', script, 'sh', user], {
      stdin: `${user}:${password}\n`,
      timeout: 30,
    });
    if (result.exitCode !== 0)
      throw new RuntimeError(
        `the user ${user} could not be set up on system ${name}: ${result.stderr.trim() || `exit code ${result.exitCode}`}`,
        'failed',
      );
  }

  async status(id: InstanceId): Promise<InstanceStatus> {
    await this.watches.ready();
    const namespace = this.namespaceOf(id);
    const ns = this.watches.namespaces.get(namespace);
    if (!ns || ns.metadata?.deletionTimestamp) return { id, exists: false, systems: [] };
    const systems = [
      ...this.watches.pods.list(namespace).map(podStatus),
      ...this.watches.virtualMachines.list(namespace).map(vmStatus),
    ].sort((a, b) => a.name.localeCompare(b.name));
    return { id, exists: true, systems };
  }

  async list(): Promise<InstanceId[]> {
    await this.watches.ready();
    return this.watches.namespaces
      .list()
      .filter((ns) => !ns.metadata?.deletionTimestamp && ns.metadata?.name?.startsWith(this.settings.namespacePrefix))
      .map((ns) => ns.metadata?.labels?.[LABEL.instance])
      .filter((id): id is string => typeof id === 'string')
      .sort();
  }

  pause(id: InstanceId): Promise<void> {
    return this.eachRunningVm(id, 'pause');
  }

  resume(id: InstanceId): Promise<void> {
    return this.eachRunningVm(id, 'unpause');
  }

  async destroy(id: InstanceId): Promise<void> {
    const name = this.namespaceOf(id);
    try {
      // Everything of the instance lives in its namespace: the namespace controller removes it all.
      await this.objects.delete({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    } catch (err) {
      if (!isNotFound(err)) throw runtimeError(`destroy instance ${id}`, err);
    }
  }

  async reset(spec: InstanceSpec, system?: string): Promise<void> {
    const manifests = buildInstanceManifests(spec, this.settings);
    const namespace = manifests.namespace.metadata?.name as string;
    const workloads: KubernetesObject[] = [...manifests.pods, ...manifests.virtualMachines];
    const targets = workloads.filter((o) => system === undefined || o.metadata?.name === system);
    if (system !== undefined && targets.length === 0)
      throw new RuntimeError(`instance ${spec.id} has no system "${system}"`, 'not-found');
    await this.watches.ready();
    for (const object of targets) {
      try {
        await this.objects.delete(object, undefined, undefined, 0, undefined, 'Foreground');
      } catch (err) {
        if (!isNotFound(err)) throw runtimeError(`reset ${object.metadata?.name}`, err);
      }
    }
    // Back to the image: a pod or a containerDisk VM made anew starts from its image; a VM's
    // imported disk (its DataVolume, owned by the VM) went with the VM and is imported anew.
    const name = (o: KubernetesObject) => o.metadata?.name as string;
    await this.watches.until(`the old systems of instance ${spec.id} to be gone`, () =>
      targets.every((o) =>
        o.kind === 'Pod'
          ? !this.watches.pods.get(name(o), namespace)
          : !this.watches.virtualMachines.get(name(o), namespace),
      ),
    );
    await this.provision(spec);
  }

  async terminal(id: InstanceId, system: string, size: TerminalSize): Promise<TerminalStream> {
    const { namespace, kind } = await this.systemOf(id, system);
    if (kind === 'container') return terminalInPod(this.kc, namespace, system, size);
    // A serial console has no size to set.
    const console = (await openVmiStream(this.kc, namespace, system, 'console')) as TerminalStream;
    console.resize = async () => {};
    return console;
  }

  async desktop(id: InstanceId, system: string): Promise<Duplex> {
    const { namespace, kind } = await this.systemOf(id, system);
    return kind === 'container'
      ? desktopOfPod(this.kc, namespace, system)
      : openVmiStream(this.kc, namespace, system, 'vnc');
  }

  async exec(id: InstanceId, system: string, argv: string[], opts?: ExecOptions): Promise<ExecResult> {
    const { namespace, kind } = await this.systemOf(id, system);
    if (kind === 'vm')
      throw new RuntimeError(
        `exec in VM system "${system}" is not available in the kubernetes runtime yet (KubeVirt has no exec API)`,
        'unavailable',
      );
    return execInPod(this.kc, namespace, system, argv, opts);
  }

  close(): Promise<void> {
    return this.watches.close();
  }

  /** Where a system runs, from the watches; not-found when the instance or system is not there. */
  private async systemOf(id: InstanceId, system: string): Promise<{ namespace: string; kind: 'container' | 'vm' }> {
    await this.watches.ready();
    const namespace = this.namespaceOf(id);
    if (this.watches.pods.get(system, namespace)) return { namespace, kind: 'container' };
    if (this.watches.virtualMachines.get(system, namespace)) return { namespace, kind: 'vm' };
    throw new RuntimeError(`instance ${id} has no system "${system}"`, 'not-found');
  }

  private namespaceOf(id: InstanceId): string {
    return namespaceName(id, this.settings);
  }

  /** Creates the namespace, or adopts it if it is this instance's and not on its way out. */
  private async adoptNamespace(spec: InstanceSpec, namespace: KubernetesObject): Promise<void> {
    try {
      await this.objects.create(namespace);
      return;
    } catch (err) {
      if (!isConflict(err)) throw runtimeError(`create namespace for instance ${spec.id}`, err);
    }
    const existing = await this.objects.read({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: namespace.metadata?.name as string },
    });
    if (existing.metadata?.labels?.[LABEL.instance] !== namespace.metadata?.labels?.[LABEL.instance])
      throw new RuntimeError(`namespace ${existing.metadata?.name} exists and is not instance ${spec.id}'s`, 'failed');
    if (existing.metadata?.deletionTimestamp)
      throw new RuntimeError(`instance ${spec.id} is still being deleted; try again in a moment`, 'unavailable');
  }

  /**
   * Creates an object; one that already exists (a retry, a half-made
   * instance) is adopted. A pod waits (up to SERVICE_ACCOUNT_WAIT_MS) for the
   * namespace's default service account, which the cluster adds just after
   * the namespace.
   */
  private async ensure(object: KubernetesObject): Promise<void> {
    const started = Date.now();
    for (let delay = 100; ; delay = Math.min(2000, delay * 2)) {
      try {
        await this.objects.create(object);
        return;
      } catch (err) {
        if (isConflict(err)) return;
        if (!isServiceAccountPending(err) || Date.now() - started > SERVICE_ACCOUNT_WAIT_MS)
          throw runtimeError(`create ${object.kind} ${object.metadata?.name}`, err);
      }
      await new Promise((r) => setTimeout(r, delay));
    }
  }

  private async eachRunningVm(id: InstanceId, action: 'pause' | 'unpause'): Promise<void> {
    await this.watches.ready();
    const namespace = this.namespaceOf(id);
    if (!this.watches.namespaces.get(namespace)) throw new RuntimeError(`instance ${id} does not exist`, 'not-found');
    const want = action === 'pause' ? 'Running' : 'Paused';
    for (const vm of this.watches.virtualMachines.list(namespace)) {
      if (vm.status?.printableStatus !== want) continue;
      try {
        await vmiAction(this.kc, namespace, vm.metadata.name as string, action);
      } catch (err) {
        throw runtimeError(`${action} VM ${vm.metadata.name} of instance ${id}`, err);
      }
    }
  }
}
