/**
 * @file The instance lifecycle: applies actions to instances, records every
 * transition in the database first (what should be), then drives the
 * runtime (what is). Long runtime work (provision, destroy) runs in the
 * background (services/instance-work.ts); the reconciler
 * (server/jobs/reconciler.ts) finishes whatever a crash interrupted.
 *
 * Limits (services/limits.ts): a new instance needs room and is `requested`
 * (the queue) until the admission job (server/jobs/admission.ts) admits it;
 * the reaper (server/jobs/reaper.ts) stops or pauses expired ones through
 * `expire`. Actions of a user count as activity for the idle timer.
 */
import { canReachInstance, isAdmin, type Principal } from '../domain/access.js';
import { type InstanceAction, type InstanceState, isActive, planAction } from '../domain/instance/state.js';
import type { LabDefinition } from '../domain/lab/schema.js';
import { type InstanceLimits, type ReaperDecision, sumResources } from '../domain/limits.js';
import { conflict, forbidden, HttpError, notFound, notImplemented } from '../errors.js';
import type { Logger } from '../log.js';
import type { InstanceSpec, Runtime } from '../runtime/runtime.js';
import { newInstanceId, type SecretBox } from '../secrets.js';
import type { InstanceRecord } from '../store/instances.js';
import { retryBusy } from '../store/retry.js';
import type { Store } from '../store/store.js';
import { buildSpec, newCredentials } from './instance-spec.js';
import { InstanceWork } from './instance-work.js';
import { HOLDING, type LimitSettings, Limits, labLimits, NO_LIMITS } from './limits.js';

const ACTIVE: InstanceState[] = ['requested', ...HOLDING];

/** How long a launch's answer waits for the admission round it started (ms). */
const ADMISSION_WAIT_MS = 3000;

export class InstanceLifecycle {
  /** Called once per accepted reset, before the runtime work (the tutorial service keeps or clears progress). */
  onReset: ((instance: InstanceRecord) => Promise<void>) | undefined;
  /** The server's limits: room, queue, idle timer, extensions. */
  readonly limits: Limits;
  /** Background work per instance, claimed across replicas. */
  private readonly work: InstanceWork;
  /** Admits queued instances (the admission job); without one, instances start at once. */
  private admitter?: { drain(): Promise<void>; wake(): void };
  /** Warm pools (services/pools.ts); without them every launch starts a new instance. */
  private pools?: PoolClaimer;

  constructor(
    private readonly store: Store,
    private readonly runtime: Runtime | undefined,
    private readonly secrets: SecretBox,
    private readonly log: Logger,
    limits: LimitSettings = NO_LIMITS,
  ) {
    this.limits = new Limits(store, log, limits);
    this.work = new InstanceWork(store, log);
  }

  /** Wires the warm pools (server.ts): create() claims a ready member before it starts a new instance. */
  usePools(pools: PoolClaimer): void {
    this.pools = pools;
  }

  /** Wires the admission job (server.ts): create() asks it to admit, freed capacity wakes it. */
  useAdmission(admitter: { drain(): Promise<void>; wake(): void }): void {
    this.admitter = admitter;
  }

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
    const limits = labLimits(lab, this.limits.defaultExtensions);
    if (this.pools && input.version === undefined) {
      // A warm pool member, if one is ready for this launch: it already holds its room, so no queue.
      const claimed = await this.pools.claim(p, {
        lab,
        labVersion: version.version,
        limits,
        ...(input.courseId ? { courseId: input.courseId } : {}),
        ...(input.assignmentId ? { assignmentId: input.assignmentId } : {}),
      });
      if (claimed) return claimed;
    }
    const resources = sumResources(lab.systems);
    await this.limits.checkRoom({ ...(input.courseId ? { courseId: input.courseId } : {}), resources });
    const credentials = newCredentials(lab, this.secrets);
    const record = await this.store.instances.create({
      id: newInstanceId(),
      ownerId: p.user.id,
      labName: lab.name,
      labVersion: version.version,
      ...(input.courseId ? { courseId: input.courseId } : {}),
      ...(input.assignmentId ? { assignmentId: input.assignmentId } : {}),
      credentials,
      limits,
      resources,
    });
    await this.store.audit.record({
      actorId: p.user.id,
      action: 'instance.create',
      target: `instance:${record.id}`,
      details: { lab: lab.name, version: version.version },
    });
    if (!this.admitter) {
      await this.admit(record);
    } else {
      // Admitted at once when this process leads admission and there is room; queued otherwise. The answer
      // waits for that round a moment at most: under load (200 launches at once) a round takes long, and
      // the learner's page shows the queue or the start from its polls anyway.
      const round = this.admitter.drain().catch((err) => this.log.warn({ err }, 'admission failed; the job retries'));
      await Promise.race([round, new Promise((r) => setTimeout(r, ADMISSION_WAIT_MS).unref())]);
    }
    return (await this.store.instances.get(record.id)) ?? record;
  }

  /** The instances that hold runtime resources (the admission job, the warm pools). */
  async holding(): Promise<InstanceRecord[]> {
    return this.limits.holding();
  }

  /**
   * Moves a queued instance to provisioning and starts it (the admission
   * job's call, once it found room). False if it was no longer queued.
   */
  async admit(instance: InstanceRecord): Promise<boolean> {
    const moved = await this.store.instances.transition(instance, 'provisioning', 'system');
    if (!moved) return false;
    await this.store.instances.newRun(moved.id);
    this.work.schedule(moved.id, () => this.provision(moved));
    return true;
  }

  /** Records activity (an action, a check) for the idle timer. */
  async noteActivity(id: string): Promise<void> {
    await this.limits.noteActivity(id);
  }

  /**
   * Stops or pauses an instance that reached a limit (the reaper's call),
   * recording the reason ("idle for 30 min"). False if the instance changed
   * meanwhile (the next round looks again).
   */
  async expire(instance: InstanceRecord, decision: Extract<ReaperDecision, { kind: 'expire' }>): Promise<boolean> {
    const runtime = this.requireRuntime();
    const to = decision.action === 'pause' ? 'paused' : 'stopping';
    const moved = await this.store.instances.transition(instance, to, 'system', decision.reason);
    if (!moved) return false;
    await this.store.audit.record({
      action: `instance.expire.${decision.action}`,
      target: `instance:${instance.id}`,
      details: { reason: decision.reason, cause: decision.cause, replica: this.work.workerId },
    });
    this.log.info({ instance: instance.id, reason: decision.reason }, `instance ${to} by its limits`);
    if (to === 'paused') {
      await this.work.exclusive(instance.id, () => runtime.pause(instance.id)).catch((err) => this.fail(moved, err));
    } else {
      this.work.schedule(instance.id, () => this.teardown(moved));
    }
    return true;
  }

  /** Stops an unused warm pool member (the pool job's call); false if it changed meanwhile. */
  async retire(instance: InstanceRecord, reason: string): Promise<boolean> {
    this.requireRuntime();
    const moved = await retryBusy(() => this.store.instances.transition(instance, 'stopping', 'system', reason));
    if (!moved) return false;
    await this.store.audit.record({
      action: 'instance.retire',
      target: `instance:${instance.id}`,
      details: { reason, replica: this.work.workerId },
    });
    this.work.schedule(instance.id, () => this.teardown(moved));
    return true;
  }

  /**
   * Runs work on a just-claimed warm pool member in the background (its
   * new passwords set inside the systems), so the launch answers at once;
   * a failure fails the instance with a reason the learner reads.
   */
  afterClaim(instance: InstanceRecord, job: () => Promise<void>): void {
    this.work.schedule(instance.id, async () => {
      try {
        await job();
      } catch (err) {
        const current = (await retryBusy(() => this.store.instances.get(instance.id))) ?? instance;
        if (current.state === 'running') await this.fail(current, err, 'could not make the lab yours');
      }
    });
  }

  /** Removes what the runtime holds of a stopped or failed instance and forgets its record (no principal: jobs). */
  async discard(instance: InstanceRecord): Promise<void> {
    const runtime = this.requireRuntime();
    await this.work.exclusive(instance.id, () => runtime.destroy(instance.id));
    await retryBusy(() => this.store.instances.delete(instance.id));
  }

  /** Stops every active instance of a course (admins); returns the ids it stops. */
  async stopCourse(p: Principal, courseId: string): Promise<string[]> {
    if (!isAdmin(p)) throw forbidden('only administrators may stop every instance of a course');
    const instances = await this.store.instances.list({ courseIds: [courseId], states: ACTIVE });
    const stopped: string[] = [];
    for (const instance of instances) {
      if (instance.state === 'stopping') continue;
      const moved = await this.store.instances.transition(
        instance,
        'stopping',
        p.user.id,
        'stopped by an administrator (the whole course)',
      );
      if (!moved) continue;
      stopped.push(moved.id);
      this.work.schedule(moved.id, () => this.teardown(moved));
    }
    await this.store.audit.record({
      actorId: p.user.id,
      action: 'course.stop-instances',
      target: `course:${courseId}`,
      details: { instances: stopped.length },
    });
    return stopped;
  }

  /** Applies a user's action. Idempotent: an action that is already done is a no-op. */
  async act(p: Principal, id: string, action: InstanceAction): Promise<InstanceRecord> {
    const instance = await this.reachable(p, id); // 404 before 501: nothing said of others' instances
    const runtime = this.requireRuntime();
    if (instance.ownerId === p.user.id) await this.noteActivity(id); // the learner is here (not an instructor looking)
    const plan = planAction(instance.state, action);
    if (plan.kind === 'noop') return instance;
    if (plan.kind === 'refused') throw conflict(plan.message);
    const newRun = action === 'start' && (instance.state === 'stopped' || instance.state === 'failed');
    if (newRun) {
      // Starting again needs room as a new instance does (it cannot wait in the queue: stopped → provisioning).
      await this.limits.checkRoomToRestart(instance);
    }
    const moved = await this.store.instances.transition(instance, plan.to, p.user.id);
    if (!moved) throw conflict(`instance ${id} changed while ${action} was asked; look again and retry`);
    await this.store.audit.record({ actorId: p.user.id, action: `instance.${action}`, target: `instance:${id}` });
    switch (action) {
      case 'pause':
      case 'resume':
        // Short and synchronous: the answer tells whether it worked.
        await this.work.exclusive(id, async () => {
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
        if (newRun) await this.store.instances.newRun(id);
        if (plan.to === 'running') {
          await this.work.exclusive(id, () => runtime.resume(id));
          return moved;
        }
        this.work.schedule(id, () => this.provision(moved));
        return moved;
      case 'reset':
        await this.onReset?.(moved);
        this.work.schedule(id, () => this.provision(moved, { reset: true }));
        return moved;
      case 'stop':
        this.work.schedule(id, () => this.teardown(moved));
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
      await this.work.exclusive(id, () => this.runtime!.destroy(id));
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
    // Requested instances wait for the admission job; work another replica is doing is left to it.
    if (instance.state === 'provisioning') this.work.schedule(instance.id, () => this.provision(instance), true);
    else if (instance.state === 'stopping') this.work.schedule(instance.id, () => this.teardown(instance), true);
  }

  /** Records that the runtime lost (part of) an instance that should be up. */
  async markLost(instance: InstanceRecord, reason: string): Promise<void> {
    // Only from the state the reconciler saw: a learner's stop that came meanwhile wins (no re-read here).
    const failed = await this.store.instances.transition(instance, 'failed', 'system', reason);
    if (!failed) return;
    this.log.warn({ instance: instance.id, reason }, 'instance lost');
    this.admitter?.wake();
  }

  /** Resolves when the background work of an instance (if any) is over. */
  settled(id: string): Promise<void> {
    return this.work.settled(id);
  }

  settleAll(): Promise<void> {
    return this.work.settleAll();
  }

  /** Whether this process is working on the instance now (the reconciler leaves those alone). */
  busy(id: string): boolean {
    return this.work.busy(id);
  }

  async spec(instance: InstanceRecord): Promise<InstanceSpec> {
    const version = await this.store.labs.version(instance.labName, instance.labVersion);
    if (!version) throw notFound(`version ${instance.labVersion} of lab "${instance.labName}"`);
    return buildSpec(instance, version.definition, (sealed) => this.secrets.decrypt(sealed));
  }

  /** Provisions (or, with reset, re-creates) the instance and records the outcome. */
  async provision(instance: InstanceRecord, opts: { reset?: boolean } = {}): Promise<void> {
    const runtime = this.requireRuntime();
    try {
      const spec = await this.spec(instance);
      if (opts.reset) await runtime.reset(spec);
      else await runtime.provision(spec);
    } catch (err) {
      const current = (await retryBusy(() => this.store.instances.get(instance.id))) ?? instance;
      if (current.state === 'provisioning') await this.fail(current, err);
      return;
    }
    // A database error from here on is not the lab's failure: it stays provisioning and the reconciler drives it again.
    const done = await retryBusy(() => this.store.instances.transition(instance, 'running', 'system'));
    if (!done) this.log.info({ instance: instance.id }, 'instance changed while provisioning; leaving it');
    // The TTL counts from the first time it runs (a reset keeps the clock).
    else await retryBusy(() => this.store.instances.startClock(done.id, new Date(Date.now() + done.limits.ttl * 1000)));
  }

  /** Destroys the runtime objects and records `stopped`. */
  async teardown(instance: InstanceRecord): Promise<void> {
    const runtime = this.requireRuntime();
    try {
      await runtime.destroy(instance.id);
    } catch (err) {
      await this.fail(instance, err, 'could not stop');
      return;
    }
    // The reason of the stop (limits, an administrator) stays readable on the stopped instance.
    await retryBusy(() => this.store.instances.transition(instance, 'stopped', 'system', instance.reason));
    this.admitter?.wake(); // capacity freed: the queue may move
  }

  private async fail(instance: InstanceRecord, err: unknown, prefix?: string): Promise<void> {
    const message = err instanceof Error ? err.message : String(err);
    this.log.warn({ instance: instance.id, err }, 'instance failed');
    const current = (await retryBusy(() => this.store.instances.get(instance.id))) ?? instance;
    const reason = prefix ? `${prefix}: ${message}` : message;
    await retryBusy(() => this.store.instances.transition(current, 'failed', 'system', reason));
    this.admitter?.wake();
  }
}

/** A launch that a warm pool member may serve. */
export interface PoolLaunch {
  lab: LabDefinition;
  labVersion: number;
  limits: InstanceLimits;
  courseId?: string;
  assignmentId?: string;
}

/** What a launch of a lab may claim instead of starting a new instance (services/pools.ts). */
export interface PoolClaimer {
  claim(p: Principal, launch: PoolLaunch): Promise<InstanceRecord | undefined>;
}
