/**
 * @file Which replica runs which background job: one leader lease per job
 * name in the database (server/store/leases.ts), renewed every third of its
 * time while the process lives. A job is started when its lease is won and
 * stopped when it is lost (renewal failed past the lease's end, or another
 * replica holds it), so each job runs on exactly one replica; after a kill -9
 * the lease runs out and a surviving replica takes over.
 *
 * For any job (the grade outbox too): `leadership.guard(name, { start, stop })`.
 * Inside a round, `leadership.holds(name)` says whether this process still
 * leads, with a safety margin before the lease's end.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { Logger } from '../log.js';
import type { LeaseRepository } from '../store/leases.js';
import { retryBusy } from '../store/retry.js';

export interface GuardedJob {
  start(): void;
  stop(): Promise<void> | void;
}

interface Entry {
  job: GuardedJob;
  /** Local time until which the lease is ours (taken before asking, so never later than the database's). */
  heldUntil: number;
  running: boolean;
}

export class Leadership {
  /** This process, as the holder written in leases. */
  readonly holder = `${os.hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  private readonly entries = new Map<string, Entry>();
  private timer?: NodeJS.Timeout;
  private renewing?: Promise<void>;
  private closed = false;

  constructor(
    private readonly leases: LeaseRepository,
    private readonly log: Logger,
    private readonly ttlSeconds: number,
  ) {}

  /** Runs `job` while this process holds the lease `name`. */
  guard(name: string, job: GuardedJob): void {
    this.entries.set(name, { job, heldUntil: 0, running: false });
    if (!this.timer && !this.closed) {
      this.timer = setInterval(() => void this.renew(), (this.ttlSeconds * 1000) / 3);
      this.timer.unref();
    }
    void this.renew();
  }

  /** Whether this process leads `name`, with a margin of a sixth of the lease before its end. */
  holds(name: string): boolean {
    const e = this.entries.get(name);
    return e !== undefined && Date.now() < e.heldUntil - (this.ttlSeconds * 1000) / 6;
  }

  /** Tries (again) at once to take or renew every lease. */
  renew(): Promise<void> {
    this.renewing ??= this.renewAll().finally(() => {
      this.renewing = undefined;
    });
    return this.renewing;
  }

  private async renewAll(): Promise<void> {
    for (const [name, e] of this.entries) {
      if (this.closed) return;
      const asked = Date.now();
      let won: boolean;
      try {
        won = await retryBusy(() => this.leases.acquire(name, this.holder, this.ttlSeconds * 1000, new Date(asked)));
        if (won) e.heldUntil = asked + this.ttlSeconds * 1000;
      } catch (err) {
        this.log.warn({ err, job: name }, 'could not renew a job lease');
        won = Date.now() < e.heldUntil; // still ours until it runs out
      }
      if (won && !e.running && !this.closed) {
        e.running = true;
        this.log.info({ job: name, holder: this.holder }, 'leading job');
        e.job.start();
      } else if (!won && e.running) {
        e.running = false;
        e.heldUntil = 0;
        this.log.warn({ job: name }, 'lost the job lease; stopping the job here');
        await e.job.stop();
      }
    }
  }

  /** Stops every job and gives the leases up, so another replica takes over without waiting. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.renewing;
    for (const [name, e] of this.entries) {
      if (e.running) {
        e.running = false;
        await e.job.stop();
      }
      await this.leases.release(name, this.holder).catch(() => undefined);
    }
  }
}
