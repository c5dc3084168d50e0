/**
 * @file Console traffic counts as activity for the idle timer: at most one
 * database write per socket every `intervalMs`, however busy the socket is.
 */

export class ActivityMeter {
  private last = 0;

  constructor(
    private readonly touch: () => Promise<void>,
    private readonly intervalMs = 30_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Call on every frame; writes when the last write is older than the interval. */
  seen(): void {
    const now = this.now();
    if (now - this.last < this.intervalMs) return;
    this.last = now;
    this.touch().catch(() => {
      // A missed touch only makes the idle timer a little early; the next frame retries.
      this.last = 0;
    });
  }
}
