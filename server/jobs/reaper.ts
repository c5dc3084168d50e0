/**
 * @file The reaper: applies the TTL and idle limits (domain/limits.ts) to
 * running instances. It first marks the warning phase (`warnedAt`, shown by
 * the API so the workspace can count down and offer "I am still here"),
 * then stops or pauses the instance (per lab) through the lifecycle with a
 * reason a learner can read. It also stops instances left paused longer
 * than their limit (`maxPaused`): a paused instance holds memory, disk
 * and a place under the quotas. Runs on the leader only.
 */
import { decide, decidePaused, pausedSince } from '../domain/limits.js';
import type { Logger } from '../log.js';
import type { InstanceLifecycle } from '../services/instances.js';
import type { Store } from '../store/store.js';
import { PeriodicJob } from './periodic.js';

export interface ReaperReport {
  warned: string[];
  cleared: string[];
  expired: string[];
}

export class Reaper {
  private readonly job: PeriodicJob;

  constructor(
    private readonly store: Store,
    private readonly lifecycle: InstanceLifecycle,
    private readonly log: Logger,
    intervalSeconds: number,
    /** Longest warning (seconds): LIMIT_WARNING. */
    private readonly maxWarningSeconds: number,
    /** How long an instance may stay paused when its lab does not say (seconds; 0 = no limit): LIMIT_MAX_PAUSED. */
    private readonly defaultMaxPaused = 0,
  ) {
    this.job = new PeriodicJob('reaper', () => this.round(), log, intervalSeconds);
  }

  start(): void {
    this.job.start();
  }

  stop(): Promise<void> {
    return this.job.stop();
  }

  async round(now = new Date()): Promise<ReaperReport> {
    const report: ReaperReport = { warned: [], cleared: [], expired: [] };
    for (const instance of await this.store.instances.list({ states: ['running', 'paused'] })) {
      if (this.lifecycle.busy(instance.id)) continue;
      // Paused instances use no CPU and see no activity: only their paused age counts.
      if (instance.state === 'paused') {
        const decision = decidePaused(instance, pausedSince(instance), now, this.defaultMaxPaused);
        if (decision.kind === 'expire' && (await this.lifecycle.expire(instance, decision)))
          report.expired.push(instance.id);
        continue;
      }
      const decision = decide(instance, now, this.maxWarningSeconds);
      switch (decision.kind) {
        case 'warn':
          if (await this.store.instances.warn(instance.id, now)) {
            report.warned.push(instance.id);
            this.log.info(
              { instance: instance.id, at: decision.expiry.at, cause: decision.expiry.cause },
              'instance warned before its limit',
            );
            await this.store.audit.record({
              action: 'instance.warn',
              target: `instance:${instance.id}`,
              details: { cause: decision.expiry.cause, at: decision.expiry.at.toISOString() },
            });
          }
          break;
        case 'clear-warning':
          await this.store.instances.clearWarning(instance.id, instance.warnedAt!);
          report.cleared.push(instance.id);
          break;
        case 'expire':
          if (await this.lifecycle.expire(instance, decision)) report.expired.push(instance.id);
          break;
        case 'none':
          break;
      }
    }
    return report;
  }
}
