/**
 * @file The grade outbox: one row per (assignment, user) holding the latest
 * score to send to the LMS. Enqueueing overwrites the score and bumps
 * `sequence`; a sender takes a lease on a row with one conditional update
 * (no two processes send the same row at once), and records the outcome
 * only while it still holds the lease. Works on FerretDB 1.x: no
 * transactions, no $expr, no TTL.
 */
import type { Models } from './models.js';

export interface OutboxScore {
  scoreGiven: number;
  scoreMaximum: number;
  activityProgress: string;
  gradingProgress: string;
  /** When the progress changed (ISO-8601), for the log. */
  at: string;
}

export interface OutboxRow {
  id: string;
  key: string;
  assignmentId: string;
  userId: string;
  score: OutboxScore;
  sequence: number;
  sentSequence: number;
  pending: boolean;
  attempts: number;
  nextAttemptAt: Date;
  leaseUntil?: Date;
  leaseOwner?: string;
  timestamp?: Date;
  timestampSequence?: number;
  lastError?: string;
}

type Lean = Record<string, unknown> & { _id: { toString(): string } };
const toRow = (d: Lean): OutboxRow => ({
  id: d._id.toString(),
  key: String(d.key),
  assignmentId: String(d.assignmentId),
  userId: String(d.userId),
  score: d.score as OutboxScore,
  sequence: Number(d.sequence),
  sentSequence: Number(d.sentSequence ?? -1),
  pending: d.pending === true,
  attempts: Number(d.attempts ?? 0),
  nextAttemptAt: d.nextAttemptAt as Date,
  ...(d.leaseUntil ? { leaseUntil: d.leaseUntil as Date } : {}),
  ...(d.leaseOwner ? { leaseOwner: String(d.leaseOwner) } : {}),
  ...(d.timestamp ? { timestamp: d.timestamp as Date } : {}),
  ...(d.timestampSequence != null ? { timestampSequence: Number(d.timestampSequence) } : {}),
  ...(d.lastError ? { lastError: String(d.lastError) } : {}),
});

export const outboxKey = (assignmentId: string, userId: string) => `${assignmentId}:${userId}`;

export class GradeOutboxRepository {
  constructor(private readonly m: Models) {}

  /** Stores the latest score of (assignment, user), due now; durable when it resolves. */
  async enqueue(assignmentId: string, userId: string, score: OutboxScore, now = new Date()): Promise<OutboxRow> {
    const key = outboxKey(assignmentId, userId);
    const d = await this.m.GradeOutbox.findOneAndUpdate(
      { key },
      {
        $set: { score, pending: true, attempts: 0, nextAttemptAt: now, updatedAt: now },
        $inc: { sequence: 1 },
        $setOnInsert: { key, assignmentId, userId, sentSequence: -1 },
      },
      { upsert: true, returnDocument: 'after' },
    ).lean();
    return toRow(d as unknown as Lean);
  }

  /** Takes the lease of one due row nobody holds; undefined when there is none. */
  async lease(owner: string, leaseMs: number, now = new Date()): Promise<OutboxRow | undefined> {
    const d = await this.m.GradeOutbox.findOneAndUpdate(
      {
        pending: true,
        nextAttemptAt: { $lte: now },
        $or: [{ leaseUntil: null }, { leaseUntil: { $lte: now } }],
      },
      { $set: { leaseOwner: owner, leaseUntil: new Date(now.getTime() + leaseMs) } },
      { sort: { nextAttemptAt: 1 }, returnDocument: 'after' },
    ).lean();
    return d ? toRow(d as unknown as Lean) : undefined;
  }

  /** Records the AGS timestamp chosen for a sequence before sending it (reused by a retry). */
  async setTimestamp(row: OutboxRow, owner: string, timestamp: Date, sequence: number): Promise<boolean> {
    const r = await this.m.GradeOutbox.updateOne(
      { _id: row.id, leaseOwner: owner },
      { $set: { timestamp, timestampSequence: sequence } },
    );
    return r.modifiedCount === 1 || r.matchedCount === 1;
  }

  /** The send of `sequence` worked: done unless a newer score arrived meanwhile. Releases the lease. */
  async markSent(row: OutboxRow, owner: string, sequence: number, now = new Date()): Promise<void> {
    const done = await this.m.GradeOutbox.updateOne(
      { _id: row.id, leaseOwner: owner, sequence },
      {
        $set: { pending: false, sentSequence: sequence, attempts: 0, updatedAt: now },
        $unset: { leaseOwner: '', leaseUntil: '', lastError: '' },
      },
    );
    if (done.matchedCount === 0) {
      await this.m.GradeOutbox.updateOne(
        { _id: row.id, leaseOwner: owner },
        { $set: { sentSequence: sequence, attempts: 0, updatedAt: now }, $unset: { leaseOwner: '', leaseUntil: '' } },
      );
    }
  }

  /** The send failed: try again at `retryAt`. Releases the lease. */
  async markFailed(row: OutboxRow, owner: string, error: string, retryAt: Date, now = new Date()): Promise<void> {
    await this.m.GradeOutbox.updateOne(
      { _id: row.id, leaseOwner: owner },
      {
        $set: { lastError: error, nextAttemptAt: retryAt, updatedAt: now },
        $inc: { attempts: 1 },
        $unset: { leaseOwner: '', leaseUntil: '' },
      },
    );
  }

  /** The LMS refused the score for good (4xx): kept with its error, not retried until a new score. */
  async markRefused(row: OutboxRow, owner: string, sequence: number, error: string, now = new Date()): Promise<void> {
    await this.m.GradeOutbox.updateOne(
      { _id: row.id, leaseOwner: owner, sequence },
      { $set: { pending: false, lastError: error, updatedAt: now }, $unset: { leaseOwner: '', leaseUntil: '' } },
    );
    await this.m.GradeOutbox.updateOne(
      { _id: row.id, leaseOwner: owner },
      { $unset: { leaseOwner: '', leaseUntil: '' } },
    );
  }

  async get(assignmentId: string, userId: string): Promise<OutboxRow | undefined> {
    const d = await this.m.GradeOutbox.findOne({ key: outboxKey(assignmentId, userId) }).lean();
    return d ? toRow(d as unknown as Lean) : undefined;
  }

  async ofAssignment(assignmentId: string): Promise<OutboxRow[]> {
    return (await this.m.GradeOutbox.find({ assignmentId }).lean()).map((d) => toRow(d as unknown as Lean));
  }

  async countPending(): Promise<number> {
    return this.m.GradeOutbox.countDocuments({ pending: true });
  }
}
