/**
 * @file A background job that runs a round now and every few seconds, never
 * two rounds at once; a round asked for while one runs follows it (so work
 * that arrived meanwhile is seen). A failed round is logged, never fatal.
 */
import type { Logger } from '../log.js';

export class PeriodicJob {
  private timer?: NodeJS.Timeout;
  private current?: Promise<void>;
  private next?: Promise<void>;
  private stopped = true;

  constructor(
    private readonly name: string,
    private readonly round: () => Promise<unknown>,
    private readonly log: Logger,
    private readonly intervalSeconds: number,
  ) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.wake();
    this.timer = setInterval(() => this.wake(), this.intervalSeconds * 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.next;
    await this.current;
  }

  /** Asks for a round soon, without waiting for it. */
  wake(): void {
    void this.run();
  }

  /** Resolves when a round that started after this call is over (nothing when stopped). */
  run(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.current) {
      this.next ??= this.current.then(() => {
        this.next = undefined;
        return this.run();
      });
      return this.next;
    }
    this.current = this.round()
      .then(() => undefined)
      .catch((err) => this.log.error({ err, job: this.name }, `${this.name} round failed`))
      .finally(() => {
        this.current = undefined;
      });
    return this.current;
  }
}
