import type { InstanceState } from '../domain/instance/state.js';
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
}

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
  }): Promise<InstanceRecord> {
    const now = new Date();
    const doc = await this.m.Instance.create({
      _id: r.id,
      ...r,
      state: 'requested',
      revision: 0,
      history: [],
      createdAt: now,
      updatedAt: now,
      lastActivityAt: now,
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

  /** Records user activity (console traffic, checks, API use) for the idle timer. */
  async touch(id: string, at = new Date()): Promise<void> {
    await this.m.Instance.updateOne({ _id: id, lastActivityAt: { $lt: at } }, { $set: { lastActivityAt: at } });
  }

  async delete(id: string): Promise<void> {
    await this.m.Instance.deleteOne({ _id: id });
  }
}
