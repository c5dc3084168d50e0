/**
 * @file Limits of instances (pure): when an instance expires (maximum age,
 * idle time), when the learner is warned, what an extension does, and which
 * queued instances fit in the capacity that is free. The jobs
 * (server/jobs/reaper.ts, server/jobs/admission.ts) apply these rules.
 *
 * Definitions, as the API documents them:
 * - TTL: an instance may run `ttl` seconds from the moment it first became
 *   running; `expiresAt` holds that deadline. A reset keeps it (a reset is
 *   not a way to live longer); starting a stopped instance again sets a new one.
 * - Idle: an instance expires `idle` seconds after the last activity
 *   (console traffic, checks, actions through the API).
 * - Warning: before the stop the instance carries `warnedAt`; the stop comes
 *   no earlier than the deadline and no earlier than one warning lead after
 *   the warning (10 % of the limit, at most the server's LIMIT_WARNING): even
 *   a server that was down at the deadline warns before it stops.
 * - "I am still here": resets the idle timer. When the maximum age still
 *   comes first after that, it is an extension: one TTL more on the TTL
 *   deadline (counted from now if it has passed), at most `extensions` per
 *   run of the instance. When the idle deadline comes first, being here is
 *   enough and no extension is used (they are kept for the maximum age).
 * - Paused age: a paused instance still holds memory and disk (and counts
 *   against the quotas) while nobody uses it; after `maxPaused` seconds
 *   paused it is stopped (its progress stays; a start gives fresh systems).
 *   No warning: nobody is there to read one; the API shows the deadline
 *   (`expiry` with cause `paused`) for the workspace to say it.
 */

export type ExpiryCause = 'ttl' | 'idle';

/** The limits an instance was started with (a snapshot of its lab's limits). */
export interface InstanceLimits {
  /** Maximum age, seconds. */
  ttl: number;
  /** Idle timeout, seconds. */
  idle: number;
  onExpire: 'stop' | 'pause';
  /** How many extensions a run of the instance may use. */
  extensions: number;
  /** How long it may stay paused (seconds) before it is stopped; absent: the server's LIMIT_MAX_PAUSED. */
  maxPaused?: number;
}

/** What the limit rules read of an instance. */
export interface LimitedInstance {
  limits: InstanceLimits;
  lastActivityAt: Date;
  /** The TTL deadline; unset until the instance first runs. */
  expiresAt?: Date;
  warnedAt?: Date;
  extensionsUsed: number;
}

export interface Expiry {
  /** When the instance will be stopped (or paused) unless something happens. */
  at: Date;
  cause: ExpiryCause;
  /** When the warning phase starts. */
  warnFrom: Date;
  extensionsLeft: number;
}

/** How long before a deadline the learner is warned: 10 % of the limit, at most `maxSeconds`, at least 1 s. */
export function warningLead(limitSeconds: number, maxSeconds: number): number {
  return Math.max(1, Math.min(maxSeconds, Math.ceil(limitSeconds * 0.1)));
}

/** The nearer of the TTL and the idle deadline. */
export function expiryOf(i: LimitedInstance, maxWarningSeconds: number): Expiry {
  const idleAt = new Date(i.lastActivityAt.getTime() + i.limits.idle * 1000);
  const ttlFirst = i.expiresAt !== undefined && i.expiresAt.getTime() <= idleAt.getTime();
  const at = ttlFirst ? i.expiresAt! : idleAt;
  const cause: ExpiryCause = ttlFirst ? 'ttl' : 'idle';
  const lead = warningLead(cause === 'ttl' ? i.limits.ttl : i.limits.idle, maxWarningSeconds);
  return {
    at,
    cause,
    warnFrom: new Date(at.getTime() - lead * 1000),
    extensionsLeft: Math.max(0, i.limits.extensions - i.extensionsUsed),
  };
}

export type ReaperDecision =
  | { kind: 'none' }
  /** Enter the warning phase now. */
  | { kind: 'warn'; expiry: Expiry }
  /** Activity or an extension moved the deadline out of the warning phase. */
  | { kind: 'clear-warning' }
  /** Stop or pause now, recording `reason`. */
  | { kind: 'expire'; action: 'stop' | 'pause'; reason: string; cause: ExpiryCause | 'paused' };

/** What the reaper does with a running instance at `now`. */
export function decide(i: LimitedInstance, now: Date, maxWarningSeconds: number): ReaperDecision {
  const expiry = expiryOf(i, maxWarningSeconds);
  const t = now.getTime();
  if (t < expiry.warnFrom.getTime()) return i.warnedAt ? { kind: 'clear-warning' } : { kind: 'none' };
  if (!i.warnedAt) return { kind: 'warn', expiry };
  const lead = expiry.at.getTime() - expiry.warnFrom.getTime();
  if (t < expiry.at.getTime() || t < i.warnedAt.getTime() + lead) return { kind: 'none' };
  return { kind: 'expire', action: i.limits.onExpire, reason: expiryReason(i, expiry.cause), cause: expiry.cause };
}

/** "idle for 30 min", "reached its maximum age of 2 h". */
export function expiryReason(i: LimitedInstance, cause: ExpiryCause): string {
  if (cause === 'idle') return `idle for ${formatDuration(i.limits.idle)}`;
  const total = i.limits.ttl * (1 + i.extensionsUsed);
  return `reached its maximum age of ${formatDuration(total)}${i.extensionsUsed ? ` (with ${i.extensionsUsed} extension(s))` : ''}`;
}

/** When a paused instance is stopped unless resumed, and the limit that says so (seconds). */
export interface PausedExpiry {
  at: Date;
  cause: 'paused';
  limit: number;
}

/**
 * When an instance paused since `pausedAt` is stopped: its limit
 * (`maxPaused`, else `defaultMaxPaused`) after the pause; undefined when
 * it has no such limit (0). The reaper's rule (`decidePaused`) and the
 * deadline the API shows for a paused instance.
 */
export function pausedExpiryOf(
  i: { limits: Pick<InstanceLimits, 'maxPaused'> },
  pausedAt: Date,
  defaultMaxPaused: number,
): PausedExpiry | undefined {
  const limit = i.limits.maxPaused ?? defaultMaxPaused;
  if (limit <= 0) return undefined;
  return { at: new Date(pausedAt.getTime() + limit * 1000), cause: 'paused', limit };
}

/** What the reaper does with an instance paused since `pausedAt`: stop it once its paused expiry has come. */
export function decidePaused(
  i: { limits: Pick<InstanceLimits, 'maxPaused'> },
  pausedAt: Date,
  now: Date,
  defaultMaxPaused: number,
): Extract<ReaperDecision, { kind: 'none' } | { kind: 'expire' }> {
  const expiry = pausedExpiryOf(i, pausedAt, defaultMaxPaused);
  if (!expiry || now.getTime() < expiry.at.getTime()) return { kind: 'none' };
  return {
    kind: 'expire',
    action: 'stop',
    reason: `paused for longer than ${formatDuration(expiry.limit)}`,
    cause: 'paused',
  };
}

/** When the instance last became paused: its last transition to `paused` (rows without history: their last update). */
export function pausedSince(i: { history: { to: string; at: Date }[]; updatedAt: Date }): Date {
  for (let k = i.history.length - 1; k >= 0; k--) {
    const t = i.history[k]!;
    if (t.to === 'paused') return new Date(t.at);
  }
  return i.updatedAt;
}

export function formatDuration(seconds: number): string {
  if (seconds % 86400 === 0) return `${seconds / 86400} d`;
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

export type ExtensionPlan =
  | { kind: 'extend'; expiresAt: Date; extensionsUsed: number }
  /** The idle deadline comes first once the timer restarts: the activity is enough. */
  | { kind: 'present' }
  | { kind: 'refused'; message: string };

/** What "I am still here" does at `now` (see the file header). */
export function planExtension(i: LimitedInstance, now: Date): ExtensionPlan {
  const idleAt = now.getTime() + i.limits.idle * 1000;
  if (i.expiresAt === undefined || i.expiresAt.getTime() > idleAt) return { kind: 'present' };
  if (i.extensionsUsed >= i.limits.extensions) {
    return {
      kind: 'refused',
      message: `no extensions left: ${i.extensionsUsed} of ${i.limits.extensions} used; save your work, the lab stops at its maximum age`,
    };
  }
  const from = Math.max(i.expiresAt?.getTime() ?? now.getTime(), now.getTime());
  return { kind: 'extend', expiresAt: new Date(from + i.limits.ttl * 1000), extensionsUsed: i.extensionsUsed + 1 };
}

// ---- capacity -------------------------------------------------------------

/** Resources an instance holds: millicores of CPU and bytes of memory (its lab's systems summed). */
export interface Resources {
  cpu: number;
  memory: number;
}

/** Kubernetes-style CPU quantity ("500m", "1", "1.5") → millicores. */
export function parseCpu(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(m?)$/.exec(text.trim());
  if (!m) throw new Error(`expected a CPU quantity such as "500m" or "2", got "${text}"`);
  return m[2] ? Number(m[1]) : Math.round(Number(m[1]) * 1000);
}

/** Memory quantity ("256Mi", "1Gi", or bytes) → bytes. */
export function parseMemory(text: string): number {
  const m = /^(\d+)(Ki|Mi|Gi|Ti)?$/.exec(text.trim());
  if (!m) throw new Error(`expected a memory quantity such as "256Mi" or "16Gi", got "${text}"`);
  const unit = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 }[m[2] as 'Ki'] ?? 1;
  return Number(m[1]) * unit;
}

export function sumResources(systems: { resources: { cpu: string; memory: string } }[]): Resources {
  return systems.reduce(
    (sum, s) => ({ cpu: sum.cpu + parseCpu(s.resources.cpu), memory: sum.memory + parseMemory(s.resources.memory) }),
    { cpu: 0, memory: 0 },
  );
}

export interface Capacity {
  /** Instances at once (holding runtime resources); 0 = no limit. */
  instances: number;
  /** Millicores; 0 = no limit. */
  cpu: number;
  /** Bytes; 0 = no limit. */
  memory: number;
  /** Instances at once per course; 0 = no limit. */
  perCourse: number;
}

export interface Holding {
  courseId?: string;
  resources: Resources;
}

export interface Usage {
  instances: number;
  cpu: number;
  memory: number;
  perCourse: Map<string, number>;
}

export function usageOf(holding: Holding[]): Usage {
  const perCourse = new Map<string, number>();
  let cpu = 0;
  let memory = 0;
  for (const h of holding) {
    cpu += h.resources.cpu;
    memory += h.resources.memory;
    if (h.courseId) perCourse.set(h.courseId, (perCourse.get(h.courseId) ?? 0) + 1);
  }
  return { instances: holding.length, cpu, memory, perCourse };
}

/** Why `need` does not fit now (a sentence for the learner), or undefined if it fits. */
export function misfit(need: Holding, usage: Usage, cap: Capacity): string | undefined {
  if (need.courseId && cap.perCourse > 0 && (usage.perCourse.get(need.courseId) ?? 0) >= cap.perCourse)
    return `your course already has ${cap.perCourse} lab instance(s) running, its limit`;
  if (cap.instances > 0 && usage.instances >= cap.instances)
    return `the lab machines run ${usage.instances} instance(s), their limit`;
  if (cap.cpu > 0 && usage.cpu + need.resources.cpu > cap.cpu)
    return `the lab machines have no CPU left for this lab (${fmtCpu(usage.cpu)} of ${fmtCpu(cap.cpu)} in use, it needs ${fmtCpu(need.resources.cpu)})`;
  if (cap.memory > 0 && usage.memory + need.resources.memory > cap.memory)
    return `the lab machines have no memory left for this lab (${fmtMem(usage.memory)} of ${fmtMem(cap.memory)} in use, it needs ${fmtMem(need.resources.memory)})`;
  return undefined;
}

/** A course limit only holds back that course; a global limit holds back everyone behind (first come, first served). */
export function isCourseMisfit(need: Holding, usage: Usage, cap: Capacity): boolean {
  return need.courseId !== undefined && cap.perCourse > 0 && (usage.perCourse.get(need.courseId) ?? 0) >= cap.perCourse;
}

/**
 * Which queued instances (oldest first) to admit: in order while they fit;
 * one blocked by its course's limit is passed over (it keeps its place),
 * one blocked by a global limit stops the walk so nobody overtakes it.
 */
export function admissible<T extends Holding>(queue: T[], holding: Holding[], cap: Capacity): T[] {
  const usage = usageOf(holding);
  const admitted: T[] = [];
  for (const q of queue) {
    if (isCourseMisfit(q, usage, cap)) continue;
    if (misfit(q, usage, cap)) break;
    admitted.push(q);
    usage.instances++;
    usage.cpu += q.resources.cpu;
    usage.memory += q.resources.memory;
    if (q.courseId) usage.perCourse.set(q.courseId, (usage.perCourse.get(q.courseId) ?? 0) + 1);
  }
  return admitted;
}

export const fmtCpu = (millicores: number) => `${(millicores / 1000).toFixed(millicores % 1000 ? 2 : 0)} CPU`;
export const fmtMem = (bytes: number) => `${(bytes / 2 ** 30).toFixed(bytes % 2 ** 30 ? 2 : 0)} GiB`;
