import { describe, expect, it } from 'vitest';
import { ActivityMeter } from './activity.js';

describe('ActivityMeter', () => {
  it('touches at most once per interval', () => {
    let now = 0;
    let touches = 0;
    const meter = new ActivityMeter(
      async () => {
        touches++;
      },
      30_000,
      () => now,
    );
    now = 100_000;
    meter.seen();
    meter.seen();
    now += 29_999;
    meter.seen();
    expect(touches).toBe(1);
    now += 1;
    meter.seen();
    expect(touches).toBe(2);
  });
});
