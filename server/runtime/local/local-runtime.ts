/**
 * @file The local runtime (DESIGN.md "local"): one machine runs every
 * instance. Containers through the Docker Engine API (Docker, or Podman's
 * compatible socket), on one bridge network per instance; VMs through a
 * `VmDriver` that attaches them to the same bridge. This class owns the
 * composition: network first, then every system, and what is left when one
 * fails (nothing).
 *
 * What exists is read from the engine (labels), never remembered, so a
 * restarted server sees the same instances. Only what provisioning is doing
 * right now, and why the last one failed, lives in memory.
 */
import type { Duplex } from 'node:stream';
import Docker from 'dockerode';
import { errorMessage } from '../../errors.js';
import {
  type ExecOptions,
  type ExecResult,
  type InstanceId,
  type InstanceSpec,
  type InstanceStatus,
  type Runtime,
  RuntimeError,
  type SystemPhase,
  type SystemSpec,
  type SystemStatus,
  type TerminalSize,
  type TerminalStream,
} from '../runtime.js';
import { type Subnet, systemAddress } from './addressing.js';
import { openDesktop, openPort, openTerminal, runExec } from './container-exec.js';
import { type ContainerSummary, containerStatus } from './container-status.js';
import { ContainerSystems } from './container-systems.js';
import { engineMessage, ignoreNotFound, isNotFound } from './engine-errors.js';
import { ensureBridge, removeBridge } from './host-bridge.js';
import { InstanceNetworks } from './instance-network.js';
import { composeStatus } from './instance-status.js';
import { hostsOf, type SystemSummary } from './manifests.js';
import { bridgeName, checkInstanceId, containerName, LABEL, networkName } from './names.js';
import type { VmDriver, VmNetwork } from './vm-driver.js';
import { openVmPort } from './vm-port.js';

export interface LocalRuntimeOptions {
  /** The engine; by default from DOCKER_HOST (or the local Docker socket). */
  docker?: Docker;
  /** Runs systems of kind `vm`; without one, a lab with a VM fails with a clear reason. */
  vmDriver?: VmDriver;
  /** Private /16 out of which every instance network gets a /24. */
  subnetPool?: string;
  /** Pull images that are not on this machine (only useful with a reachable registry). */
  pullMissingImages?: boolean;
  /**
   * Name of this server's share of the engine (label lab-orchestrator.scope):
   * `list()` reports only instances of this scope, so servers or test runs
   * sharing one engine never reap each other's instances. Default "default".
   */
  scope?: string;
}

/** A system's status as provisioning sees it, before the engine can tell. */
function phaseOf(system: SystemSpec, phase: SystemPhase, reason?: string): SystemStatus {
  const { name, kind, consoles } = system.definition;
  return { name, kind, consoles, phase, ...(reason ? { reason } : {}) };
}

const DEFAULT_POOL = '10.123.0.0/16';

export class LocalRuntime implements Runtime {
  readonly name = 'local';
  private readonly docker: Docker;
  private readonly scope: string;
  private readonly vm?: VmDriver;
  private readonly networks: InstanceNetworks;
  private readonly containers: ContainerSystems;
  /** instance → system → phase, while a provision or reset runs. */
  private readonly progress = new Map<InstanceId, Map<string, SystemStatus>>();
  /** instance → systems with the reason of the last failed provision (what exists is gone). */
  private readonly failures = new Map<InstanceId, SystemStatus[]>();

  constructor(options: LocalRuntimeOptions = {}) {
    this.docker = options.docker ?? new Docker();
    this.vm = options.vmDriver;
    this.scope = options.scope ?? 'default';
    this.networks = new InstanceNetworks(this.docker, options.subnetPool ?? DEFAULT_POOL, this.scope);
    this.containers = new ContainerSystems(this.docker, options.pullMissingImages ?? false, this.scope);
  }

  async provision(spec: InstanceSpec): Promise<void> {
    checkInstanceId(spec.id);
    this.failures.delete(spec.id);
    const phases = new Map(spec.systems.map((s) => [s.definition.name, phaseOf(s, 'pending')]));
    this.progress.set(spec.id, phases);
    const setPhase = (system: SystemSpec) => (phase: SystemPhase, reason?: string) => {
      phases.set(system.definition.name, phaseOf(system, phase, reason));
    };
    let failed: string | undefined;
    try {
      const containers = spec.systems.filter((s) => s.definition.kind === 'container');
      const vms = spec.systems.filter((s) => s.definition.kind === 'vm');
      if (vms.length > 0 && !this.vm) {
        failed = vms[0]?.definition.name;
        throw new RuntimeError(
          `system ${vms[0]?.definition.name} is a VM, but this server runs no VM driver (QEMU): only containers can start here`,
          'bad-spec',
        );
      }
      await Promise.all(
        containers.map(async (s) => {
          try {
            await this.containers.ensureImage(s.definition.image, setPhase(s));
          } catch (err) {
            failed = s.definition.name;
            throw err;
          }
        }),
      );
      const subnet = await this.networks.ensure(spec);
      await Promise.all([
        ...containers.map((s) => this.startSystem(spec, s, subnet, setPhase(s), (n) => (failed = n))),
        ...vms.map((s) => this.startSystem(spec, s, subnet, setPhase(s), (n) => (failed = n))),
      ]);
    } catch (err) {
      const reason = errorMessage(err);
      this.failures.set(
        spec.id,
        spec.systems.map((s) =>
          phaseOf(
            s,
            'failed',
            s.definition.name === failed || failed === undefined ? reason : `another system failed: ${reason}`,
          ),
        ),
      );
      // A failed instance leaves nothing behind; the reason stays readable through status.
      await this.removeEverything(spec.id).catch(() => {});
      throw err instanceof RuntimeError ? err : new RuntimeError(reason, 'failed', { cause: err });
    } finally {
      this.progress.delete(spec.id);
    }
  }

  private async startSystem(
    spec: InstanceSpec,
    system: SystemSpec,
    subnet: Subnet,
    onPhase: (phase: SystemPhase, reason?: string) => void,
    onFail: (name: string) => void,
  ): Promise<void> {
    try {
      if (system.definition.kind === 'vm') {
        onPhase('booting');
        const driver = this.vmDriver();
        await ensureBridge(bridgeName(spec.id));
        await driver.create(spec.id, system, this.vmNetwork(spec, system, subnet));
      } else {
        await this.containers.ensure(spec, system, subnet, onPhase);
      }
      onPhase('ready');
    } catch (err) {
      onFail(system.definition.name);
      throw err;
    }
  }

  private vmDriver(): VmDriver {
    if (!this.vm)
      throw new RuntimeError('this server runs no VM driver (QEMU): VM systems cannot start', 'unavailable');
    return this.vm;
  }

  /** Where a VM sits: its fixed address, the bridge, and every system's address for /etc/hosts. */
  private vmNetwork(spec: InstanceSpec, system: SystemSpec, subnet: Subnet): VmNetwork {
    const index = spec.systems.findIndex((s) => s.definition.name === system.definition.name);
    const internet = spec.lab.definition.network.internet;
    return {
      bridge: bridgeName(spec.id),
      address: `${systemAddress(subnet, index)}/24`,
      ...(internet ? { gateway: subnet.gateway, dns: subnet.gateway } : {}),
      hosts: hostsOf(spec, subnet),
    };
  }

  async status(id: InstanceId): Promise<InstanceStatus> {
    const [containers, lab, vms] = await Promise.all([
      this.listContainers(id),
      this.labSystems(id),
      this.vm ? this.vm.list().then((all) => all.filter((v) => v.instanceId === id)) : [],
    ]);
    const vmStatuses = await Promise.all(vms.map((v) => this.vm?.status(id, v.system)));
    return composeStatus({
      id,
      lab,
      found: [...containers.map(containerStatus), ...vmStatuses.filter((s) => s !== undefined)],
      progress: this.progress.get(id),
      failure: this.failures.get(id),
    });
  }

  async list(): Promise<InstanceId[]> {
    const [containers, networks, vms] = await Promise.all([
      this.docker.listContainers({ all: true, filters: { label: [LABEL.instance, `${LABEL.scope}=${this.scope}`] } }),
      this.docker.listNetworks({ filters: { label: [LABEL.instance] } }),
      this.vm ? this.vm.list() : [],
    ]);
    const ids = new Set<string>();
    const others = new Set<string>();
    for (const labels of [...containers, ...networks].map((o) => o.Labels)) {
      const id = labels?.[LABEL.instance];
      if (!id) continue;
      if (labels[LABEL.scope] === this.scope) ids.add(id);
      else others.add(id);
    }
    // VMs carry no scope: one belongs to another scope when its instance network does.
    for (const v of vms) if (!others.has(v.instanceId)) ids.add(v.instanceId);
    return [...ids].sort();
  }

  async pause(id: InstanceId): Promise<void> {
    const containers = await this.listContainers(id);
    await Promise.all(
      containers
        .filter((c) => c.State === 'running')
        .map((c) => this.docker.getContainer(c.Id).pause().catch(this.unlessState(c.Id, 'paused'))),
    );
    await this.vm?.pause(id);
  }

  async resume(id: InstanceId): Promise<void> {
    const containers = await this.listContainers(id);
    await Promise.all(
      containers
        .filter((c) => c.State === 'paused')
        .map((c) => this.docker.getContainer(c.Id).unpause().catch(this.unlessState(c.Id, 'running'))),
    );
    await this.vm?.resume(id);
  }

  /** For a retried pause/resume: an error is fine when the container is where we want it. */
  private unlessState(containerId: string, wanted: string) {
    return async (err: unknown) => {
      const info = await this.docker
        .getContainer(containerId)
        .inspect()
        .catch(() => undefined);
      if (info?.State.Status !== wanted) throw err;
    };
  }

  async destroy(id: InstanceId): Promise<void> {
    checkInstanceId(id);
    this.failures.delete(id);
    await this.removeEverything(id);
  }

  private async removeEverything(id: InstanceId): Promise<void> {
    const containers = await this.listContainers(id);
    await Promise.all(
      containers.map((c) => ignoreNotFound(this.docker.getContainer(c.Id).remove({ force: true, v: true }))),
    );
    await this.vm?.destroy(id);
    const networks = await this.docker.listNetworks({ filters: { label: [`${LABEL.instance}=${id}`] } });
    const names = new Set([networkName(id), ...networks.map((n) => n.Name)]);
    await Promise.all([...names].map((n) => ignoreNotFound(this.docker.getNetwork(n).remove())));
    // A bridge made for VMs (or kept by a tap) outlives the engine's network: remove it too.
    if (this.vm) await removeBridge(bridgeName(id));
  }

  async reset(spec: InstanceSpec, system?: string): Promise<void> {
    checkInstanceId(spec.id);
    const targets = spec.systems.filter((s) => system === undefined || s.definition.name === system);
    if (targets.length === 0) {
      throw new RuntimeError(`no system named ${system} in lab ${spec.lab.name}`, 'not-found');
    }
    const subnet = await this.networks.find(spec.id);
    if (!subnet) throw new RuntimeError(`instance ${spec.id} does not exist: provision it first`, 'not-found');
    const phases = new Map(targets.map((s) => [s.definition.name, phaseOf(s, 'creating')]));
    this.progress.set(spec.id, phases);
    try {
      await Promise.all(
        targets.map(async (s) => {
          const onPhase = (phase: SystemPhase) => phases.set(s.definition.name, phaseOf(s, phase));
          if (s.definition.kind === 'vm') {
            const driver = this.vmDriver();
            await ensureBridge(bridgeName(spec.id));
            await driver.reset(spec.id, s, this.vmNetwork(spec, s, subnet));
          } else {
            await this.containers.remove(spec.id, s.definition.name);
            await this.containers.ensure(spec, s, subnet, onPhase);
          }
        }),
      );
    } finally {
      this.progress.delete(spec.id);
    }
  }

  async terminal(id: InstanceId, system: string, size: TerminalSize): Promise<TerminalStream> {
    const container = await this.containerOf(id, system);
    if (!container) return this.vmDriver().terminal(id, system, size);
    const info = await container.inspect();
    this.checkUsable(info.State.Status, system);
    return openTerminal(container, size, info.Config.Labels?.[LABEL.user]);
  }

  async desktop(id: InstanceId, system: string): Promise<Duplex> {
    const container = await this.containerOf(id, system);
    if (!container) return this.vmDriver().desktop(id, system);
    const info = await container.inspect();
    this.checkUsable(info.State.Status, system);
    if (!(info.Config.Labels?.[LABEL.consoles] ?? '').split(',').includes('desktop')) {
      throw new RuntimeError(`system ${system} has no desktop console`, 'bad-spec');
    }
    return openDesktop(container);
  }

  /**
   * A byte stream to a TCP port of a system, for the gateway's HTTP proxy: into a container through
   * the engine, to a VM over the instance bridge at its fixed address (vm-port.ts).
   */
  async forward(id: InstanceId, system: string, port: number): Promise<Duplex> {
    const container = await this.containerOf(id, system);
    if (!container) {
      const vm = await this.vm?.status(id, system);
      if (!vm) throw new RuntimeError(`instance ${id} has no system ${system}`, 'not-found');
      if (vm.phase === 'paused')
        throw new RuntimeError(`system ${system} is paused: resume the lab first`, 'unavailable');
      const [systems, subnet] = await Promise.all([this.labSystems(id), this.networks.find(id)]);
      const index = systems?.findIndex((s) => s.name === system) ?? -1;
      if (!subnet || index < 0)
        throw new RuntimeError(`instance ${id} has no network for system ${system}`, 'not-found');
      return openVmPort(bridgeName(id), subnet, systemAddress(subnet, index), port);
    }
    const info = await container.inspect();
    this.checkUsable(info.State.Status, system);
    return openPort(container, port);
  }

  async exec(id: InstanceId, system: string, argv: string[], opts?: ExecOptions): Promise<ExecResult> {
    if (argv.length === 0) throw new RuntimeError('exec needs a command: argv is empty', 'bad-spec');
    const container = await this.containerOf(id, system);
    if (!container) return this.vmDriver().exec(id, system, argv, opts);
    try {
      return await runExec(container, argv, opts);
    } catch (err) {
      const info = await container.inspect().catch(() => undefined);
      if (info) this.checkUsable(info.State.Status, system);
      throw new RuntimeError(`command on system ${system} failed to run: ${engineMessage(err)}`, 'failed', {
        cause: err,
      });
    }
  }

  /**
   * The saved state of every VM system of the lab (VmDriver.warmUp), one
   * after the other: the machine's cores are better spent on one cold boot
   * at a time. Containers need nothing: their images are on this machine.
   */
  async prepare(lab: InstanceSpec['lab']): Promise<void> {
    const vm = this.vm;
    if (!vm?.warmUp) return;
    const failed: string[] = [];
    for (const definition of lab.definition.systems) {
      if (definition.kind !== 'vm') continue;
      try {
        await vm.warmUp({ definition });
      } catch (err) {
        failed.push(`system ${definition.name}: ${errorMessage(err)}`);
      }
    }
    if (failed.length > 0) {
      throw new RuntimeError(`cannot prepare lab ${lab.name} version ${lab.version}: ${failed.join('; ')}`);
    }
  }

  async close(): Promise<void> {
    await this.vm?.close?.();
  }

  private checkUsable(state: string, system: string): void {
    if (state === 'paused') throw new RuntimeError(`system ${system} is paused: resume the lab first`, 'unavailable');
    if (state !== 'running') throw new RuntimeError(`system ${system} is not running (${state})`, 'unavailable');
  }

  /** The container of a system; undefined when the system is not a container (a VM, or nothing). */
  private async containerOf(id: InstanceId, system: string): Promise<Docker.Container | undefined> {
    checkInstanceId(id);
    const container = this.docker.getContainer(containerName(id, system));
    try {
      await container.inspect();
      return container;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    if (this.vm && (await this.vm.list()).some((v) => v.instanceId === id && v.system === system)) return undefined;
    throw new RuntimeError(`no system ${system} in instance ${id}`, 'not-found');
  }

  private async listContainers(id: InstanceId): Promise<Array<ContainerSummary & { Id: string }>> {
    return this.docker.listContainers({ all: true, filters: { label: [`${LABEL.instance}=${id}`] } });
  }

  /** The lab's systems as recorded on the instance network; undefined when there is no network. */
  private async labSystems(id: InstanceId): Promise<SystemSummary[] | undefined> {
    try {
      const info = (await this.docker.getNetwork(networkName(id)).inspect()) as { Labels?: Record<string, string> };
      const text = info.Labels?.[LABEL.systems];
      return text ? (JSON.parse(text) as SystemSummary[]) : [];
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }
}
