/**
 * @file Warm pools: per assignment, a target number of pre-started
 * instances that nobody owns yet (instances with a `pool` field), and the
 * claims that hand one member to one learner. A claim is a unique insert
 * keyed by the instance id, so two launches never get the same member, on
 * MongoDB and on FerretDB 1.x alike (whose conditional updates are not
 * atomic across connections).
 */
import type { InstanceState } from '../domain/instance/state.js';
import type { InstanceLimits } from '../domain/limits.js';
import type { StoredCredential } from './instances.js';
import type { Models } from './models.js';
import { isDuplicateKey } from './store.js';

export interface Pool {
  /** The assignment's id. */
  id: string;
  courseId: string;
  labName: string;
  size: number;
  until: Date;
  createdBy: string;
  updatedAt: Date;
  failures: number;
  retryAt?: Date;
  lastError?: string;
}

/** What the pool job reads of a member. */
export interface PoolMember {
  id: string;
  pool: string;
  state: InstanceState;
  labVersion: number;
  createdAt: Date;
  /** When a claim on it was taken, if one was (a claim that never finished is stale). */
  claimedAt?: Date;
}

type PoolLean = Record<string, unknown> & { _id: string };
const toPool = (d: PoolLean): Pool => ({
  id: d._id,
  courseId: String(d.courseId),
  labName: String(d.labName),
  size: Number(d.size),
  until: d.until as Date,
  createdBy: String(d.createdBy),
  updatedAt: d.updatedAt as Date,
  failures: Number(d.failures ?? 0),
  ...(d.retryAt ? { retryAt: d.retryAt as Date } : {}),
  ...(d.lastError ? { lastError: String(d.lastError) } : {}),
});

/** What a claim writes on the member: it becomes the learner's instance. */
export interface ClaimFields {
  ownerId: string;
  courseId?: string;
  assignmentId?: string;
  credentials: StoredCredential[];
  limits: InstanceLimits;
  at: Date;
  expiresAt: Date;
}

export class PoolRepository {
  constructor(private readonly m: Models) {}

  async upsert(
    id: string,
    fields: { courseId: string; labName: string; size: number; until: Date; createdBy: string },
  ): Promise<Pool> {
    const d = await this.m.Pool.findOneAndUpdate(
      { _id: id },
      { $set: { ...fields, updatedAt: new Date() }, $setOnInsert: { failures: 0 } },
      { upsert: true, returnDocument: 'after' },
    ).lean();
    return toPool(d as unknown as PoolLean);
  }

  async get(id: string): Promise<Pool | undefined> {
    const d = await this.m.Pool.findById(id).lean();
    return d ? toPool(d as unknown as PoolLean) : undefined;
  }

  async list(): Promise<Pool[]> {
    return (await this.m.Pool.find({}).sort({ _id: 1 }).lean()).map((d) => toPool(d as unknown as PoolLean));
  }

  async delete(id: string): Promise<void> {
    await this.m.Pool.deleteOne({ _id: id });
  }

  /** A member failed: count it and hold refills back until `retryAt`. */
  async noteFailure(id: string, error: string, retryAt: Date): Promise<void> {
    await this.m.Pool.updateOne({ _id: id }, { $inc: { failures: 1 }, $set: { lastError: error, retryAt } });
  }

  /** A member came up: the back-off is over. */
  async noteReady(id: string): Promise<void> {
    await this.m.Pool.updateOne({ _id: id, failures: { $gt: 0 } }, { $set: { failures: 0 }, $unset: { retryAt: '' } });
  }

  /** Members of one pool, or of every pool (also of pools that no longer exist). */
  async members(pool?: string): Promise<PoolMember[]> {
    const docs = await this.m.Instance.find(pool ? { pool } : { pool: { $exists: true } })
      .select({ _id: 1, pool: 1, state: 1, labVersion: 1, createdAt: 1 })
      .sort({ createdAt: 1, _id: 1 })
      .lean();
    const claims = await this.m.PoolClaim.find({ _id: { $in: docs.map((d) => d._id) } }).lean();
    const claimedAt = new Map(claims.map((c) => [String(c._id), c.at as Date]));
    return docs.map((d) => ({
      id: String(d._id),
      pool: String(d.pool),
      state: d.state as InstanceState,
      labVersion: Number(d.labVersion),
      createdAt: d.createdAt as Date,
      ...(claimedAt.has(String(d._id)) ? { claimedAt: claimedAt.get(String(d._id))! } : {}),
    }));
  }

  /** Running members of the pool at this lab version, oldest first: what a launch may claim. */
  async ready(pool: string, labVersion: number): Promise<string[]> {
    const docs = await this.m.Instance.find({ pool, state: 'running', labVersion })
      .select({ _id: 1 })
      .sort({ createdAt: 1, _id: 1 })
      .lean();
    return docs.map((d) => String(d._id));
  }

  /** Takes the member for `by` (a user id or `retire`); false if someone took it first. */
  async takeClaim(instanceId: string, by: string): Promise<boolean> {
    try {
      await this.m.PoolClaim.create({ _id: instanceId, by, at: new Date() });
      return true;
    } catch (err) {
      if (isDuplicateKey(err)) return false;
      throw err;
    }
  }

  async dropClaim(instanceId: string): Promise<void> {
    await this.m.PoolClaim.deleteOne({ _id: instanceId });
  }

  /**
   * Makes a claimed member the learner's instance: owner, course, new
   * credentials, the lab's limits with fresh clocks; it leaves the pool.
   * False if it is no longer a running member (stopped meanwhile).
   */
  async finishClaim(instanceId: string, pool: string, f: ClaimFields): Promise<boolean> {
    const r = await this.m.Instance.updateOne(
      { _id: instanceId, pool, state: 'running' },
      {
        $set: {
          ownerId: f.ownerId,
          ...(f.courseId ? { courseId: f.courseId } : {}),
          ...(f.assignmentId ? { assignmentId: f.assignmentId } : {}),
          credentials: f.credentials,
          limits: f.limits,
          lastActivityAt: f.at,
          updatedAt: f.at,
          expiresAt: f.expiresAt,
          extensionsUsed: 0,
        },
        // Without a course or assignment the launch is the API's own, as a new instance would be: no grades to the LMS.
        $unset: {
          pool: '',
          warnedAt: '',
          ...(f.courseId ? {} : { courseId: '' }),
          ...(f.assignmentId ? {} : { assignmentId: '' }),
        },
        $inc: { revision: 1 },
      },
    );
    return r.modifiedCount === 1;
  }
}
