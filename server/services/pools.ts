/**
 * @file Warm pools: an instructor asks for N pre-started instances of an
 * assignment's lab before a session; a launch of that assignment then
 * claims a running one instead of waiting for a cold start. Members are
 * instances owned by a placeholder user (so no learner's quota counts them,
 * while the global capacity does) and marked with their pool. A claim
 * (server/store/pools.ts) is race-safe; the claimed member is made personal:
 * new passwords set inside its systems, the learner as owner, the lab's own
 * limits with fresh clocks. System names, which are the host names, stay.
 *
 * The pool job (server/jobs/pools.ts, leader only) calls `round`: refill,
 * retire the surplus and the expired, forget the failed (domain/pools.ts).
 */
import { instructsCourse, isAdmin, type Principal } from '../domain/access.js';
import type { LabDefinition } from '../domain/lab/schema.js';
import { type InstanceLimits, sumResources, usageOf } from '../domain/limits.js';
import {
  addUsage,
  countMembers,
  holdingLimits,
  POOL_MAX_SECONDS,
  POOL_MAX_SIZE,
  type PoolMemberState,
  planPool,
  retryDelaySeconds,
  roomFor,
} from '../domain/pools.js';
import { badRequest, forbidden, notFound } from '../errors.js';
import type { Logger } from '../log.js';
import type { Runtime } from '../runtime/runtime.js';
import { newInstanceId, type SecretBox } from '../secrets.js';
import type { Assignment } from '../store/assignments.js';
import type { InstanceRecord, StoredCredential } from '../store/instances.js';
import type { Pool, PoolMember } from '../store/pools.js';
import { retryBusy } from '../store/retry.js';
import type { Store } from '../store/store.js';
import { newCredentials } from './instance-spec.js';
import type { InstanceLifecycle, PoolLaunch } from './instances.js';

/** The placeholder owner of unclaimed members (no sign-in maps to a `system:` key). */
export const POOL_OWNER_KEY = 'system:warm-pool';

export interface PoolView {
  assignment: string;
  course: string;
  lab: string;
  size: number;
  until: Date;
  /** Running and unclaimed: what launches can claim now. */
  ready: number;
  /** Being started. */
  starting: number;
  failures: number;
  lastError?: string;
}

export interface PoolRoundReport {
  started: string[];
  retired: string[];
  forgotten: string[];
}

/** How long a process trusts its list of a pool's ready members (readyMembers). */
const READY_LIST_MS = 2000;

type ReadyList = { at: number; ids: Set<string> };

export class WarmPools {
  private ownerId?: string;
  private readonly ready = new Map<string, ReadyList>();
  private readonly reading = new Map<string, Promise<ReadyList>>();
  /** Called after a claim or a change of a pool (server.ts wakes the pool job so it acts soon). */
  wakeJob: (() => void) | undefined;

  constructor(
    private readonly store: Store,
    private readonly lifecycle: InstanceLifecycle,
    private readonly runtime: Runtime | undefined,
    private readonly secrets: SecretBox,
    private readonly log: Logger,
  ) {}

  // ---- instructors and admins ----------------------------------------------

  /** The assignment, if the principal may manage its pool: 404 unknown, 403 not an instructor of its course. */
  private async managed(p: Principal, assignmentId: string): Promise<Assignment> {
    const assignment = await this.store.assignments.get(assignmentId);
    if (!assignment) throw notFound(`assignment ${assignmentId}`);
    if (!isAdmin(p) && !instructsCourse(p, assignment.courseId)) {
      throw forbidden("only the course's instructors and administrators may manage the warm pool of an assignment");
    }
    return assignment;
  }

  /** Creates or changes the pool of an assignment: `size` members until `until`. */
  async set(p: Principal, assignmentId: string, input: { size: number; until: Date }): Promise<PoolView> {
    const assignment = await this.managed(p, assignmentId);
    const now = Date.now();
    if (!Number.isInteger(input.size) || input.size < 0 || input.size > POOL_MAX_SIZE) {
      throw badRequest(`invalid size: expected a whole number from 0 to ${POOL_MAX_SIZE}`, [
        { path: 'size', message: `expected a whole number from 0 to ${POOL_MAX_SIZE}` },
      ]);
    }
    const quota = this.lifecycle.limits.capacity.instances;
    if (quota > 0 && input.size > quota) {
      const message = `${input.size} is more than the ${quota} instance(s) the server runs at once (QUOTA_INSTANCES)`;
      throw badRequest(`invalid size: ${message}`, [{ path: 'size', message }]);
    }
    const until = input.until.getTime();
    if (Number.isNaN(until) || until <= now || until > now + POOL_MAX_SECONDS * 1000) {
      const message = `expected a time in the future, at most ${POOL_MAX_SECONDS / 86400} days ahead`;
      throw badRequest(`invalid until: ${message}`, [{ path: 'until', message }]);
    }
    if (!(await this.store.labs.get(assignment.labName))) throw notFound(`lab "${assignment.labName}"`);
    const pool = await this.store.pools.upsert(assignment.id, {
      courseId: assignment.courseId,
      labName: assignment.labName,
      size: input.size,
      until: input.until,
      createdBy: p.user.id,
    });
    await this.store.audit.record({
      actorId: p.user.id,
      action: 'pool.set',
      target: `assignment:${assignment.id}`,
      details: { size: input.size, until: input.until.toISOString() },
    });
    this.wakeJob?.(); // a new target: the job looks now
    return this.viewOf(pool);
  }

  async view(p: Principal, assignmentId: string): Promise<PoolView> {
    await this.managed(p, assignmentId);
    const pool = await this.store.pools.get(assignmentId);
    if (!pool) throw notFound(`warm pool of assignment ${assignmentId}`);
    return this.viewOf(pool);
  }

  /** Every pool the principal may manage: all for admins, their courses' for instructors. */
  async list(p: Principal): Promise<PoolView[]> {
    const pools = (await this.store.pools.list()).filter((pool) => isAdmin(p) || instructsCourse(p, pool.courseId));
    return Promise.all(pools.map((pool) => this.viewOf(pool)));
  }

  /** Removes the pool; the job stops its unused members. */
  async remove(p: Principal, assignmentId: string): Promise<void> {
    await this.managed(p, assignmentId);
    if (!(await this.store.pools.get(assignmentId))) throw notFound(`warm pool of assignment ${assignmentId}`);
    await this.store.pools.delete(assignmentId);
    await this.store.audit.record({ actorId: p.user.id, action: 'pool.delete', target: `assignment:${assignmentId}` });
    this.wakeJob?.();
  }

  private async viewOf(pool: Pool): Promise<PoolView> {
    const version = await this.store.labs.version(pool.labName);
    const counts = countMembers(await this.store.pools.members(pool.id), version?.version ?? -1);
    return {
      assignment: pool.id,
      course: pool.courseId,
      lab: pool.labName,
      size: pool.size,
      until: pool.until,
      ...counts,
      failures: pool.failures,
      ...(pool.lastError ? { lastError: pool.lastError } : {}),
    };
  }

  // ---- launches --------------------------------------------------------------

  /**
   * Gives the learner a running member of the pool that serves this launch
   * (its assignment's; without an assignment, a pool of the lab in one of
   * the learner's courses), made personal; undefined when there is none
   * ready (the launch then starts a new instance as usual).
   */
  async claim(p: Principal, launch: PoolLaunch): Promise<InstanceRecord | undefined> {
    if (!this.runtime) return undefined;
    const pool = await this.poolFor(p, launch.lab.name, launch.assignmentId);
    if (!pool) return undefined;
    const ready = await this.readyMembers(pool.id, launch.labVersion);
    // From a random place in the list: launches arriving together mostly try different members first.
    const from = Math.floor(Math.random() * ready.length);
    for (const id of [...ready.slice(from), ...ready.slice(0, from)]) {
      this.ready.get(`${pool.id}/${launch.labVersion}`)?.ids.delete(id); // tried: taken, by this launch or another
      if (!(await retryBusy(() => this.store.pools.takeClaim(id, p.user.id)))) continue; // another launch's
      const started = Date.now();
      try {
        const claimed = await this.personalize(p, id, pool, launch);
        if (claimed) {
          // The pool job refills on its next round (every ADMISSION_INTERVAL): waking it per claim made a burst of
          // launches run its rounds, each a few scans of the instances, back to back.
          this.log.info({ instance: id, pool: pool.id, ms: Date.now() - started }, 'warm pool member claimed');
          return claimed;
        }
      } catch (err) {
        // Half personal is nobody's: stop it; the launch goes on with the next member or a new instance.
        this.log.warn({ err, instance: id, pool: pool.id }, 'could not personalise a warm pool member; retiring it');
        const member = await this.store.instances.get(id);
        if (member) await this.lifecycle.retire(member, 'could not be made personal for a learner');
      }
    }
    return undefined;
  }

  /**
   * The pool's running members a launch may try, read at most every
   * READY_LIST_MS by this process (a scan on FerretDB, which indexes only
   * _id): a burst of launches shares one read, and each takes members out
   * of it. A stale entry costs one refused claim (an _id insert), no more.
   */
  private async readyMembers(poolId: string, labVersion: number): Promise<string[]> {
    const key = `${poolId}/${labVersion}`;
    const known = this.ready.get(key);
    const age = known ? Date.now() - known.at : Number.POSITIVE_INFINITY;
    // A list with members is good for READY_LIST_MS; an empty one only briefly (the refill may have some up now).
    if (known && age < (known.ids.size > 0 ? READY_LIST_MS : READY_LIST_MS / 8)) return [...known.ids];
    let reading = this.reading.get(key); // launches arriving together share one read
    if (!reading) {
      reading = this.store.pools
        .ready(poolId, labVersion)
        .then((ids) => {
          const list = { at: Date.now(), ids: new Set(ids) };
          this.ready.set(key, list);
          return list;
        })
        .finally(() => this.reading.delete(key));
      this.reading.set(key, reading);
    }
    return [...(await reading).ids];
  }

  private async poolFor(p: Principal, labName: string, assignmentId?: string): Promise<Pool | undefined> {
    const now = Date.now();
    const live = (pool: Pool | undefined) =>
      pool && pool.labName === labName && pool.until.getTime() > now ? pool : undefined;
    if (assignmentId) return live(await this.store.pools.get(assignmentId));
    const courses = new Set(p.memberships.map((m) => m.courseId));
    if (courses.size === 0) return undefined;
    return (await this.store.pools.list()).find((pool) => courses.has(pool.courseId) && live(pool));
  }

  /** New passwords inside the member's systems, then the record becomes the learner's. */
  private async personalize(
    p: Principal,
    id: string,
    pool: Pool,
    launch: { lab: LabDefinition; limits: InstanceLimits; courseId?: string; assignmentId?: string },
  ): Promise<InstanceRecord | undefined> {
    const member = await this.store.instances.get(id);
    if (member?.state !== 'running') return undefined; // stopped meanwhile
    const credentials = newCredentials(launch.lab, this.secrets);
    const at = new Date();
    const done = await retryBusy(() =>
      this.store.pools.finishClaim(id, pool.id, {
        ownerId: p.user.id,
        ...(launch.courseId ? { courseId: launch.courseId } : {}),
        ...(launch.assignmentId ? { assignmentId: launch.assignmentId } : {}),
        credentials,
        limits: launch.limits,
        at,
        expiresAt: new Date(at.getTime() + launch.limits.ttl * 1000),
      }),
    );
    if (!done) return undefined;
    // The record is the learner's now; the passwords inside follow in the background (an exec per system, seconds
    // under load), before the learner can type one: the old ones were never shown to a learner.
    const claimed = (await retryBusy(() => this.store.instances.get(id)))!;
    this.lifecycle.afterClaim(claimed, async () => {
      await Promise.all(
        credentials.map(async (c) => {
          const definition = launch.lab.systems.find((s) => s.name === c.system);
          if (definition?.user?.password !== 'generate') return; // a fixed password is the same for everyone
          await this.setPassword(id, c);
        }),
      );
    });
    await retryBusy(() => this.store.pools.dropClaim(id)).catch(() => undefined); // the pool field is gone: no claim needed
    await this.store.audit.record({
      actorId: p.user.id,
      action: 'instance.claim',
      target: `instance:${id}`,
      details: { pool: pool.id, lab: launch.lab.name },
    });
    return claimed;
  }

  private async setPassword(id: string, c: StoredCredential): Promise<void> {
    const runtime = this.runtime!;
    // The password goes through stdin, never argv (argv is visible to every process of the system).
    const result = await runtime.exec(id, c.system, ['chpasswd'], {
      user: 'root',
      stdin: `${c.user}:${this.secrets.decrypt(c.passwordEnc)}\n`,
      timeout: 15,
    });
    if (result.exitCode !== 0) {
      throw new Error(
        `chpasswd on system ${c.system} exited with ${result.exitCode}: ${result.stderr.trim().slice(0, 200)}`,
      );
    }
  }

  // ---- the pool job --------------------------------------------------------

  /** One round over every pool (and members of removed pools). */
  async round(now = new Date()): Promise<PoolRoundReport> {
    const report: PoolRoundReport = { started: [], retired: [], forgotten: [] };
    if (!this.runtime) return report;
    const pools = new Map((await this.store.pools.list()).map((p) => [p.id, p]));
    const byPool = new Map<string, PoolMember[]>();
    for (const m of await this.store.pools.members()) {
      const list = byPool.get(m.pool) ?? [];
      list.push(m);
      byPool.set(m.pool, list);
    }
    const queued = await this.store.instances.countQueued();
    const usage = usageOf(await this.lifecycle.holding());
    for (const id of new Set([...pools.keys(), ...byPool.keys()])) {
      const pool = pools.get(id);
      const members = byPool.get(id) ?? [];
      const version = pool ? await this.store.labs.version(pool.labName) : undefined;
      const lab = version?.definition;
      const need = lab && pool ? { courseId: pool.courseId, resources: sumResources(lab.systems) } : undefined;
      // Launches first: while any wait in the queue, pools take no capacity.
      const room = need && queued === 0 ? roomFor(need, usage, this.lifecycle.limits.capacity, pool!.size) : 0;
      const plan = planPool(pool && version ? pool : undefined, members, version?.version ?? -1, now, room);
      for (const memberId of plan.forget) {
        if (await this.forget(memberId, pool)) report.forgotten.push(memberId);
      }
      for (const memberId of plan.retire) {
        if (await this.retireMember(memberId, members)) report.retired.push(memberId);
      }
      // A member started after the last back-off came up: the failures are over.
      const recovered = members.some(
        (m) => m.state === 'running' && m.createdAt.getTime() >= (pool?.retryAt?.getTime() ?? 0),
      );
      if (pool && pool.failures > 0 && recovered) await this.store.pools.noteReady(pool.id);
      for (let n = 0; n < plan.start && pool && lab && version && need; n++) {
        report.started.push(await this.startMember(pool, lab, version.version));
        addUsage(usage, need);
      }
      // A pool past its end, with nothing left of it, is gone.
      if (pool && now.getTime() >= pool.until.getTime() && members.length === plan.forget.length) {
        await this.store.pools.delete(pool.id);
        this.log.info({ pool: pool.id }, 'warm pool ended');
      }
    }
    return report;
  }

  private async owner(): Promise<string> {
    this.ownerId ??= (await this.store.users.upsert(POOL_OWNER_KEY, { name: 'warm pool' })).id;
    return this.ownerId;
  }

  private async startMember(pool: Pool, lab: LabDefinition, labVersion: number): Promise<string> {
    const id = newInstanceId();
    const ownerId = await this.owner();
    // `requested` until admitted below; owned by the pool's placeholder user.
    const record = await retryBusy(() =>
      this.store.instances.create({
        id,
        pool: pool.id,
        ownerId,
        labName: lab.name,
        labVersion,
        courseId: pool.courseId,
        assignmentId: pool.id,
        credentials: newCredentials(lab, this.secrets),
        limits: holdingLimits(),
        resources: sumResources(lab.systems),
      }),
    );
    // Straight to provisioning: the room was checked, and pool members never wait in the learners' queue.
    await this.lifecycle.admit(record);
    return id;
  }

  private async retireMember(id: string, members: PoolMemberState[]): Promise<boolean> {
    const m = members.find((x) => x.id === id);
    // A member nobody claimed is taken for retirement like a claim; one with a stale claim is retired as is.
    if (!m?.claimedAt && !(await retryBusy(() => this.store.pools.takeClaim(id, 'retire')))) return false;
    const instance = await this.store.instances.get(id);
    if (instance?.state !== 'running') return false;
    return this.lifecycle.retire(instance, 'unused warm pool member');
  }

  /** Removes what is left of a failed or stopped member, its record and its claim. */
  private async forget(id: string, pool: Pool | undefined): Promise<boolean> {
    const instance = await this.store.instances.get(id);
    if (!instance || this.lifecycle.busy(id)) return false;
    if (instance.state === 'failed' && pool) {
      const failures = pool.failures + 1;
      const retryAt = new Date(Date.now() + retryDelaySeconds(failures) * 1000);
      await this.store.pools.noteFailure(pool.id, instance.reason ?? 'failed', retryAt);
      pool.failures = failures;
      pool.retryAt = retryAt;
    }
    await this.lifecycle.discard(instance);
    await this.store.pools.dropClaim(id);
    return true;
  }
}
