/**
 * @file Progress through a tutorial, per (instance, user): the step states,
 * the score and when it last changed. Writes are conditional on the revision
 * read (one document, one update: no transaction needed on FerretDB 1.x), so
 * a check and a tick that race cannot lose each other's step.
 */
import type { ProgressEvent, StepStates } from '../domain/tutorial/progress.js';
import type { Models } from './models.js';
import { isDuplicateKey } from './store.js';

export interface ProgressRecord {
  instanceId: string;
  userId: string;
  labName: string;
  steps: StepStates;
  score: number;
  /** 0 before the first write. */
  revision: number;
  updatedAt?: Date;
}

type Lean = {
  instanceId: string;
  userId: { toString(): string };
  labName: string;
  steps?: unknown;
  score?: number;
  revision?: number;
  updatedAt?: Date;
};

const toRecord = (d: Lean): ProgressRecord => ({
  instanceId: d.instanceId,
  userId: d.userId.toString(),
  labName: d.labName,
  steps: (d.steps ?? {}) as StepStates,
  score: d.score ?? 0,
  revision: d.revision ?? 0,
  ...(d.updatedAt ? { updatedAt: d.updatedAt } : {}),
});

export class ProgressRepository {
  constructor(private readonly m: Models) {}

  /** The stored progress, or an empty one at revision 0. */
  async get(instanceId: string, userId: string, labName: string): Promise<ProgressRecord> {
    const d = await this.m.Progress.findOne({ instanceId, userId }).lean();
    return d ? toRecord(d as unknown as Lean) : { instanceId, userId, labName, steps: {}, score: 0, revision: 0 };
  }

  /**
   * Writes new step states if nobody wrote since `read` was read. False when
   * someone did: read again, apply again, write again. An event to deliver
   * is written with the states (one document, one update), so a crash
   * between the write and the delivery cannot lose it.
   */
  async save(
    read: ProgressRecord,
    steps: StepStates,
    score: number,
    at = new Date(),
    event?: ProgressEvent,
  ): Promise<boolean> {
    const key = { instanceId: read.instanceId, userId: read.userId };
    const pending = event ? { pendingEvent: event } : {};
    if (read.revision === 0) {
      try {
        await this.m.Progress.create({
          ...key,
          labName: read.labName,
          steps,
          score,
          revision: 1,
          updatedAt: at,
          ...pending,
        });
        return true;
      } catch (err) {
        if (isDuplicateKey(err)) return false;
        throw err;
      }
    }
    const res = await this.m.Progress.updateOne(
      { ...key, revision: read.revision },
      { $set: { steps, score, updatedAt: at, ...pending }, $inc: { revision: 1 } },
    );
    return res.modifiedCount === 1;
  }

  /** The event reached every listener; a newer event written meanwhile stays. */
  async delivered(instanceId: string, userId: string, event: ProgressEvent): Promise<void> {
    await this.m.Progress.updateOne(
      {
        instanceId,
        userId,
        'pendingEvent.at': event.at,
        'pendingEvent.scoreGiven': event.scoreGiven,
        'pendingEvent.stepsDone': event.stepsDone,
      },
      { $unset: { pendingEvent: '' } },
    );
  }

  /** Whose events were written but are not known to be delivered (a crash, a failing listener). */
  async undelivered(): Promise<Array<{ instanceId: string; userId: string }>> {
    const docs = await this.m.Progress.find({ pendingEvent: { $exists: true } }, { instanceId: 1, userId: 1 })
      .sort({ updatedAt: 1 })
      .lean();
    return docs.map((d) => ({ instanceId: d.instanceId, userId: d.userId.toString() }));
  }

  async pendingEvent(instanceId: string, userId: string): Promise<ProgressEvent | undefined> {
    const d = await this.m.Progress.findOne({ instanceId, userId }, { pendingEvent: 1 }).lean();
    return (d?.pendingEvent as ProgressEvent | undefined) ?? undefined;
  }

  /** Progress rows of these instances (the instructor's table). */
  async ofInstances(instanceIds: string[]): Promise<ProgressRecord[]> {
    if (instanceIds.length === 0) return [];
    const docs = await this.m.Progress.find({ instanceId: { $in: instanceIds } }).lean();
    return docs.map((d) => toRecord(d as unknown as Lean));
  }

  /** Forgets the progress of an instance (when the instance is deleted). */
  async deleteOfInstance(instanceId: string): Promise<void> {
    await this.m.Progress.deleteMany({ instanceId });
  }
}
