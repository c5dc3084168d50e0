/**
 * @file Warm pools (pure): what one round of the pool job does with a pool
 * and its members. A pool asks for `size` running, unclaimed instances of
 * its lab until `until`; the job starts what is missing (a few at a time,
 * so a big pool does not take the machine at once), retires what is too
 * many, out of date (an older lab version) or past the pool's end, and
 * forgets members that failed or stopped. A member whose claim began but
 * never finished (a crash between the claim and the personalisation) is
 * retired too: its credentials may be half changed.
 */
import type { InstanceState } from './instance/state.js';
import { type Capacity, type Holding, type InstanceLimits, misfit, type Usage } from './limits.js';

/** The largest pool the API accepts. */
export const POOL_MAX_SIZE = 500;
/** How far ahead a pool may last (an instructor sets it again for a later session). */
export const POOL_MAX_SECONDS = 7 * 86400;
/** Members starting at once per pool. */
export const POOL_PARALLEL_STARTS = 10;
/** A claim older than this on a member still in the pool never finished. */
export const STALE_CLAIM_MS = 120_000;

export interface PoolTarget {
  size: number;
  until: Date;
  /** Refills wait until then after failures (back-off). */
  retryAt?: Date;
}

export interface PoolMemberState {
  id: string;
  state: InstanceState;
  labVersion: number;
  claimedAt?: Date;
}

export interface PoolPlan {
  /** How many new members to start now. */
  start: number;
  /** Running members to stop (unused). */
  retire: string[];
  /** Members that failed or stopped: remove what is left of them and their records. */
  forget: string[];
}

export interface PoolCounts {
  ready: number;
  starting: number;
}

const STARTING: InstanceState[] = ['requested', 'provisioning'];

export function countMembers(members: PoolMemberState[], labVersion: number): PoolCounts {
  return {
    ready: members.filter((m) => m.state === 'running' && m.labVersion === labVersion && !m.claimedAt).length,
    starting: members.filter((m) => STARTING.includes(m.state)).length,
  };
}

/**
 * One round for a pool (`undefined`: the pool was removed) whose lab is at
 * `labVersion` now. `room` is how many more instances the capacity takes.
 */
export function planPool(
  pool: PoolTarget | undefined,
  members: PoolMemberState[],
  labVersion: number,
  now: Date,
  room: number,
): PoolPlan {
  const forget = members.filter((m) => m.state === 'failed' || m.state === 'stopped').map((m) => m.id);
  const running = members.filter((m) => m.state === 'running');
  const stale = (m: PoolMemberState) =>
    m.claimedAt !== undefined && now.getTime() - m.claimedAt.getTime() > STALE_CLAIM_MS;
  const over = !pool || now.getTime() >= pool.until.getTime();
  // A member with a live claim is a launch's now: leave it alone.
  const retire = running.filter((m) => stale(m) || (!m.claimedAt && (over || m.labVersion !== labVersion)));
  if (over) return { start: 0, retire: retire.map((m) => m.id), forget };

  const usable = running.filter((m) => !m.claimedAt && m.labVersion === labVersion);
  const { starting } = countMembers(members, labVersion);
  const surplus = usable.length + starting - pool.size;
  // Too many: retire the oldest ready ones (those starting become ready and are counted next round).
  if (surplus > 0) retire.push(...usable.slice(0, Math.min(surplus, usable.length)));
  const backingOff = pool.retryAt !== undefined && now.getTime() < pool.retryAt.getTime();
  const missing = Math.max(0, pool.size - usable.length - starting);
  const start = backingOff ? 0 : Math.max(0, Math.min(missing, POOL_PARALLEL_STARTS - starting, room));
  return { start, retire: retire.map((m) => m.id), forget };
}

/** Back-off after `failures` failed members in a row: 2, 4, 8 … seconds, at most 5 minutes. */
export function retryDelaySeconds(failures: number): number {
  return Math.min(300, 2 ** Math.max(1, failures));
}

/**
 * What an unclaimed member holds: limits so long that only the pool job
 * ends it (the reaper, which knows nothing of pools, would otherwise stop
 * it for idleness before anyone claims it).
 */
export function holdingLimits(): InstanceLimits {
  const seconds = POOL_MAX_SECONDS + 3600;
  return { ttl: seconds, idle: seconds, onExpire: 'stop', extensions: 0 };
}

/** Adds one instance to the usage (in place). */
export function addUsage(usage: Usage, need: Holding): void {
  usage.instances++;
  usage.cpu += need.resources.cpu;
  usage.memory += need.resources.memory;
  if (need.courseId) usage.perCourse.set(need.courseId, (usage.perCourse.get(need.courseId) ?? 0) + 1);
}

/** How many more instances like `need` fit in the capacity now, at most `max`. */
export function roomFor(need: Holding, usage: Usage, cap: Capacity, max: number): number {
  const probe = { ...usage, perCourse: new Map(usage.perCourse) };
  let room = 0;
  while (room < max && !misfit(need, probe, cap)) {
    room++;
    addUsage(probe, need);
  }
  return room;
}
