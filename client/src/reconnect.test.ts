import { describe, expect, it } from 'vitest';
import { jitteredBackoff } from './reconnect.js';

describe('jitteredBackoff', () => {
  it('grows, stays within half and all of the ceiling, and is capped', () => {
    const low = jitteredBackoff(500, 15_000, () => 0);
    const high = jitteredBackoff(500, 15_000, () => 1);
    expect([0, 1, 2, 3].map((n) => low.delay(n))).toEqual([250, 500, 1000, 2000]);
    expect([0, 1, 2, 3].map((n) => high.delay(n))).toEqual([500, 1000, 2000, 4000]);
    expect(high.delay(20)).toBe(15_000);
    expect(low.delay(20)).toBe(7_500);
  });
});
