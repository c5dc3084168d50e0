/**
 * @file The pool job: keeps every warm pool at its size until it ends
 * (services/pools.ts `round`): starts missing members when there is room
 * and no learner waits in the queue, stops the surplus and the expired,
 * forgets failed members (with back-off before trying again). Runs on the
 * leader only, like the reaper, every ADMISSION_INTERVAL and right after a
 * claim or a change of a pool.
 */
import type { Logger } from '../log.js';
import type { WarmPools } from '../services/pools.js';
import { PeriodicJob } from './periodic.js';

export class PoolKeeper {
  private readonly job: PeriodicJob;

  constructor(pools: WarmPools, log: Logger, intervalSeconds: number) {
    this.job = new PeriodicJob('pools', () => pools.round(), log, intervalSeconds);
  }

  start(): void {
    this.job.start();
  }

  stop(): Promise<void> {
    return this.job.stop();
  }

  wake(): void {
    this.job.wake();
  }

  /** Resolves after a round that started after the call (tests). */
  run(): Promise<void> {
    return this.job.run();
  }
}
