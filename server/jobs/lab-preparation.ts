/**
 * @file Lab preparation: the runtime makes what instances of a lab start
 * from (Runtime.prepare; on the local runtime, VM saved states) before the
 * first learner arrives, instead of during that learner's launch.
 *
 * The catalog in the database says what to prepare: on the leader (lease
 * "lab-preparation"), a sweep at start and every half minute queues the
 * latest version of every lab it has not handled yet in this term. So a lab
 * imported by the CLI (another process, which exits at once) or on another
 * replica is prepared too; an import on the leader wakes the sweep at once.
 * One preparation at a time (a VM template is a cold boot, on 2 cores); a
 * newer version of a lab replaces its queued older one; a failure is logged
 * and its instances start the slow way, as without preparation.
 */
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { InstanceSpec, Runtime } from '../runtime/runtime.js';
import type { LabSummary, LabVersion } from '../store/labs.js';
import type { GuardedJob } from './leadership.js';
import { PeriodicJob } from './periodic.js';

export type PreparedLab = InstanceSpec['lab'];

/** What the job reads of the catalog (the store's labs). */
export interface LabSource {
  list(): Promise<Array<Pick<LabSummary, 'name' | 'latestVersion'>>>;
  version(name: string, version: number): Promise<Pick<LabVersion, 'version' | 'definition'> | undefined>;
}

/** Seconds between two sweeps of the catalog (for imports the leader did not see). */
const SWEEP_SECONDS = 30;

export class LabPreparation implements GuardedJob {
  private readonly sweeps: PeriodicJob;
  /** Lab → the newest version queued, prepared or failed in this term (a new term starts afresh). */
  private readonly handled = new Map<string, number>();
  /** Lab → the version waiting for its turn, in arrival order. */
  private readonly queue = new Map<string, PreparedLab>();
  private draining?: Promise<void>;
  private running = false;

  constructor(
    private readonly labs: LabSource,
    private readonly prepare: (lab: PreparedLab) => Promise<void>,
    private readonly log: Logger,
    sweepSeconds = SWEEP_SECONDS,
  ) {
    this.sweeps = new PeriodicJob('lab preparation', () => this.sweep(), log, sweepSeconds);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.handled.clear();
    this.sweeps.start();
  }

  /** Stops sweeping and forgets the queue; a preparation under way ends on its own (`settle`). */
  async stop(): Promise<void> {
    this.running = false;
    this.queue.clear();
    await this.sweeps.stop();
  }

  /** A sweep now (after an import), without waiting for it. */
  wake(): void {
    this.sweeps.wake();
  }

  /** Resolves when a sweep that started after the call is over (tests). */
  sweepNow(): Promise<void> {
    return this.sweeps.run();
  }

  /** Waits until nothing is being prepared: the queue is done, or the job stopped and its last one ended. */
  async settle(): Promise<void> {
    while (this.draining) await this.draining;
  }

  /** Labs queued, in order (the one being prepared is not among them). */
  get waiting(): PreparedLab[] {
    return [...this.queue.values()];
  }

  private async sweep(): Promise<void> {
    for (const summary of await this.labs.list()) {
      if (!this.running) return;
      if ((this.handled.get(summary.name) ?? 0) >= summary.latestVersion) continue;
      const found = await this.labs.version(summary.name, summary.latestVersion);
      if (!found || !this.running) continue;
      this.handled.set(summary.name, found.version);
      // Same key: a queued older version is replaced, keeping its place.
      this.queue.set(summary.name, { name: summary.name, version: found.version, definition: found.definition });
    }
    this.drain();
  }

  private drain(): void {
    if (this.draining || !this.running) return;
    this.draining = this.prepareQueued().finally(() => {
      this.draining = undefined;
      // A sweep may have queued more between the last take and here.
      if (this.queue.size > 0) this.drain();
    });
  }

  private async prepareQueued(): Promise<void> {
    for (let lab = this.take(); lab; lab = this.take()) {
      const started = Date.now();
      try {
        await this.prepare(lab);
        this.log.info({ lab: lab.name, version: lab.version, ms: Date.now() - started }, 'lab prepared');
      } catch (err) {
        this.log.warn(
          { lab: lab.name, version: lab.version, err: errorMessage(err) },
          'cannot prepare lab: its instances start without it',
        );
      }
    }
  }

  private take(): PreparedLab | undefined {
    if (!this.running) return undefined;
    const [first] = this.queue.values();
    if (first) this.queue.delete(first.name);
    return first;
  }
}

/** The job for a runtime that prepares labs; undefined for one that does not (or none). */
export function labPreparationFor(
  runtime: Runtime | undefined,
  labs: LabSource,
  log: Logger,
  sweepSeconds?: number,
): LabPreparation | undefined {
  const prepare = runtime?.prepare?.bind(runtime);
  return prepare ? new LabPreparation(labs, prepare, log, sweepSeconds) : undefined;
}
