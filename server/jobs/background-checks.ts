/**
 * @file Background checks of open tutorial pages: a steady tick that lets the
 * tutorial service start the rounds that are due (planBackgroundChecks
 * decides; one round per instance at a time, every few seconds); and, at
 * start and every minute, the progress events that were stored but not
 * delivered. Guarded: a failing tick is logged and the next one comes anyway.
 */
import type { Logger } from '../log.js';
import type { TutorialService } from '../services/tutorials.js';

/** Ticks between two sweeps for progress events that were stored but not delivered. */
const REDELIVER_EVERY = 60;

export class BackgroundChecks {
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private ticks = 0;

  constructor(
    private readonly tutorials: TutorialService,
    private readonly log: Logger,
  ) {}

  start(intervalMs = 1000): void {
    this.timer ??= setInterval(() => {
      if (this.ticking) return;
      // The first tick (and every REDELIVER_EVERY-th) also sends events a crash or a failing listener left.
      const redeliver = this.ticks++ % REDELIVER_EVERY === 0;
      this.ticking = (redeliver ? this.tutorials.redeliver() : Promise.resolve())
        .then(() => this.tutorials.backgroundTick())
        .catch((err) => this.log.error({ err }, 'background checks: tick failed'))
        .finally(() => {
          this.ticking = undefined;
        });
    }, intervalMs);
    this.timer.unref();
  }

  /** Stops ticking and waits for rounds under way. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.ticking;
    await this.tutorials.settle();
  }
}
