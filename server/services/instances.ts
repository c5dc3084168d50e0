/**
 * @file The instance lifecycle: applies actions to instances, records every
 * transition in the database first (what should be), then drives the
 * runtime (what is). Long runtime work (provision, destroy) runs in the
 * background; the reconciler (server/jobs/reconciler.ts) finishes whatever a
 * crash interrupted.
 */
import { canReachInstance, type Principal } from '../domain/access.js';
import { type InstanceAction, type InstanceState, isActive, planAction } from '../domain/instance/state.js';
import type { LabDefinition } from '../domain/lab/schema.js';
import { badRequest, conflict, HttpError, notFound, notImplemented } from '../errors.js';
import type { Logger } from '../log.js';
import type { InstanceSpec, Runtime } from '../runtime/runtime.js';
import { generatePassword, newInstanceId, type SecretBox } from '../secrets.js';
import type { InstanceRecord, StoredCredential } from '../store/instances.js';
import type { Store } from '../store/store.js';

const ACTIVE: InstanceState[] = ['requested', 'provisioning', 'running', 'paused', 'stopping'];

export class InstanceLifecycle {
  /** Background work per instance, so that work on one instance never overlaps. */
  private readonly work = new Map<string, Promise<void>>();
  /** Called once per accepted reset, before the runtime work (the tutorial service keeps or clears progress). */
  onReset: ((instance: InstanceRecord) => Promise<void>) | undefined;

  constructor(
    private readonly store: Store,
    private readonly runtime: Runtime | undefined,
    private readonly secrets: SecretBox,
    private readonly log: Logger,
  ) {}

  get runtimeName(): string {
    return this.runtime?.name ?? 'none';
  }

  private requireRuntime(): Runtime {
    if (!this.runtime) {
      throw notImplemented('no runtime is configured (RUNTIME=none): instances cannot be started on this server');
    }
    return this.runtime;
  }

  /** The instance if this principal may reach it; 404 otherwise (no hint that it exists). */
  async reachable(p: Principal, id: string): Promise<InstanceRecord> {
    const instance = await this.store.instances.get(id);
    if (!instance || !canReachInstance(p, instance)) throw notFound(`instance ${id}`);
    return instance;
  }

  async create(
    p: Principal,
    input: { lab: string; version?: number; courseId?: string; assignmentId?: string },
  ): Promise<InstanceRecord> {
    this.requireRuntime();
    const version = await this.store.labs.version(input.lab, input.version);
    if (!version) {
      throw input.version === undefined
        ? notFound(`lab "${input.lab}"`)
        : notFound(`version ${input.version} of lab "${input.lab}"`);
    }
    const lab = version.definition;
    const active = await this.store.instances.countByOwner(p.user.id, lab.name, ACTIVE);
    if (active >= lab.limits.maxInstancesPerUser) {
      throw conflict(
        `you already have ${active} instance(s) of lab "${lab.name}" (at most ${lab.limits.maxInstancesPerUser}); stop one first`,
      );
    }
    const credentials: StoredCredential[] = lab.systems.flatMap((system) =>
      system.user
        ? [
            {
              system: system.name,
              user: system.user.name,
              passwordEnc: this.secrets.encrypt(
                system.user.password === 'generate' ? generatePassword() : system.user.password,
              ),
            },
          ]
        : [],
    );
    const record = await this.store.instances.create({
      id: newInstanceId(),
      ownerId: p.user.id,
      labName: lab.name,
      labVersion: version.version,
      ...(input.courseId ? { courseId: input.courseId } : {}),
      ...(input.assignmentId ? { assignmentId: input.assignmentId } : {}),
      credentials,
    });
    await this.store.audit.record({
      actorId: p.user.id,
      action: 'instance.create',
      target: `instance:${record.id}`,
      details: { lab: lab.name, version: version.version },
    });
    const provisioning = await this.store.instances.transition(record, 'provisioning', p.user.id);
    if (provisioning) this.schedule(provisioning.id, () => this.provision(provisioning));
    return provisioning ?? record;
  }

  /** Applies a user's action. Idempotent: an action that is already done is a no-op. */
  async act(p: Principal, id: string, action: InstanceAction): Promise<InstanceRecord> {
    const instance = await this.reachable(p, id); // 404 before 501: nothing said of others' instances
    const runtime = this.requireRuntime();
    const plan = planAction(instance.state, action);
    if (plan.kind === 'noop') return instance;
    if (plan.kind === 'refused') throw conflict(plan.message);
    const moved = await this.store.instances.transition(instance, plan.to, p.user.id);
    if (!moved) throw conflict(`instance ${id} changed while ${action} was asked; look again and retry`);
    await this.store.audit.record({ actorId: p.user.id, action: `instance.${action}`, target: `instance:${id}` });
    switch (action) {
      case 'pause':
      case 'resume':
        // Short and synchronous: the answer tells whether it worked.
        await this.runExclusive(id, async () => {
          try {
            await (action === 'pause' ? runtime.pause(id) : runtime.resume(id));
          } catch (err) {
            await this.fail(moved, err);
            throw new HttpError(502, `could not ${action} instance ${id}: ${(err as Error).message}`, undefined, {
              cause: err,
            });
          }
        });
        return moved;
      case 'start':
        if (plan.to === 'running') {
          await this.runExclusive(id, () => runtime.resume(id));
          return moved;
        }
        this.schedule(id, () => this.provision(moved));
        return moved;
      case 'reset':
        await this.onReset?.(moved);
        this.schedule(id, () => this.provision(moved, { reset: true }));
        return moved;
      case 'stop':
        this.schedule(id, () => this.teardown(moved));
        return moved;
    }
  }

  /** Stops (if needed) and forgets an instance. */
  async remove(p: Principal, id: string): Promise<void> {
    const instance = await this.reachable(p, id);
    if (instance.state !== 'stopped' && instance.state !== 'failed') {
      await this.act(p, id, 'stop');
      await this.settled(id);
    } else if (this.runtime) {
      await this.runExclusive(id, () => this.runtime!.destroy(id));
    }
    await this.store.audit.record({ actorId: p.user.id, action: 'instance.delete', target: `instance:${id}` });
    await this.store.instances.delete(id);
  }

  /** The runtime's view of the systems, for the API and the UI's progress. */
  async status(instance: InstanceRecord) {
    if (!this.runtime || !isActive(instance.state)) return undefined;
    return this.runtime.status(instance.id);
  }

  /**
   * Finishes what an interrupted process left half-done (the reconciler's
   * call): provisioning goes on, stopping completes, requested starts.
   * Does nothing while this process already works on the instance.
   */
  drive(instance: InstanceRecord): void {
    if (this.busy(instance.id)) return;
    if (instance.state === 'provisioning') this.schedule(instance.id, () => this.provision(instance));
    else if (instance.state === 'stopping') this.schedule(instance.id, () => this.teardown(instance));
    else if (instance.state === 'requested') {
      this.schedule(instance.id, async () => {
        const moved = await this.store.instances.transition(instance, 'provisioning', 'system');
        if (moved) await this.provision(moved);
      });
    }
  }

  /** Records that the runtime lost (part of) an instance that should be up. */
  async markLost(instance: InstanceRecord, reason: string): Promise<void> {
    await this.fail(instance, new Error(reason));
  }

  /** Resolves when the background work of an instance (if any) is over. */
  async settled(id: string): Promise<void> {
    while (this.work.has(id)) await this.work.get(id);
  }

  async settleAll(): Promise<void> {
    while (this.work.size > 0) await Promise.allSettled([...this.work.values()]);
  }

  /** Whether this process is working on the instance now (the reconciler leaves those alone). */
  busy(id: string): boolean {
    return this.work.has(id);
  }

  async spec(instance: InstanceRecord): Promise<InstanceSpec> {
    const version = await this.store.labs.version(instance.labName, instance.labVersion);
    if (!version) throw notFound(`version ${instance.labVersion} of lab "${instance.labName}"`);
    return buildSpec(instance, version.definition, (sealed) => this.secrets.decrypt(sealed));
  }

  /** Provisions (or, with reset, re-creates) the instance and records the outcome. */
  async provision(instance: InstanceRecord, opts: { reset?: boolean } = {}): Promise<void> {
    const runtime = this.requireRuntime();
    let current = instance;
    try {
      const spec = await this.spec(instance);
      if (opts.reset) await runtime.reset(spec);
      else await runtime.provision(spec);
      const done = await this.store.instances.transition(current, 'running', 'system');
      if (!done) this.log.info({ instance: instance.id }, 'instance changed while provisioning; leaving it');
    } catch (err) {
      current = (await this.store.instances.get(instance.id)) ?? current;
      if (current.state === 'provisioning') await this.fail(current, err);
    }
  }

  /** Destroys the runtime objects and records `stopped`. */
  async teardown(instance: InstanceRecord): Promise<void> {
    const runtime = this.requireRuntime();
    try {
      await runtime.destroy(instance.id);
      await this.store.instances.transition(instance, 'stopped', 'system');
    } catch (err) {
      await this.fail(instance, err, 'could not stop');
    }
  }

  private async fail(instance: InstanceRecord, err: unknown, prefix?: string): Promise<void> {
    const message = err instanceof Error ? err.message : String(err);
    this.log.warn({ instance: instance.id, err }, 'instance failed');
    const current = (await this.store.instances.get(instance.id)) ?? instance;
    await this.store.instances.transition(current, 'failed', 'system', prefix ? `${prefix}: ${message}` : message);
  }

  private schedule(id: string, job: () => Promise<void>): void {
    void this.runExclusive(id, job).catch((err) => this.log.error({ err, instance: id }, 'background work failed'));
  }

  private async runExclusive<T>(id: string, job: () => Promise<T>): Promise<T> {
    while (this.work.has(id)) await this.work.get(id)?.catch(() => undefined);
    const run = job();
    const tracked = run.then(
      () => undefined,
      () => undefined,
    );
    this.work.set(id, tracked);
    try {
      return await run;
    } finally {
      if (this.work.get(id) === tracked) this.work.delete(id);
    }
  }
}

/** The runtime's view of an instance: its lab version's systems with clear credentials. */
export function buildSpec(
  instance: InstanceRecord,
  lab: LabDefinition,
  decrypt: (sealed: string) => string,
): InstanceSpec {
  return {
    id: instance.id,
    owner: instance.ownerId,
    lab: { name: instance.labName, version: instance.labVersion, definition: lab },
    systems: lab.systems.map((definition) => {
      const cred = instance.credentials.find((c) => c.system === definition.name);
      return cred
        ? { definition, credentials: { user: cred.user, password: decrypt(cred.passwordEnc) } }
        : { definition };
    }),
  };
}

export function checkAction(action: string): InstanceAction {
  const actions: readonly string[] = ['start', 'stop', 'pause', 'resume', 'reset'];
  if (!actions.includes(action)) throw badRequest(`unknown action "${action}": expected ${actions.join(', ')}`);
  return action as InstanceAction;
}
