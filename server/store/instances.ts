import type { InstanceState } from '../domain/instance/state.js';
import type { InstanceLimits, Resources } from '../domain/limits.js';
import type { Models } from './models.js';

export interface StoredCredential {
  system: string;
  user: string;
  /** Encrypted with the server's secret key (server/secrets.ts). */
  passwordEnc: string;
}

export interface Transition {
  from: InstanceState;
  to: InstanceState;
  at: Date;
  by: string;
  reason?: string;
}

export interface InstanceRecord {
  id: string;
  ownerId: string;
  labName: string;
  labVersion: number;
  courseId?: string;
  assignmentId?: string;
  state: InstanceState;
  revision: number;
  reason?: string;
  credentials: StoredCredential[];
  history: Transition[];
  createdAt: Date;
  updatedAt: Date;
  lastActivityAt: Date;
  /** The lab's limits when the instance was created (server defaults filled). */
  limits: InstanceLimits;
  /** What the instance holds while it runs (its systems' resources summed). */
  resources: Resources;
  /** The TTL deadline (domain/limits.ts); unset until it first runs. */
  expiresAt?: Date;
  /** Set when the warning phase before a stop began. */
  warnedAt?: Date;
  extensionsUsed: number;
}

/** Limits of rows written before limits were stored: the lab format's defaults. */
const LEGACY_LIMITS: InstanceLimits = { ttl: 7200, idle: 1800, onExpire: 'stop', extensions: 2 };

type Lean = Record<string, unknown> & { _id: string };
const str = (v: unknown) => (v == null ? undefined : String(v));
function toRecord(d: Lean): InstanceRecord {
  const courseId = str(d.courseId);
  const assignmentId = str(d.assignmentId);
  const reason = str(d.reason);
  return {
    id: d._id,
    ownerId: String(d.ownerId),
    labName: String(d.labName),
    labVersion: Number(d.labVersion),
    ...(courseId ? { courseId } : {}),
    ...(assignmentId ? { assignmentId } : {}),
    state: d.state as InstanceState,
    revision: Number(d.revision),
    ...(reason ? { reason } : {}),
    credentials: (d.credentials as StoredCredential[] | undefined) ?? [],
    history: ((d.history as Transition[] | undefined) ?? []).map((t) => ({
      from: t.from,
      to: t.to,
      at: t.at,
      by: t.by,
      ...(t.reason ? { reason: t.reason } : {}),
    })),
    createdAt: d.createdAt as Date,
    updatedAt: d.updatedAt as Date,
    lastActivityAt: d.lastActivityAt as Date,
    limits:
      typeof (d.limits as InstanceLimits | undefined)?.ttl === 'number' ? (d.limits as InstanceLimits) : LEGACY_LIMITS,
    resources:
      typeof (d.resources as Resources | undefined)?.cpu === 'number'
        ? (d.resources as Resources)
        : { cpu: 0, memory: 0 },
    ...(d.expiresAt ? { expiresAt: d.expiresAt as Date } : {}),
    ...(d.warnedAt ? { warnedAt: d.warnedAt as Date } : {}),
    extensionsUsed: Number(d.extensionsUsed ?? 0),
  };
}

export interface InstanceFilter {
  ownerId?: string;
  /** Instances of these courses (instructors see their courses' instances). */
  courseIds?: string[];
  states?: InstanceState[];
  labName?: string;
}

/**
 * Instances. A state change is one conditional update on (id, state,
 * revision): of two concurrent transitions from the same read, one wins and
 * the other gets `undefined` and reads again.
 */
export class InstanceRepository {
  constructor(private readonly m: Models) {}

  async create(r: {
    id: string;
    ownerId: string;
    labName: string;
    labVersion: number;
    courseId?: string;
    assignmentId?: string;
    credentials: StoredCredential[];
    /** Default: the lab format's default limits and no resources (rows made outside the lifecycle). */
    limits?: InstanceLimits;
    resources?: Resources;
    /** A warm pool member (owned by the pool's placeholder user until claimed). */
    pool?: string;
  }): Promise<InstanceRecord> {
    const now = new Date();
    const doc = await this.m.Instance.create({
      _id: r.id,
      limits: LEGACY_LIMITS,
      resources: { cpu: 0, memory: 0 },
      ...r,
      state: 'requested',
      revision: 0,
      history: [],
      createdAt: now,
      updatedAt: now,
      lastActivityAt: now,
      extensionsUsed: 0,
    });
    return toRecord(doc.toObject() as unknown as Lean);
  }

  async get(id: string): Promise<InstanceRecord | undefined> {
    const d = await this.m.Instance.findById(id).lean();
    return d ? toRecord(d as unknown as Lean) : undefined;
  }

  async list(filter: InstanceFilter = {}): Promise<InstanceRecord[]> {
    const q: Record<string, unknown> = {};
    const or: Record<string, unknown>[] = [];
    if (filter.ownerId) or.push({ ownerId: filter.ownerId });
    if (filter.courseIds?.length) or.push({ courseId: { $in: filter.courseIds } });
    if (or.length === 1) Object.assign(q, or[0]);
    else if (or.length > 1) q.$or = or;
    if (filter.states) q.state = { $in: filter.states };
    if (filter.labName) q.labName = filter.labName;
    const docs = await this.m.Instance.find(q).sort({ createdAt: -1 }).lean();
    return docs.map((d) => toRecord(d as unknown as Lean));
  }

  async countByLab(labName: string, states: InstanceState[]): Promise<number> {
    return this.m.Instance.countDocuments({ labName, state: { $in: states } });
  }

  async countByOwner(ownerId: string, labName: string, states: InstanceState[]): Promise<number> {
    return this.m.Instance.countDocuments({ ownerId, labName, state: { $in: states } });
  }

  /** Moves the instance from `from` (at `revision`) to `to`; undefined if someone else moved it first. */
  async transition(
    current: Pick<InstanceRecord, 'id' | 'state' | 'revision'>,
    to: InstanceState,
    by: string,
    reason?: string,
  ): Promise<InstanceRecord | undefined> {
    const now = new Date();
    const entry: Transition = { from: current.state, to, at: now, by, ...(reason ? { reason } : {}) };
    const update: Record<string, unknown> = {
      $set: { state: to, updatedAt: now, ...(reason ? { reason } : {}) },
      $inc: { revision: 1 },
      $push: { history: entry },
    };
    if (!reason) update.$unset = { reason: '' };
    const d = await this.m.Instance.findOneAndUpdate(
      { _id: current.id, state: current.state, revision: current.revision },
      update,
      { returnDocument: 'after' },
    ).lean();
    return d ? toRecord(d as unknown as Lean) : undefined;
  }

  async setCredentials(id: string, credentials: StoredCredential[]): Promise<void> {
    await this.m.Instance.updateOne({ _id: id }, { $set: { credentials } });
  }

  /**
   * Records user activity (console traffic, checks, API use) for the idle
   * timer; never moves it back. `$max` on a filter of `_id` alone: FerretDB
   * finds a document by `_id` directly only when the filter has nothing
   * else (with `lastActivityAt` in the filter it read the whole collection:
   * 30 ms instead of 8 ms at 400 instances, measured).
   */
  async touch(id: string, at = new Date()): Promise<void> {
    await this.m.Instance.updateOne({ _id: id }, { $max: { lastActivityAt: at } });
  }

  /** Starts the TTL clock when the instance first runs (a reset keeps the clock it had). */
  async startClock(id: string, expiresAt: Date): Promise<void> {
    await this.m.Instance.updateOne({ _id: id, expiresAt: { $exists: false } }, { $set: { expiresAt } });
  }

  /** A stopped or failed instance starting again: a new run, new TTL clock, all extensions back. */
  async newRun(id: string, at = new Date()): Promise<void> {
    await this.m.Instance.updateOne(
      { _id: id },
      { $unset: { expiresAt: '', warnedAt: '' }, $set: { extensionsUsed: 0, lastActivityAt: at } },
    );
  }

  /** Enters the warning phase; false if it already was (another round, another replica). */
  async warn(id: string, at: Date): Promise<boolean> {
    const r = await this.m.Instance.updateOne({ _id: id, warnedAt: { $exists: false } }, { $set: { warnedAt: at } });
    return r.modifiedCount === 1;
  }

  async clearWarning(id: string, warnedAt: Date): Promise<void> {
    await this.m.Instance.updateOne({ _id: id, warnedAt }, { $unset: { warnedAt: '' } });
  }

  /**
   * Applies an extension if no other one was applied since the caller read
   * `extensionsUsed` (so a limit of N holds under concurrent clicks).
   */
  async extend(
    id: string,
    fromExtensionsUsed: number,
    to: { expiresAt: Date; extensionsUsed: number },
    at = new Date(),
  ): Promise<InstanceRecord | undefined> {
    const d = await this.m.Instance.findOneAndUpdate(
      { _id: id, extensionsUsed: fromExtensionsUsed },
      {
        $set: { expiresAt: to.expiresAt, extensionsUsed: to.extensionsUsed, lastActivityAt: at },
        $unset: { warnedAt: '' },
      },
      { returnDocument: 'after' },
    ).lean();
    return d ? toRecord(d as unknown as Lean) : undefined;
  }

  /** The queue: requested instances, first come first served. */
  async queued(): Promise<InstanceRecord[]> {
    const docs = await this.m.Instance.find({ state: 'requested' }).sort({ createdAt: 1, _id: 1 }).lean();
    return docs.map((d) => toRecord(d as unknown as Lean));
  }

  async countQueued(): Promise<number> {
    return this.m.Instance.countDocuments({ state: 'requested' });
  }

  /** 1-based place of a requested instance in the queue. */
  async queuePosition(i: Pick<InstanceRecord, 'id' | 'createdAt'>): Promise<number> {
    const ahead = await this.m.Instance.countDocuments({
      state: 'requested',
      $or: [{ createdAt: { $lt: i.createdAt } }, { createdAt: i.createdAt, _id: { $lt: i.id } }],
    });
    return ahead + 1;
  }

  /**
   * Claims the background work on an instance for `holder` until `until`,
   * unless another process holds an unexpired claim (or `force`: a user's
   * action wins): with several replicas, the reconciler drives only
   * instances nobody is working on.
   */
  async claimWork(id: string, holder: string, until: Date, now = new Date(), force = false): Promise<boolean> {
    const free = { $or: [{ workUntil: { $exists: false } }, { workUntil: { $lt: now } }, { workerId: holder }] };
    const r = await this.m.Instance.updateOne(
      { _id: id, ...(force ? {} : free) },
      { $set: { workerId: holder, workUntil: until } },
    );
    return r.matchedCount === 1;
  }

  async releaseWork(id: string, holder: string): Promise<void> {
    await this.m.Instance.updateOne({ _id: id, workerId: holder }, { $unset: { workerId: '', workUntil: '' } });
  }

  async delete(id: string): Promise<void> {
    await this.m.Instance.deleteOne({ _id: id });
  }
}
