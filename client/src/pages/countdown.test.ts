import { describe, expect, it } from 'vitest';
import { dayAndTime } from './countdown.js';

describe("a paused lab's stop in words", () => {
  // Local times: the day is the learner's day, whatever the time zone of the machine.
  const now = new Date(2026, 10, 25, 10, 53);
  const time = (d: Date) => d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

  it('says only the time today, and the day when it is not today', () => {
    const later = new Date(2026, 10, 25, 23, 59);
    expect(dayAndTime(later, now)).toBe(`at ${time(later)}`);
    // The default limit (a day): the same time tomorrow, which "at" alone would make look like now.
    const tomorrow = new Date(2026, 10, 26, 10, 53);
    expect(dayAndTime(tomorrow, now)).toBe(`tomorrow at ${time(tomorrow)}`);
    const soonAfterMidnight = new Date(2026, 10, 26, 0, 5);
    expect(dayAndTime(soonAfterMidnight, new Date(2026, 10, 25, 23, 50))).toMatch(/^tomorrow at /);
    const week = new Date(2026, 11, 2, 9, 0);
    expect(dayAndTime(week, now)).toMatch(/^on .*2.* at /);
    expect(dayAndTime(week, now)).toContain(time(week));
  });

  it('says the time alone for a stop already due (the server stops it at its next round)', () => {
    const past = new Date(2026, 10, 25, 10, 50);
    expect(dayAndTime(past, now)).toBe(`at ${time(past)}`);
  });
});
