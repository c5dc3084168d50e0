/**
 * @file Background checks of open tutorial pages: every second, for each
 * page a workspace shows (TutorialService.openPages), planBackgroundChecks
 * decides whether a round is due (one round per instance at a time, every
 * few seconds, a few not-done steps of that page) and the round runs on its
 * own. At start and every minute it also sends the progress events that
 * were stored but not delivered. Guarded: a failing tick is logged and the
 * next one comes anyway.
 */
import {
  type BackgroundCheckPolicy,
  DEFAULT_BACKGROUND_POLICY,
  planBackgroundChecks,
} from '../domain/tutorial/checks.js';
import type { Logger } from '../log.js';
import type { TutorialService } from '../services/tutorials.js';

/** Ticks between two sweeps for progress events that were stored but not delivered. */
const REDELIVER_EVERY = 60;

interface Rounds {
  inFlight: boolean;
  lastRoundAt?: number;
  round: number;
}

export class BackgroundChecks {
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private ticks = 0;
  private readonly rounds = new Map<string, Rounds>();
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly tutorials: TutorialService,
    private readonly log: Logger,
    private readonly policy: BackgroundCheckPolicy = DEFAULT_BACKGROUND_POLICY,
    private readonly now: () => number = Date.now,
  ) {}

  start(intervalMs = 1000): void {
    this.timer ??= setInterval(() => {
      if (this.ticking) return;
      const redeliver = this.ticks++ % REDELIVER_EVERY === 0;
      this.ticking = (redeliver ? this.tutorials.redeliver() : Promise.resolve())
        .then(() => this.tick())
        .catch((err) => this.log.error({ err }, 'background checks: tick failed'))
        .finally(() => {
          this.ticking = undefined;
        });
    }, intervalMs);
    this.timer.unref();
  }

  /** Starts the rounds that are due; they run on their own (`settle()` waits for them). */
  async tick(): Promise<void> {
    const now = this.now();
    const open = this.tutorials.openPages;
    for (const [instanceId, page] of open) {
      if (now - page.seenAt > this.policy.pageStaleAfterSeconds * 1000) {
        open.delete(instanceId);
        this.rounds.delete(instanceId);
        continue;
      }
      const rounds = this.rounds.get(instanceId) ?? { inFlight: false, round: 0 };
      if (rounds.inFlight || (rounds.lastRoundAt ?? -Infinity) + this.policy.intervalSeconds * 1000 > now) continue;
      const input = await this.tutorials.backgroundInput(instanceId);
      if (!input) {
        open.delete(instanceId);
        continue;
      }
      const plan = planBackgroundChecks(
        {
          tutorial: input.lab.tutorial,
          states: input.states,
          openPage: page,
          running: input.instance.state === 'running',
          roundInFlight: rounds.inFlight,
          ...(rounds.lastRoundAt !== undefined && { lastRoundAt: rounds.lastRoundAt }),
          round: rounds.round,
          now,
        },
        this.policy,
      );
      if (!plan.due) continue;
      const state: Rounds = { inFlight: true, lastRoundAt: now, round: rounds.round + 1 };
      this.rounds.set(instanceId, state);
      const run = this.tutorials
        .checkInBackground(input.instance, input.lab, plan.steps)
        .catch((err) => this.log.warn({ err, instance: instanceId }, 'background check round failed'))
        .finally(() => {
          state.inFlight = false;
          this.inFlight.delete(run);
        });
      this.inFlight.add(run);
    }
  }

  /** Waits for rounds under way. */
  async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Stops ticking and waits for the tick and the rounds under way. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.ticking;
    await this.settle();
  }
}
