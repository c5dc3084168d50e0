/**
 * @file Admission: new instances wait as `requested` (the queue) until
 * there is room for them under the quotas (domain/limits.ts: per course,
 * instances, CPU and memory of the runtime). First come, first served: a
 * launch blocked by a global limit holds everyone behind it; one blocked
 * by its course's limit lets other courses pass. Runs on the leader only
 * (one admitter, so two replicas cannot both fill the last slot), every
 * few seconds and whenever capacity frees or a launch arrives here.
 *
 * Why a queue rather than a refusal: a whole course launches at 10:00; a
 * place in line that moves on its own beats "try again" 200 times.
 */
import { admissible } from '../domain/limits.js';
import type { Logger } from '../log.js';
import type { InstanceLifecycle } from '../services/instances.js';
import type { Store } from '../store/store.js';
import { PeriodicJob } from './periodic.js';

export class Admission {
  private readonly job: PeriodicJob;

  constructor(
    private readonly store: Store,
    private readonly lifecycle: InstanceLifecycle,
    log: Logger,
    intervalSeconds: number,
    /** Whether this process leads admission now. */
    private readonly leads: () => boolean,
  ) {
    this.job = new PeriodicJob('admission', () => this.round(), log, intervalSeconds);
  }

  start(): void {
    this.job.start();
  }

  stop(): Promise<void> {
    return this.job.stop();
  }

  /** Admits what fits now; resolves after a round that saw everything queued before the call. */
  drain(): Promise<void> {
    return this.job.run();
  }

  wake(): void {
    this.job.wake();
  }

  /** One pass over the queue; returns the ids it admitted. */
  async round(): Promise<string[]> {
    if (!this.leads()) return [];
    const queue = await this.store.instances.queued();
    if (queue.length === 0) return [];
    const holding = await this.lifecycle.holding();
    const admitted: string[] = [];
    for (const instance of admissible(queue, holding, this.lifecycle.limits.capacity)) {
      if (!this.leads()) break; // lost the lease mid-round: the new leader goes on
      if (await this.lifecycle.admit(instance)) admitted.push(instance.id);
    }
    return admitted;
  }
}
