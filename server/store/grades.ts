/**
 * @file The grade outbox: one row per (assignment, user) holding the latest
 * score to send to the LMS. Enqueueing overwrites the score and bumps
 * `sequence`; a sender records the outcome for the sequence it sent.
 *
 * Leases are claims *inserted* under a unique id (`<row>#<n>`, n = the last
 * claim's n + 1), not conditional updates: FerretDB 1.24 (SQLite) applies
 * neither `findOneAndUpdate` filters nor `$inc` atomically under concurrent
 * writers (measured: 4 of 4 racing claims won; 800 racing `$inc` gave 196),
 * while a unique-key insert has exactly one winner everywhere. A claim is
 * written only by its owner (release) and expires with `until` (a holder
 * killed with -9). Row writes of this process are serialised per row, so
 * an enqueue never loses to a concurrent markSent here. Left open on
 * FerretDB 1.x only: an enqueue on one process racing a markSent of the same
 * row on another can lose the newer score (its updates are read-modify-write
 * of the whole document); MongoDB applies both atomically.
 */
import { type Connection, Schema } from 'mongoose';
import type { Models } from './models.js';
import { isDuplicateKey } from './store.js';

const claimSchema = new Schema(
  {
    _id: { type: String, required: true },
    rowId: { type: String, required: true },
    n: { type: Number, required: true },
    owner: { type: String, required: true },
    until: { type: Date, required: true },
    released: { type: Boolean, default: false },
  },
  { versionKey: false },
);
claimSchema.index({ rowId: 1, n: -1 });

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
  /** The claim this sender holds (set by lease()). */
  claimId?: string;
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
  ...(d.timestamp ? { timestamp: d.timestamp as Date } : {}),
  ...(d.timestampSequence != null ? { timestampSequence: Number(d.timestampSequence) } : {}),
  ...(d.lastError ? { lastError: String(d.lastError) } : {}),
});

export const outboxKey = (assignmentId: string, userId: string) => `${assignmentId}:${userId}`;

export class GradeOutboxRepository {
  private readonly Claim;
  /** Row writes of this process, one at a time per row (see the file header). */
  private readonly writing = new Map<string, Promise<unknown>>();

  constructor(
    private readonly m: Models,
    conn: Connection,
  ) {
    this.Claim = conn.model('GradeOutboxClaim', claimSchema, 'grade_outbox_claims');
  }

  private serial<T>(key: string, work: () => Promise<T>): Promise<T> {
    const before = this.writing.get(key) ?? Promise.resolve();
    const run = before.then(work, work);
    const settled = run.catch(() => undefined);
    this.writing.set(key, settled);
    void settled.then(() => {
      if (this.writing.get(key) === settled) this.writing.delete(key);
    });
    return run;
  }

  /** Stores the latest score of (assignment, user), due now; durable when it resolves. */
  async enqueue(assignmentId: string, userId: string, score: OutboxScore, now = new Date()): Promise<OutboxRow> {
    const key = outboxKey(assignmentId, userId);
    return this.serial(key, async () => {
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
    });
  }

  /** Claims one due row nobody holds (a unique insert: one winner); undefined when there is none. */
  async lease(owner: string, leaseMs: number, now = new Date()): Promise<OutboxRow | undefined> {
    const due = await this.m.GradeOutbox.find({ pending: true, nextAttemptAt: { $lte: now } })
      .sort({ nextAttemptAt: 1 })
      .limit(20)
      .lean();
    for (const candidate of due) {
      const rowId = String(candidate._id);
      const last = await this.Claim.findOne({ rowId }).sort({ n: -1 }).lean();
      if (last && !last.released && last.until > now) continue;
      const n = (last?.n ?? 0) + 1;
      const claimId = `${rowId}#${n}`;
      try {
        await this.Claim.create({ _id: claimId, rowId, n, owner, until: new Date(now.getTime() + leaseMs) });
      } catch (err) {
        if (isDuplicateKey(err)) continue; // another sender claimed it first
        throw err;
      }
      // Ours now: read the row again (it may have been sent meanwhile, or hold a newer score).
      const fresh = await this.m.GradeOutbox.findById(candidate._id).lean();
      if (!fresh?.pending) {
        await this.release(claimId);
        continue;
      }
      return { ...toRow(fresh as unknown as Lean), claimId };
    }
    return undefined;
  }

  private async release(claimId: string): Promise<void> {
    await this.Claim.updateOne({ _id: claimId }, { $set: { released: true } });
  }

  private write(row: OutboxRow, work: () => Promise<unknown>): Promise<unknown> {
    return this.serial(row.key, work);
  }

  /** Records the AGS timestamp chosen for a sequence before sending it (reused by a retry). */
  async setTimestamp(row: OutboxRow, timestamp: Date, sequence: number): Promise<void> {
    await this.write(row, () =>
      this.m.GradeOutbox.updateOne({ _id: row.id }, { $set: { timestamp, timestampSequence: sequence } }),
    );
  }

  /** The send of `sequence` worked: done unless a newer score arrived meanwhile. Releases the claim. */
  async markSent(row: OutboxRow, sequence: number, now = new Date()): Promise<void> {
    await this.write(row, async () => {
      const done = await this.m.GradeOutbox.updateOne(
        { _id: row.id, sequence },
        { $set: { pending: false, sentSequence: sequence, attempts: 0, updatedAt: now }, $unset: { lastError: '' } },
      );
      if (done.matchedCount === 0) {
        await this.m.GradeOutbox.updateOne(
          { _id: row.id },
          { $set: { sentSequence: sequence, attempts: 0, updatedAt: now } },
        );
      }
    });
    if (row.claimId) await this.release(row.claimId);
  }

  /** The send failed: try again at `retryAt`. Releases the claim. */
  async markFailed(row: OutboxRow, error: string, retryAt: Date, now = new Date()): Promise<void> {
    await this.write(row, () =>
      this.m.GradeOutbox.updateOne(
        { _id: row.id },
        { $set: { lastError: error, nextAttemptAt: retryAt, updatedAt: now }, $inc: { attempts: 1 } },
      ),
    );
    if (row.claimId) await this.release(row.claimId);
  }

  /** The LMS refused the score for good (4xx): kept with its error, not retried until a new score. */
  async markRefused(row: OutboxRow, sequence: number, error: string, now = new Date()): Promise<void> {
    await this.write(row, () =>
      this.m.GradeOutbox.updateOne(
        { _id: row.id, sequence },
        { $set: { pending: false, lastError: error, updatedAt: now } },
      ),
    );
    if (row.claimId) await this.release(row.claimId);
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
