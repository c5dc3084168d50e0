import { z } from 'zod';
import { instructedCourses, isAdmin } from '../domain/access.js';
import { INSTANCE_ACTIONS, INSTANCE_STATES } from '../domain/instance/state.js';
import { expiryOf } from '../domain/limits.js';
import type { SecretBox } from '../secrets.js';
import { checkAction, type InstanceLifecycle } from '../services/instances.js';
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
  /** While running: when the lab stops (or pauses) unless extended or used, and why. */
  expiry: z
    .object({
      at: z.string(),
      cause: z.enum(['ttl', 'idle']),
      /** The TTL deadline (maximum age). */
      expiresAt: z.string().optional(),
      /** Set once the warning phase began: show the countdown and "I am still here". */
      warnedAt: z.string().optional(),
      extensionsUsed: z.number(),
      extensionsLeft: z.number(),
    })
    .optional(),
  /** While requested: the place in the queue for capacity (1 = next). */
  queuePosition: z.number().optional(),
});

export function instanceJson(i: InstanceRecord) {
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
    // Limits watch running instances only (a paused one uses no CPU and sees no activity).
    ...(i.state === 'running' ? { expiry: expiryJson(i) } : {}),
  };
}

function expiryJson(i: InstanceRecord) {
  const e = expiryOf(i, 0);
  return {
    at: e.at,
    cause: e.cause,
    ...(i.expiresAt ? { expiresAt: i.expiresAt } : {}),
    ...(i.warnedAt ? { warnedAt: i.warnedAt } : {}),
    extensionsUsed: i.extensionsUsed,
    extensionsLeft: e.extensionsLeft,
  };
}

/** With the queue position of a requested instance. */
async function withQueue(lifecycle: InstanceLifecycle, i: InstanceRecord) {
  const queuePosition = await lifecycle.queuePosition(i);
  return { ...instanceJson(i), ...(queuePosition ? { queuePosition } : {}) };
}

export function instanceRoutes(api: ApiRouter, store: Store, lifecycle: InstanceLifecycle, secrets: SecretBox): void {
  const tag = 'instances';
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
      return list.map(instanceJson);
    },
  );
  api.route(
    {
      method: 'get',
      path: '/instances/:id',
      tag,
      summary: "An instance with its systems' status and credentials",
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
      async ({ principal, params }) => instanceJson(await lifecycle.act(principal, params.id!, checkAction(action))),
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
    async ({ principal, params }) => instanceJson(await lifecycle.extend(principal, params.id!)),
  );
  api.route(
    { method: 'delete', path: '/instances/:id', tag, summary: 'Stop an instance and forget it' },
    async ({ principal, params }) => lifecycle.remove(principal, params.id!),
  );
}
