/**
 * @file Background work on instances (provision, reset, teardown, a pause
 * by the limits): one job at a time per instance in this process, and a
 * claim in the database while a job runs, renewed, so that replicas
 * sharing one database do not drive the same instance at once. The
 * reconciler's drive leaves an instance alone while another replica holds
 * a live claim, and takes it over once the claim lapses (a crash).
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { Logger } from '../log.js';
import { retryBusy } from '../store/retry.js';
import type { Store } from '../store/store.js';

/** How long a claim on an instance's background work lasts without renewal (renewed every third). */
const WORK_CLAIM_MS = 15_000;

export class InstanceWork {
  /** Work per instance in this process, so that work on one instance never overlaps. */
  private readonly jobs = new Map<string, Promise<void>>();
  /** This process, as the holder of work claims (several replicas share one database). */
  readonly workerId = `${os.hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
  ) {}

  /**
   * Runs background work on an instance, claimed in the database for this
   * process while it runs. With `onlyIfUnclaimed` (the reconciler's drive),
   * nothing happens while another replica holds a live claim.
   */
  schedule(id: string, job: () => Promise<void>, onlyIfUnclaimed = false): void {
    const claimed = async () => {
      const until = () => new Date(Date.now() + WORK_CLAIM_MS);
      const mine = await retryBusy(() =>
        this.store.instances.claimWork(id, this.workerId, until(), new Date(), !onlyIfUnclaimed),
      );
      if (!mine) return;
      const heartbeat = setInterval(() => {
        void this.store.instances.claimWork(id, this.workerId, until()).catch(() => undefined);
      }, WORK_CLAIM_MS / 3);
      heartbeat.unref();
      try {
        await job();
      } finally {
        clearInterval(heartbeat);
        await this.store.instances.releaseWork(id, this.workerId).catch(() => undefined);
      }
    };
    void this.exclusive(id, claimed).catch((err) => this.log.error({ err, instance: id }, 'background work failed'));
  }

  /** Runs a job on an instance once the work before it is over (short work the caller waits for: pause, resume). */
  async exclusive<T>(id: string, job: () => Promise<T>): Promise<T> {
    while (this.jobs.has(id)) await this.jobs.get(id)?.catch(() => undefined);
    const run = job();
    const tracked = run.then(
      () => undefined,
      () => undefined,
    );
    this.jobs.set(id, tracked);
    try {
      return await run;
    } finally {
      if (this.jobs.get(id) === tracked) this.jobs.delete(id);
    }
  }

  /** Whether this process is working on the instance now. */
  busy(id: string): boolean {
    return this.jobs.has(id);
  }

  /** Resolves when the work on an instance (if any) is over. */
  async settled(id: string): Promise<void> {
    while (this.jobs.has(id)) await this.jobs.get(id);
  }

  async settleAll(): Promise<void> {
    while (this.jobs.size > 0) await Promise.allSettled([...this.jobs.values()]);
  }
}
