/**
 * @file The reconciler (DESIGN.md "Instance lifecycle"): the database holds
 * what should be, the runtime reports what is; this job makes them agree, at
 * start-up (after a crash) and every few seconds. It removes runtime objects
 * of no active instance (orphans), finishes interrupted provisioning and
 * stopping, and marks running instances whose systems vanished as failed.
 * With several replicas it runs on the leader only (server/jobs/leadership.ts),
 * and leaves instances another replica works on to that replica.
 */
import type { InstanceState } from '../domain/instance/state.js';
import type { Logger } from '../log.js';
import type { Runtime } from '../runtime/runtime.js';
import type { InstanceLifecycle } from '../services/instances.js';
import type { Store } from '../store/store.js';

const ACTIVE: InstanceState[] = ['requested', 'provisioning', 'running', 'paused', 'stopping'];

export interface RoundReport {
  orphansRemoved: string[];
  driven: string[];
  lost: string[];
}

export class Reconciler {
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;

  constructor(
    private readonly store: Store,
    private readonly lifecycle: InstanceLifecycle,
    private readonly runtime: Runtime,
    private readonly log: Logger,
  ) {}

  /** Runs a round now and then every `intervalSeconds`; a failed round is logged, never fatal. */
  start(intervalSeconds: number): void {
    const tick = () => {
      if (this.running) return;
      this.running = this.round()
        .catch((err) => this.log.error({ err }, 'reconciler round failed'))
        .finally(() => {
          this.running = undefined;
        });
    };
    tick();
    this.timer = setInterval(tick, intervalSeconds * 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  async round(): Promise<RoundReport> {
    const report: RoundReport = { orphansRemoved: [], driven: [], lost: [] };
    // The runtime first: an instance created after this read is in the database read below, so never taken for an orphan.
    const started = Date.now();
    const existing = new Set(await this.runtime.list());
    const active = await this.store.instances.list({ states: ACTIVE });
    const wanted = new Set(active.map((i) => i.id));

    for (const id of existing) {
      if (wanted.has(id) || this.lifecycle.busy(id)) continue;
      // Stopped while this round listed the runtime (its teardown is over): no orphan, just listed early.
      const record = await this.store.instances.get(id);
      if (record && record.updatedAt.getTime() >= started) continue;
      this.log.warn({ instance: id }, 'removing orphaned runtime objects');
      await this.runtime.destroy(id);
      report.orphansRemoved.push(id);
    }

    for (const instance of active) {
      // Requested instances are the queue: the admission job starts them.
      if (this.lifecycle.busy(instance.id) || instance.state === 'requested') continue;
      if (instance.state === 'running' || instance.state === 'paused') {
        // Became running after the runtime was listed (its objects are not in `existing`): next round.
        if (instance.updatedAt.getTime() >= started) continue;
        const lost = await this.lostReason(instance.id, existing.has(instance.id));
        if (lost) {
          await this.lifecycle.markLost(instance, lost);
          report.lost.push(instance.id);
        } else if (instance.state === 'paused') {
          await this.runtime.pause(instance.id); // idempotent: enforce what the database says
        }
        continue;
      }
      this.lifecycle.drive(instance);
      report.driven.push(instance.id);
    }
    return report;
  }

  private async lostReason(id: string, exists: boolean): Promise<string | undefined> {
    const status = await this.runtime.status(id);
    // Absent from the list: asked again one by one (a busy engine's listing can miss objects under change).
    if (!exists && status.systems.every((s) => s.phase === 'missing'))
      return 'the runtime has nothing of this instance any more; start it again';
    const gone = status.systems.filter((s) => s.phase === 'missing' || s.phase === 'failed' || s.phase === 'stopped');
    if (gone.length === 0) return undefined;
    return gone.map((s) => `system ${s.name} is ${s.phase}${s.reason ? `: ${s.reason}` : ''}`).join('; ');
  }
}
