import { z } from 'zod';
import { instructedCourses, isAdmin } from '../domain/access.js';
import { INSTANCE_ACTIONS, INSTANCE_STATES, type InstanceAction } from '../domain/instance/state.js';
import { expiryOf, pausedExpiryOf, pausedSince } from '../domain/limits.js';
import { badRequest } from '../errors.js';
import type { SecretBox } from '../secrets.js';
import type { InstanceLifecycle } from '../services/instances.js';
import type { InstanceRecord } from '../store/instances.js';
import type { Store } from '../store/store.js';
import type { ApiRouter } from './routes.js';

const createBody = z.object({
  lab: z.string().min(1, 'expected the name of a lab'),
  version: z.number().int().min(1).optional(),
});

export const instanceView = z.object({
  id: z.string(),
  lab: z.string(),
  labVersion: z.number(),
  state: z.enum(INSTANCE_STATES),
  reason: z.string().optional(),
  ownerId: z.string(),
  courseId: z.string().optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
  lastActivityAt: z.string(),
  expiry: z
    .object({
      at: z.string().describe('when the limits stop (or, by the lab, pause) the instance unless something happens'),
      cause: z
        .enum(['ttl', 'idle', 'paused'])
        .describe(
          'ttl: its maximum age (extend to move it); idle: nobody used it (any use moves it); ' +
            'paused: paused longer than the lab allows (maxPaused, else LIMIT_MAX_PAUSED), always a stop; resume to avoid it',
        ),
      expiresAt: z.string().optional().describe('the maximum age deadline, once the instance ran'),
      warnedAt: z
        .string()
        .optional()
        .describe('set once the warning phase began (running only): show a countdown and "I am still here"'),
      extensionsUsed: z.number(),
      extensionsLeft: z.number(),
    })
    .optional()
    .describe(
      'While running, or paused with a paused-age limit: the next stop (or pause) by the limits, and why; ' +
        'absent in other states and for a paused instance without a limit',
    ),
  /** While requested: the place in the queue for capacity (1 = next). */
  queuePosition: z.number().optional(),
});

/** One instance with what only its owner and teachers see (documentation of GET /instances/:id). */
const instanceDetailView = instanceView.extend({
  history: z.array(
    z.object({ from: z.string(), to: z.string(), at: z.string(), by: z.string(), reason: z.string().optional() }),
  ),
  systems: z
    .array(
      z.object({
        name: z.string(),
        kind: z.string(),
        phase: z.string(),
        reason: z.string().optional(),
        consoles: z.array(z.string()),
      }),
    )
    .describe("the runtime's view of the systems (empty when the instance holds none)"),
  statusError: z.string().optional().describe('why the runtime could not say'),
  credentials: z.array(z.object({ system: z.string(), user: z.string(), password: z.string() })),
});

/** An instance as the API shows it; `defaultMaxPaused` is the server's LIMIT_MAX_PAUSED (for the paused deadline). */
export function instanceJson(i: InstanceRecord, defaultMaxPaused: number) {
  const expiry = expiryJson(i, defaultMaxPaused);
  return {
    id: i.id,
    lab: i.labName,
    labVersion: i.labVersion,
    state: i.state,
    ...(i.reason ? { reason: i.reason } : {}),
    ownerId: i.ownerId,
    ...(i.courseId ? { courseId: i.courseId } : {}),
    createdAt: i.createdAt,
    updatedAt: i.updatedAt,
    lastActivityAt: i.lastActivityAt,
    ...(expiry ? { expiry } : {}),
  };
}

/**
 * The next stop by the limits, from the rules the reaper applies
 * (domain/limits.ts): TTL and idle while running; while paused only the
 * paused age counts (a paused instance uses no CPU and sees no activity).
 */
function expiryJson(i: InstanceRecord, defaultMaxPaused: number) {
  const e = expiryOf(i, 0);
  const common = {
    ...(i.expiresAt ? { expiresAt: i.expiresAt } : {}),
    extensionsUsed: i.extensionsUsed,
    extensionsLeft: e.extensionsLeft,
  };
  if (i.state === 'running') {
    return { at: e.at, cause: e.cause, ...common, ...(i.warnedAt ? { warnedAt: i.warnedAt } : {}) };
  }
  if (i.state !== 'paused') return undefined;
  const paused = pausedExpiryOf(i, pausedSince(i), defaultMaxPaused);
  return paused && { at: paused.at, cause: paused.cause, ...common };
}

/** With the queue position of a requested instance. */
async function withQueue(lifecycle: InstanceLifecycle, i: InstanceRecord) {
  const queuePosition = await lifecycle.limits.queuePosition(i);
  return { ...instanceJson(i, lifecycle.limits.defaultMaxPaused), ...(queuePosition ? { queuePosition } : {}) };
}

export function checkAction(action: string): InstanceAction {
  const actions: readonly string[] = INSTANCE_ACTIONS;
  if (!actions.includes(action)) throw badRequest(`unknown action "${action}": expected ${actions.join(', ')}`);
  return action as InstanceAction;
}

export function instanceRoutes(api: ApiRouter, store: Store, lifecycle: InstanceLifecycle, secrets: SecretBox): void {
  const tag = 'instances';
  const view = (i: InstanceRecord) => instanceJson(i, lifecycle.limits.defaultMaxPaused);
  api.route(
    {
      method: 'post',
      path: '/instances',
      tag,
      summary: 'Start a new instance of a lab (answers at once; provisioning goes on)',
      body: createBody,
      status: 202,
      response: instanceView,
    },
    async ({ principal, body }) => withQueue(lifecycle, await lifecycle.create(principal, body)),
  );
  api.route(
    {
      method: 'get',
      path: '/instances',
      tag,
      summary:
        "Instances the caller may see: their own, their courses' (instructors), all (admins); mine=1: their own only",
      query: z.object({
        state: z.enum(INSTANCE_STATES).optional(),
        lab: z.string().optional(),
        mine: z.enum(['1', 'true']).optional(),
      }),
      response: z.array(instanceView),
    },
    async ({ principal, query }) => {
      const filter = {
        ...(query.state ? { states: [query.state] } : {}),
        ...(query.lab ? { labName: query.lab } : {}),
      };
      const list = query.mine
        ? await store.instances.list({ ...filter, ownerId: principal.user.id })
        : isAdmin(principal)
          ? await store.instances.list(filter)
          : await store.instances.list({
              ...filter,
              ownerId: principal.user.id,
              courseIds: instructedCourses(principal),
            });
      return list.map(view);
    },
  );
  api.route(
    {
      method: 'get',
      path: '/instances/:id',
      tag,
      summary: "An instance with its systems' status and credentials",
      response: instanceDetailView,
    },
    async ({ principal, params }) => {
      const instance = await lifecycle.reachable(principal, params.id!);
      const status = await lifecycle.status(instance).catch((err: Error) => ({ error: err.message }));
      return {
        ...(await withQueue(lifecycle, instance)),
        history: instance.history,
        systems: status && 'systems' in status ? status.systems : [],
        ...(status && 'error' in status ? { statusError: status.error } : {}),
        credentials: instance.credentials.map((c) => ({
          system: c.system,
          user: c.user,
          password: secrets.decrypt(c.passwordEnc),
        })),
      };
    },
  );
  for (const action of INSTANCE_ACTIONS) {
    api.route(
      {
        method: 'post',
        path: `/instances/:id/${action}`,
        tag,
        summary: `${action[0]!.toUpperCase()}${action.slice(1)} an instance (idempotent)`,
        status: 202,
        response: instanceView,
      },
      async ({ principal, params }) => view(await lifecycle.act(principal, params.id!, checkAction(action))),
    );
  }
  api.route(
    {
      method: 'post',
      path: '/instances/:id/extend',
      tag,
      summary:
        '"I am still here": reset the idle timer and add one TTL to the maximum age (limited number per run; 409 when none is left)',
      response: instanceView,
    },
    async ({ principal, params }) =>
      view(await lifecycle.limits.extend(principal, await lifecycle.reachable(principal, params.id!))),
  );
  api.route(
    { method: 'delete', path: '/instances/:id', tag, summary: 'Stop an instance and forget it' },
    async ({ principal, params }) => lifecycle.remove(principal, params.id!),
  );
}
