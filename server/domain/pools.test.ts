import { describe, expect, it } from 'vitest';
import { usageOf } from './limits.js';
import {
  countMembers,
  POOL_PARALLEL_STARTS,
  type PoolMemberState,
  planPool,
  retryDelaySeconds,
  roomFor,
  STALE_CLAIM_MS,
} from './pools.js';

const now = new Date('2026-11-25T10:00:00Z');
const later = new Date(now.getTime() + 3600_000);
const member = (
  id: string,
  state: PoolMemberState['state'],
  extra: Partial<PoolMemberState> = {},
): PoolMemberState => ({
  id,
  state,
  labVersion: 2,
  ...extra,
});

describe('planPool', () => {
  it('starts what is missing, within the room and a few at a time', () => {
    expect(planPool({ size: 3, until: later }, [member('a', 'running')], 2, now, 100)).toEqual({
      start: 2,
      retire: [],
      forget: [],
    });
    expect(planPool({ size: 3, until: later }, [], 2, now, 1).start).toBe(1);
    expect(planPool({ size: 200, until: later }, [member('s', 'provisioning')], 2, now, 500).start).toBe(
      POOL_PARALLEL_STARTS - 1,
    );
  });

  it('counts starting members, so a round does not start them twice', () => {
    const members = [member('a', 'requested'), member('b', 'provisioning'), member('c', 'running')];
    expect(planPool({ size: 3, until: later }, members, 2, now, 10).start).toBe(0);
    expect(countMembers(members, 2)).toEqual({ ready: 1, starting: 2 });
  });

  it('retires the oldest surplus, members of an older lab version, and everything once the pool ended', () => {
    const members = [member('old', 'running', { labVersion: 1 }), member('a', 'running'), member('b', 'running')];
    expect(planPool({ size: 1, until: later }, members, 2, now, 10)).toEqual({
      start: 0,
      retire: ['old', 'a'],
      forget: [],
    });
    expect(planPool({ size: 5, until: now }, members, 2, now, 10)).toEqual({
      start: 0,
      retire: ['old', 'a', 'b'],
      forget: [],
    });
    expect(planPool(undefined, members, -1, now, 10).retire).toEqual(['old', 'a', 'b']);
  });

  it('leaves a member a launch is claiming alone, but retires a claim that never finished', () => {
    const fresh = member('fresh', 'running', { claimedAt: new Date(now.getTime() - 1000) });
    const stale = member('stale', 'running', { claimedAt: new Date(now.getTime() - STALE_CLAIM_MS - 1) });
    const plan = planPool({ size: 1, until: now }, [fresh, stale], 2, now, 10);
    expect(plan.retire).toEqual(['stale']);
    // A member being claimed is not ready: the pool starts a replacement.
    expect(planPool({ size: 1, until: later }, [fresh], 2, now, 10).start).toBe(1);
  });

  it('forgets failed and stopped members, and backs off before starting again', () => {
    const members = [member('f', 'failed'), member('s', 'stopped')];
    const backingOff = planPool({ size: 2, until: later, retryAt: new Date(now.getTime() + 1) }, members, 2, now, 10);
    expect(backingOff).toEqual({ start: 0, retire: [], forget: ['f', 's'] });
    expect(planPool({ size: 2, until: later, retryAt: now }, members, 2, now, 10).start).toBe(2);
    expect([1, 2, 3, 20].map(retryDelaySeconds)).toEqual([2, 4, 8, 300]);
  });
});

describe('roomFor', () => {
  const need = { courseId: 'c1', resources: { cpu: 100, memory: 2 ** 20 } };
  const cap = { instances: 5, cpu: 0, memory: 0, perCourse: 0 };

  it('counts how many more fit under the instance, CPU and course limits, at most max', () => {
    const usage = usageOf([need, need]);
    expect(roomFor(need, usage, cap, 10)).toBe(3);
    expect(roomFor(need, usage, cap, 2)).toBe(2);
    expect(roomFor(need, usage, { ...cap, cpu: 350 }, 10)).toBe(1);
    expect(roomFor(need, usage, { ...cap, perCourse: 2 }, 10)).toBe(0);
    expect(usage.instances).toBe(2); // the usage itself is left as it was
  });
});
