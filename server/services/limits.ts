/**
 * @file The limits of instances as the server applies them with the
 * database (the rules themselves are pure, in domain/limits.ts): room for
 * a new instance or a restart (capacity and queue), the place in the
 * queue, activity for the idle timer, "I am still here" (extensions), and
 * the limits an instance of a lab runs with. The lifecycle
 * (services/instances.ts) asks here before it starts anything; the jobs
 * do the rest through it: the admission job (jobs/admission.ts) admits
 * queued instances, the reaper (jobs/reaper.ts) stops or pauses expired
 * ones.
 */
import type { Principal } from '../domain/access.js';
import type { InstanceState } from '../domain/instance/state.js';
import type { LabDefinition } from '../domain/lab/schema.js';
import {
  type Capacity,
  type Holding,
  type InstanceLimits,
  misfit,
  planExtension,
  type Resources,
  usageOf,
} from '../domain/limits.js';
import { conflict, HttpError } from '../errors.js';
import type { Logger } from '../log.js';
import type { InstanceRecord } from '../store/instances.js';
import { retryBusy } from '../store/retry.js';
import type { Store } from '../store/store.js';

/** States in which an instance holds runtime resources (counted against capacity). */
export const HOLDING: InstanceState[] = ['provisioning', 'running', 'paused', 'stopping'];

/** The server's limits (configuration: QUOTA_*, QUEUE_MAX, LIMIT_*). */
export interface LimitSettings {
  capacity: Capacity;
  /** Requested instances that may wait; 0 = refuse instead of queueing. */
  queueMax: number;
  /** Extensions per run when the lab does not say. */
  defaultExtensions: number;
  /** Seconds an instance may stay paused when the lab does not say (LIMIT_MAX_PAUSED); 0 = no limit. */
  defaultMaxPaused: number;
}

/** Without configuration (the CLI's lifecycle): no capacity limit, a long queue, no paused-age limit. */
export const NO_LIMITS: LimitSettings = {
  capacity: { instances: 0, cpu: 0, memory: 0, perCourse: 0 },
  queueMax: 1000,
  defaultExtensions: 2,
  defaultMaxPaused: 0,
};

/** The server's limits and what it does with them (the settings are read as they were configured). */
export class Limits implements LimitSettings {
  readonly capacity: Capacity;
  readonly queueMax: number;
  readonly defaultExtensions: number;
  readonly defaultMaxPaused: number;

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
    settings: LimitSettings = NO_LIMITS,
  ) {
    this.capacity = settings.capacity;
    this.queueMax = settings.queueMax;
    this.defaultExtensions = settings.defaultExtensions;
    this.defaultMaxPaused = settings.defaultMaxPaused;
  }

  /**
   * Refuses a new instance when it could never get in line: it is bigger
   * than the whole capacity, the queue is full, or queueing is off
   * (QUEUE_MAX=0) and there is no room now.
   */
  async checkRoom(need: { courseId?: string; resources: Resources }): Promise<void> {
    const { capacity, queueMax } = this;
    const cpu = capacity.cpu > 0 && need.resources.cpu > capacity.cpu;
    const memory = capacity.memory > 0 && need.resources.memory > capacity.memory;
    if (cpu || memory) {
      throw conflict(
        `this lab needs more ${cpu ? 'CPU' : 'memory'} than the lab machines have in all; ask an administrator`,
      );
    }
    if (queueMax === 0) {
      const why = misfit(need, usageOf(await this.holding()), capacity);
      if (why) throw new HttpError(429, `no room for your lab now: ${why}; try again in a few minutes`);
      return;
    }
    const queued = await this.store.instances.countQueued();
    if (queued >= queueMax) {
      throw new HttpError(
        429,
        `no room for your lab now: ${queued} launch(es) are already waiting, the most the queue takes; try again in a few minutes`,
      );
    }
  }

  /** Refuses to start a stopped or failed instance again without room: it cannot wait in the queue (stopped → provisioning). */
  async checkRoomToRestart(instance: Holding): Promise<void> {
    const why = misfit(instance, usageOf(await this.holding()), this.capacity);
    if (why) throw new HttpError(429, `no room to start your lab again now: ${why}; try again in a few minutes`);
  }

  /** The instances that hold runtime resources (for admission and the admin view). */
  async holding(): Promise<InstanceRecord[]> {
    return this.store.instances.list({ states: HOLDING });
  }

  /** 1-based place in the queue of a requested instance. */
  async queuePosition(instance: InstanceRecord): Promise<number | undefined> {
    return instance.state === 'requested' ? this.store.instances.queuePosition(instance) : undefined;
  }

  /** Records activity (an action, a check) for the idle timer. */
  async noteActivity(id: string): Promise<void> {
    // Best effort: a missed touch only brings the idle warning earlier; it never fails the action.
    await retryBusy(() => this.store.instances.touch(id)).catch((err) =>
      this.log.warn({ err, instance: id }, 'could not record activity'),
    );
  }

  /**
   * "I am still here" on an instance the principal may reach: resets the
   * idle timer and, when the maximum age comes first, adds one TTL to it
   * within the lab's number of extensions (domain/limits.ts). Refused (409)
   * when an extension is needed and none is left; the call still counts as
   * activity.
   */
  async extend(p: Principal, instance: InstanceRecord): Promise<InstanceRecord> {
    const id = instance.id;
    if (instance.state !== 'running' && instance.state !== 'paused') {
      throw conflict(`cannot extend an instance that is ${instance.state}; only a running or paused one`);
    }
    await this.noteActivity(id);
    const plan = planExtension(instance, new Date());
    if (plan.kind === 'refused') throw conflict(plan.message);
    if (plan.kind === 'present') {
      if (instance.warnedAt) await this.store.instances.clearWarning(id, instance.warnedAt);
      await this.store.audit.record({ actorId: p.user.id, action: 'instance.still-here', target: `instance:${id}` });
      return (await this.store.instances.get(id)) ?? instance;
    }
    const extended = await this.store.instances.extend(id, instance.extensionsUsed, plan);
    if (!extended) throw conflict(`instance ${id} was extended at the same time; look again`);
    await this.store.audit.record({
      actorId: p.user.id,
      action: 'instance.extend',
      target: `instance:${id}`,
      details: { expiresAt: plan.expiresAt.toISOString(), extensionsUsed: plan.extensionsUsed },
    });
    return extended;
  }
}

/** The limits an instance of the lab runs with (server defaults filled). */
export function labLimits(lab: LabDefinition, defaultExtensions: number): InstanceLimits {
  return {
    ttl: lab.limits.ttl,
    idle: lab.limits.idle,
    onExpire: lab.limits.onExpire,
    extensions: lab.limits.extensions ?? defaultExtensions,
    ...(lab.limits.maxPaused !== undefined && { maxPaused: lab.limits.maxPaused }),
  };
}
