/**
 * @file The runtime's view of the cluster: informers (list, then watch) on
 * the namespaces, pods and VirtualMachines the tool manages. Status and list
 * read this cache, never poll the API. A watch that fails is restarted with a
 * capped, jittered backoff, and the failure reported, never swallowed.
 */
import {
  CoreV1Api,
  CustomObjectsApi,
  type Informer,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  makeInformer,
  type ObjectCache,
  type V1Namespace,
  type V1Pod,
} from '@kubernetes/client-node';
import { makeKeptAliveClient } from './api-clients.js';
import { runtimeError } from './api-errors.js';
import { LABEL, MANAGED_BY } from './names.js';
import type { VirtualMachine } from './virtual-machine.js';

type Watched<T extends KubernetesObject> = Informer<T> & ObjectCache<T>;

export class InstanceWatches {
  readonly namespaces: Watched<V1Namespace>;
  readonly pods: Watched<V1Pod>;
  readonly virtualMachines: Watched<VirtualMachine & KubernetesObject>;
  private started?: Promise<void>;
  /** Callers of ready() still waiting for the first lists: a failure of those fails them too. */
  private readonly waiting = new Set<(err: unknown) => void>();
  private synced = false;
  private closed = false;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    kc: KubeConfig,
    private readonly onError: (err: unknown, what: string) => void,
  ) {
    const labelSelector = `${LABEL.managedBy}=${MANAGED_BY}`;
    const core = makeKeptAliveClient(kc, CoreV1Api);
    const custom = makeKeptAliveClient(kc, CustomObjectsApi);
    this.namespaces = makeInformer(
      kc,
      '/api/v1/namespaces',
      () => core.listNamespace({ labelSelector }),
      labelSelector,
    );
    this.pods = makeInformer(kc, '/api/v1/pods', () => core.listPodForAllNamespaces({ labelSelector }), labelSelector);
    this.virtualMachines = makeInformer(
      kc,
      '/apis/kubevirt.io/v1/virtualmachines',
      () =>
        custom.listClusterCustomObject({
          group: 'kubevirt.io',
          version: 'v1',
          plural: 'virtualmachines',
          labelSelector,
        }) as Promise<KubernetesListObject<VirtualMachine & KubernetesObject>>,
      labelSelector,
    );
  }

  /**
   * Starts the watches once; resolves when each has listed what exists. While
   * they have not, a failure (no access, no server) rejects the callers
   * waiting, so nobody hangs; the watches keep retrying for the next caller.
   */
  ready(): Promise<void> {
    this.started ??= Promise.all([
      this.keep('namespaces', this.namespaces),
      this.keep('pods', this.pods),
      this.keep('virtualmachines', this.virtualMachines),
    ]).then(() => {
      this.synced = true;
    });
    const started = this.started;
    if (this.synced) return started;
    return new Promise((resolve, reject) => {
      const fail = (err: unknown) => {
        this.waiting.delete(fail);
        reject(err);
      };
      this.waiting.add(fail);
      started.then(() => {
        this.waiting.delete(fail);
        resolve();
      });
    });
  }

  /** Resolves when `check` holds on the cache (re-checked on every change), or rejects after `ms`. */
  until(what: string, check: () => boolean, ms = 60_000): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const informers = [this.namespaces, this.pods, this.virtualMachines] as Informer<KubernetesObject>[];
      const done = (err?: Error) => {
        clearTimeout(timer);
        for (const i of informers) {
          i.off('change', onChange);
          i.off('delete', onChange);
        }
        err ? reject(err) : resolve();
      };
      const onChange = () => check() && done();
      const timer = setTimeout(() => done(new Error(`timed out waiting for ${what}`)), ms);
      for (const i of informers) {
        i.on('change', onChange);
        i.on('delete', onChange);
      }
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    await Promise.all([this.namespaces.stop(), this.pods.stop(), this.virtualMachines.stop()]);
  }

  /** Starts one informer; resolves after its first successful list; restarts it whenever it fails. */
  private keep<T extends KubernetesObject>(what: string, informer: Watched<T>): Promise<void> {
    return new Promise((resolve) => {
      let failures = 0;
      let failed = false;
      informer.on('error', (err: unknown) => {
        if (this.closed) return;
        this.onError(err, `watch of ${what}`);
        if (!this.synced) for (const fail of [...this.waiting]) fail(runtimeError(`watch ${what}`, err));
        failed = true;
        failures += 1;
        const delay = Math.min(30_000, 500 * 2 ** Math.min(failures, 6)) * (0.5 + Math.random() / 2);
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          if (!this.closed) void start();
        }, delay);
        this.timers.add(timer);
      });
      const start = async () => {
        failed = false;
        await informer.start();
        // start() resolves after the list and the watch began, or after reporting an error.
        if (!failed) {
          failures = 0;
          resolve();
        }
      };
      void start();
    });
  }
}
