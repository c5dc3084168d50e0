/**
 * @file The grade outbox (DESIGN.md "LTI"): every progress change of an
 * LMS-launched instance becomes the latest score of (assignment, user) in a
 * durable row (GradeOutboxListener), and this job sends due rows to the LMS
 * through a ScoreSender (lti/ implements it with AGS).
 *
 * - Latest score wins: one row per (assignment, user); a newer score bumps
 *   its sequence, and a send of an older sequence cannot mark it sent.
 * - Nothing lost: the row is written before the listener resolves and
 *   stays pending until the LMS accepted that sequence; after a crash the
 *   lease runs out and any process takes the row again.
 * - No double sending: a row is sent only under a claim, which exactly one
 *   sender wins (store/grades.ts says how, on MongoDB and FerretDB 1.x).
 * - Timestamps strictly increasing, ≥ 1 s apart, per (line item, user):
 *   Moodle stores whole seconds and answers 409 to a timestamp not later
 *   than the stored one. The timestamp of a sequence is stored before the
 *   send and reused by its retries, so a 409 on a retry means "the LMS has
 *   it already" (our first try reached it but its answer was lost).
 * - While the LMS fails (5xx, 429, network, 401): capped exponential
 *   backoff with jitter, honouring Retry-After. Other 4xx: kept with the
 *   error, not retried until a newer score arrives.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { ProgressEvent, ProgressListener } from '../domain/tutorial/progress.js';
import type { Logger } from '../log.js';
import type { Assignment } from '../store/assignments.js';
import type { OutboxRow, OutboxScore } from '../store/grades.js';
import type { Store } from '../store/store.js';
import type { User } from '../store/users.js';

export interface ScoreDelivery {
  assignment: Assignment;
  user: User;
  score: OutboxScore;
  /** The AGS timestamp to send (whole seconds). */
  timestamp: Date;
}

/** Sends one score; throws an error with `status` (HTTP status, 0 = network) and maybe `retryAfterSeconds`. */
export interface ScoreSender {
  send(delivery: ScoreDelivery): Promise<void>;
}

export interface GradeOutboxOptions {
  /** Seconds between rounds, and the first retry delay. */
  intervalSeconds: number;
  /** Longest retry delay (seconds). */
  retryMaxSeconds: number;
  /** How long a lease holds a row (seconds): after a crash, the row waits this long. */
  leaseSeconds: number;
}

/** Turns progress events into outbox rows; durable when it resolves (ProgressListener contract). */
export class GradeOutboxListener implements ProgressListener {
  constructor(
    private readonly store: Store,
    private readonly onEnqueued: () => void = () => undefined,
  ) {}

  async progressChanged(event: ProgressEvent): Promise<void> {
    if (!event.assignmentId) return; // not launched from an LMS: nothing to grade
    await this.store.grades.enqueue(event.assignmentId, event.userId, {
      scoreGiven: event.scoreGiven,
      scoreMaximum: event.scoreMaximum,
      activityProgress: event.activityProgress,
      gradingProgress: event.gradingProgress,
      at: event.at,
    });
    this.onEnqueued();
  }
}

/** The delay before retry number `attempts` (0-based): capped exponential, with jitter in [50 %, 100 %]. */
export function retryDelayMs(attempts: number, baseMs: number, maxMs: number, random = Math.random): number {
  const capped = Math.min(maxMs, baseMs * 2 ** Math.min(attempts, 30));
  return Math.round(capped * (0.5 + random() / 2));
}

/** The AGS timestamp of a new sequence: now in whole seconds, at least 1 s after the previous one. */
export function nextTimestamp(previous: Date | undefined, now: Date): Date {
  const seconds = Math.floor(now.getTime() / 1000) * 1000;
  return new Date(previous ? Math.max(seconds, Math.floor(previous.getTime() / 1000) * 1000 + 1000) : seconds);
}

export class GradeOutboxJob {
  readonly owner = `${os.hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;
  private stopped = false;

  constructor(
    private readonly store: Store,
    private readonly sender: ScoreSender,
    private readonly log: Logger,
    private readonly opts: GradeOutboxOptions,
  ) {}

  start(): void {
    this.stopped = false;
    this.wake();
    this.timer = setInterval(() => this.wake(), this.opts.intervalSeconds * 1000);
    this.timer.unref();
  }

  /** Runs a round now (or right after the current one). */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.round()
      .then(() => undefined)
      .catch((err) => this.log.error({ err }, 'grade outbox round failed'))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
  }

  /** Sends every due row once; returns how many rows it handled. */
  async round(): Promise<number> {
    let handled = 0;
    for (;;) {
      if (this.stopped) return handled;
      const row = await this.store.grades.lease(this.owner, this.opts.leaseSeconds * 1000);
      if (!row) return handled;
      handled++;
      await this.deliver(row);
    }
  }

  private async deliver(row: OutboxRow): Promise<void> {
    const [assignment, user] = await Promise.all([
      this.store.assignments.get(row.assignmentId),
      this.store.users.get(row.userId),
    ]);
    const sequence = row.sequence;
    if (!assignment || !user) {
      await this.store.grades.markRefused(row, sequence, 'the assignment or the user no longer exists');
      return;
    }
    const retry = row.timestampSequence === sequence && row.timestamp !== undefined;
    const timestamp = retry ? row.timestamp! : nextTimestamp(row.timestamp, new Date());
    if (!retry) await this.store.grades.setTimestamp(row, timestamp, sequence);
    try {
      await this.sender.send({ assignment, user, score: row.score, timestamp });
      await this.store.grades.markSent(row, sequence);
      this.log.info({ assignment: assignment.id, user: user.id, sequence }, 'score delivered');
    } catch (err) {
      const status = (err as { status?: unknown }).status;
      const code = typeof status === 'number' ? status : 0;
      const message = (err as Error).message ?? String(err);
      if (code === 409 && retry) {
        // Our earlier send of this very timestamp reached the LMS; its answer was lost.
        await this.store.grades.markSent(row, sequence);
        return;
      }
      if (code === 409) {
        // The LMS holds a later timestamp (clock skew): the next try takes a new, later one.
        await this.store.grades.setTimestamp(row, timestamp, -1);
      }
      const retryable = code === 0 || code === 401 || code === 408 || code === 409 || code === 429 || code >= 500;
      if (!retryable) {
        this.log.warn(
          { assignment: assignment.id, user: user.id, status: code, err: message },
          'score refused by the LMS',
        );
        await this.store.grades.markRefused(row, sequence, message);
        return;
      }
      const after = (err as { retryAfterSeconds?: unknown }).retryAfterSeconds;
      const delay = Math.max(
        retryDelayMs(row.attempts, this.opts.intervalSeconds * 1000, this.opts.retryMaxSeconds * 1000),
        typeof after === 'number' ? Math.min(after, this.opts.retryMaxSeconds) * 1000 : 0,
      );
      this.log.info(
        { assignment: assignment.id, user: user.id, status: code, delay },
        'score not delivered; will retry',
      );
      await this.store.grades.markFailed(row, message, new Date(Date.now() + delay));
    }
  }
}
