/**
 * @file Warm pools of an assignment (services/pools.ts): instructors of its
 * course and admins set how many pre-started instances wait for a session
 * and until when, look at how many are ready, or remove the pool.
 */
import { z } from 'zod';
import { POOL_MAX_SIZE } from '../domain/pools.js';
import type { PoolView, WarmPools } from '../services/pools.js';
import type { ApiRouter } from './routes.js';

const poolBody = z.object({
  size: z
    .number({ error: 'expected a number of instances' })
    .int('expected a whole number')
    .min(0, 'expected 0 or more')
    .max(POOL_MAX_SIZE, `expected at most ${POOL_MAX_SIZE}`),
  until: z.iso.datetime({ offset: true, error: 'expected an ISO 8601 date and time, e.g. 2026-11-25T14:00:00Z' }),
});

const poolView = z.object({
  assignment: z.string(),
  course: z.string(),
  lab: z.string(),
  size: z.number(),
  until: z.string(),
  /** Running, unclaimed members: launches get one of these at once. */
  ready: z.number(),
  starting: z.number(),
  /** Members that failed in a row (refills back off meanwhile). */
  failures: z.number(),
  lastError: z.string().optional(),
});

const json = (v: PoolView) => ({ ...v, until: v.until.toISOString() });

export function poolRoutes(api: ApiRouter, pools: WarmPools): void {
  const tag = 'pools';
  const path = '/assignments/:id/pool';
  api.route(
    {
      method: 'put',
      path,
      tag,
      summary:
        "Ask for `size` pre-started instances of the assignment's lab until `until` (instructors of its course, admins); launches claim them",
      body: poolBody,
      response: poolView,
    },
    async ({ principal, params, body }) =>
      json(await pools.set(principal, params.id!, { size: body.size, until: new Date(body.until) })),
  );
  api.route(
    {
      method: 'get',
      path,
      tag,
      summary: 'The warm pool of an assignment: size, ready and starting',
      response: poolView,
    },
    async ({ principal, params }) => json(await pools.view(principal, params.id!)),
  );
  api.route(
    {
      method: 'get',
      path: '/pools',
      tag,
      summary: "Every warm pool the caller may manage (admins: all; instructors: their courses')",
      response: z.array(poolView),
    },
    async ({ principal }) => (await pools.list(principal)).map(json),
  );
  api.route(
    { method: 'delete', path, tag, summary: 'Remove the warm pool; its unused instances are stopped' },
    async ({ principal, params }) => pools.remove(principal, params.id!),
  );
}
