/**
 * @file Reconnecting after a blip: capped exponential backoff with full
 * jitter, so that a server restart is not met by every browser at once.
 */

export interface Backoff {
  /** Milliseconds to wait before attempt `n` (0-based). */
  delay(attempt: number): number;
}

export function jitteredBackoff(baseMs = 500, capMs = 15_000, random: () => number = Math.random): Backoff {
  return {
    delay(attempt) {
      const ceiling = Math.min(capMs, baseMs * 2 ** attempt);
      // Half fixed, half random: never 0 (no tight loop), never above the cap.
      return Math.round(ceiling / 2 + random() * (ceiling / 2));
    },
  };
}
