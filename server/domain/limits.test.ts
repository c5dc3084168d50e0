import { describe, expect, it } from 'vitest';
import {
  admissible,
  decide,
  decidePaused,
  expiryOf,
  type LimitedInstance,
  misfit,
  parseCpu,
  parseMemory,
  pausedExpiryOf,
  pausedSince,
  planExtension,
  sumResources,
  usageOf,
  warningLead,
} from './limits.js';

const t0 = new Date('2026-11-25T10:00:00Z');
const at = (s: number) => new Date(t0.getTime() + s * 1000);
const base = (o: Partial<LimitedInstance> = {}): LimitedInstance => ({
  limits: { ttl: 7200, idle: 1800, onExpire: 'stop', extensions: 2 },
  lastActivityAt: t0,
  expiresAt: at(7200),
  extensionsUsed: 0,
  ...o,
});

describe('expiry', () => {
  it('is the nearer of the idle and the TTL deadline', () => {
    expect(expiryOf(base(), 300)).toMatchObject({ at: at(1800), cause: 'idle' });
    expect(expiryOf(base({ lastActivityAt: at(7000) }), 300)).toMatchObject({ at: at(7200), cause: 'ttl' });
    expect(expiryOf(base({ expiresAt: undefined }), 300).cause).toBe('idle');
  });
  it('warns 10 % of the limit ahead, at most the configured lead, at least a second', () => {
    expect(warningLead(7200, 300)).toBe(300);
    expect(warningLead(1800, 300)).toBe(180);
    expect(warningLead(5, 300)).toBe(1);
  });
});

describe('reaper decisions', () => {
  it('warns first, then stops only after the deadline and a full lead after the warning', () => {
    const i = base();
    expect(decide(i, at(1600), 300).kind).toBe('none');
    expect(decide(i, at(1650), 300).kind).toBe('warn');
    // The server was down: at the deadline it warns instead of stopping at once.
    expect(decide(i, at(1900), 300).kind).toBe('warn');
    const warned = base({ warnedAt: at(1900) });
    expect(decide(warned, at(1950), 300).kind).toBe('none');
    expect(decide(warned, at(2080), 300)).toMatchObject({ kind: 'expire', action: 'stop', reason: 'idle for 30 min' });
  });
  it('clears a warning when activity moved the deadline away', () => {
    expect(decide(base({ warnedAt: at(1650), lastActivityAt: at(1700) }), at(1710), 300).kind).toBe('clear-warning');
  });
  it('names the maximum age with its extensions and pauses when the lab says so', () => {
    const i = base({
      limits: { ttl: 3600, idle: 7200, onExpire: 'pause', extensions: 2 },
      lastActivityAt: at(7000),
      expiresAt: at(7200),
      extensionsUsed: 1,
      warnedAt: at(6900),
    });
    expect(decide(i, at(7300), 300)).toMatchObject({
      kind: 'expire',
      action: 'pause',
      cause: 'ttl',
      reason: 'reached its maximum age of 2 h (with 1 extension(s))',
    });
  });
});

describe('paused age', () => {
  it("stops an instance paused longer than its lab's limit, else the server's; 0 = never", () => {
    const lab = { limits: { maxPaused: 3600 } };
    expect(decidePaused(lab, t0, at(3599), 86400)).toEqual({ kind: 'none' });
    expect(decidePaused(lab, t0, at(3600), 86400)).toEqual({
      kind: 'expire',
      action: 'stop',
      reason: 'paused for longer than 1 h',
      cause: 'paused',
    });
    expect(decidePaused({ limits: {} }, t0, at(3600), 86400).kind).toBe('none');
    expect(decidePaused({ limits: {} }, t0, at(86400), 86400)).toMatchObject({ reason: 'paused for longer than 1 d' });
    expect(decidePaused({ limits: {} }, t0, at(10 * 86400), 0).kind).toBe('none');
  });
  it('has a deadline the limit after the pause, the one the reaper stops at; none without a limit', () => {
    const lab = { limits: { maxPaused: 3600 } };
    expect(pausedExpiryOf(lab, t0, 86400)).toEqual({ at: at(3600), cause: 'paused', limit: 3600 });
    expect(pausedExpiryOf({ limits: {} }, t0, 86400)).toEqual({ at: at(86400), cause: 'paused', limit: 86400 });
    expect(pausedExpiryOf({ limits: {} }, t0, 0)).toBeUndefined();
    for (const i of [lab, { limits: {} }]) {
      const deadline = pausedExpiryOf(i, t0, 600)!.at.getTime();
      expect(decidePaused(i, t0, new Date(deadline - 1), 600).kind).toBe('none');
      expect(decidePaused(i, t0, new Date(deadline), 600).kind).toBe('expire');
    }
  });
  it('counts the paused age from the last pause', () => {
    const history = [
      { to: 'running', at: at(0) },
      { to: 'paused', at: at(100) },
      { to: 'running', at: at(200) },
      { to: 'paused', at: at(300) },
    ];
    expect(pausedSince({ history, updatedAt: at(350) })).toEqual(at(300));
    expect(pausedSince({ history: [], updatedAt: at(350) })).toEqual(at(350));
  });
});

describe('extensions', () => {
  it('adds one TTL to the deadline, from now once it has passed, up to the limit', () => {
    const first = planExtension(base(), at(6000));
    expect(first).toEqual({ kind: 'extend', expiresAt: at(14400), extensionsUsed: 1 });
    expect(planExtension(base({ expiresAt: at(50) }), at(100))).toMatchObject({ expiresAt: at(7300) });
    const none = planExtension(base({ extensionsUsed: 2 }), at(6000));
    expect(none.kind).toBe('refused');
    expect(none.kind === 'refused' && none.message).toMatch(/2 of 2 used/);
  });
  it('uses no extension while the idle deadline comes first once the timer restarts', () => {
    // 100 s in: idle ends at 1900 s, the maximum age at 7200 s.
    expect(planExtension(base(), at(100))).toEqual({ kind: 'present' });
    expect(planExtension(base({ extensionsUsed: 2 }), at(100))).toEqual({ kind: 'present' });
    expect(planExtension(base({ expiresAt: undefined }), at(100))).toEqual({ kind: 'present' });
    // 5400 s in: the maximum age (7200 s) comes before the idle deadline (7200 s): an extension.
    expect(planExtension(base(), at(5400)).kind).toBe('extend');
  });
});

describe('capacity', () => {
  it('parses quantities', () => {
    expect(parseCpu('500m')).toBe(500);
    expect(parseCpu('1.5')).toBe(1500);
    expect(parseMemory('256Mi')).toBe(256 * 2 ** 20);
    expect(parseMemory('2Gi')).toBe(2 * 2 ** 30);
    expect(() => parseCpu('lots')).toThrow(/CPU quantity/);
    expect(
      sumResources([{ resources: { cpu: '500m', memory: '512Mi' } }, { resources: { cpu: '250m', memory: '128Mi' } }]),
    ).toEqual({
      cpu: 750,
      memory: 640 * 2 ** 20,
    });
  });

  const cap = { instances: 3, cpu: 2000, memory: 0, perCourse: 1 };
  const need = (courseId: string | undefined, cpu = 500) => ({
    ...(courseId ? { courseId } : {}),
    resources: { cpu, memory: 1 },
  });

  it('says which limit a launch meets', () => {
    expect(misfit(need('a'), usageOf([need('a')]), cap)).toMatch(/course already has 1/);
    expect(misfit(need(undefined), usageOf([need('a'), need('b'), need(undefined)]), cap)).toMatch(/run 3 instance/);
    expect(misfit(need(undefined, 1500), usageOf([need('a', 1000)]), cap)).toMatch(/no CPU left.*1 CPU of 2 CPU/);
    expect(misfit(need('c'), usageOf([need('a')]), cap)).toBeUndefined();
  });

  it('admits in order; a course limit passes over, a global limit stops the walk', () => {
    const queue = [
      { id: 1, ...need('a') },
      { id: 2, ...need('a') }, // course a full after 1: passed over, keeps its place
      { id: 3, ...need('b', 1000) },
      { id: 4, ...need('c', 1000) }, // no CPU left: stops here
      { id: 5, ...need('d', 100) }, // would fit, but may not overtake 4
    ];
    expect(admissible(queue, [], cap).map((q) => q.id)).toEqual([1, 3]);
    expect(admissible(queue, [], { ...cap, cpu: 0, instances: 0 }).map((q) => q.id)).toEqual([1, 3, 4, 5]);
  });
});
