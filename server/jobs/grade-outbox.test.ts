import { describe, expect, it } from 'vitest';
import { nextTimestamp, retryDelayMs } from './grade-outbox.js';

describe('retryDelayMs', () => {
  it('doubles from the base up to the cap, with jitter between half and all of it', () => {
    expect(retryDelayMs(0, 1000, 60_000, () => 1)).toBe(1000);
    expect(retryDelayMs(3, 1000, 60_000, () => 1)).toBe(8000);
    expect(retryDelayMs(3, 1000, 60_000, () => 0)).toBe(4000);
    expect(retryDelayMs(20, 1000, 60_000, () => 1)).toBe(60_000);
    expect(retryDelayMs(5000, 1000, 60_000, () => 0.5)).toBe(45_000);
  });
});

describe('nextTimestamp', () => {
  it('is now in whole seconds when nothing was sent', () => {
    expect(nextTimestamp(undefined, new Date('2026-01-01T10:00:00.900Z')).toISOString()).toBe(
      '2026-01-01T10:00:00.000Z',
    );
  });
  it('is at least one second after the previous one (Moodle refuses a timestamp not later, in whole seconds)', () => {
    const previous = new Date('2026-01-01T10:00:00.000Z');
    expect(nextTimestamp(previous, new Date('2026-01-01T10:00:00.300Z')).toISOString()).toBe(
      '2026-01-01T10:00:01.000Z',
    );
    expect(nextTimestamp(previous, new Date('2026-01-01T10:00:07.300Z')).toISOString()).toBe(
      '2026-01-01T10:00:07.000Z',
    );
    // A clock that went back still moves forward.
    expect(nextTimestamp(previous, new Date('2026-01-01T09:59:00.000Z')).toISOString()).toBe(
      '2026-01-01T10:00:01.000Z',
    );
  });
});
