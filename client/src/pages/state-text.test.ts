import { describe, expect, it } from 'vitest';
import { exact, extensionsLeftText, queueText, roughly } from './state-text.js';

describe('time left', () => {
  it('reads roughly in the quiet clock, rounded down (never more time than there is)', () => {
    expect(roughly(40_100)).toBe('41 s'); // as the countdown (exact) shows it
    expect(roughly(60_000)).toBe('1 min');
    expect(roughly(119_999)).toBe('1 min');
    expect(roughly(12 * 60_000)).toBe('12 min');
    expect(roughly(65 * 60_000 + 59_000)).toBe('1 h 5 min');
    expect(roughly(2 * 3600_000)).toBe('2 h');
    expect(roughly(-5000)).toBe('0 s');
  });
  it('counts the extensions left in words', () => {
    expect([0, 1, 2].map(extensionsLeftText)).toEqual(['no extensions left', '1 extension left', '2 extensions left']);
  });
  it('reads to the second in the countdown', () => {
    expect(exact(4_000)).toBe('0:04');
    expect(exact(245_000)).toBe('4:05');
    expect(exact(3723_000)).toBe('1:02:03');
    expect(exact(-1)).toBe('0:00');
  });
});

describe('queue', () => {
  it('says the place in the queue, and next for the first', () => {
    expect(queueText(3)).toMatch(/^You are number 3 in the queue: /);
    expect(queueText(1)).toMatch(/^You are number 1 in the queue: .*\(you are next\)/);
    expect(queueText(undefined)).toBe('Your lab is starting…');
  });
});
