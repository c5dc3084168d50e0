/**
 * @file The admin view of capacity: what runs, pauses and waits, CPU and
 * memory held against the quotas, usage per course, which replica leads
 * which job, and "stop everything of a course". Admins only.
 */
import { z } from 'zod';
import { isAdmin, type Principal } from '../domain/access.js';
import { INSTANCE_STATES, type InstanceState } from '../domain/instance/state.js';
import { forbidden } from '../errors.js';
import type { InstanceLifecycle } from '../services/instances.js';
import { HOLDING } from '../services/limits.js';
import type { InstanceRecord } from '../store/instances.js';
import type { Store } from '../store/store.js';
import type { ApiRouter } from './routes.js';

const ACTIVE: InstanceState[] = ['requested', ...HOLDING];

function requireAdmin(p: Principal): void {
  if (!isAdmin(p)) throw forbidden('only administrators see and manage capacity');
}

const counts = z.record(z.enum(INSTANCE_STATES), z.number());
const amount = z.object({ used: z.number(), limit: z.number().describe('0 = no limit') });

export const capacityView = z.object({
  states: counts,
  queued: z.number(),
  instances: amount,
  cpu: amount.describe('millicores held by instances (their labs’ systems summed)'),
  memory: amount.describe('bytes held by instances'),
  perCourseLimit: z.number(),
  queueMax: z.number(),
  leases: z.array(z.object({ job: z.string(), holder: z.string(), expiresAt: z.string() })),
});

export const courseUsageView = z.object({
  courseId: z.string(),
  title: z.string().optional(),
  states: counts,
  cpu: z.number(),
  memory: z.number(),
});

function tally(instances: InstanceRecord[]) {
  const states: Partial<Record<InstanceState, number>> = {};
  let cpu = 0;
  let memory = 0;
  for (const i of instances) {
    states[i.state] = (states[i.state] ?? 0) + 1;
    if (HOLDING.includes(i.state)) {
      cpu += i.resources.cpu;
      memory += i.resources.memory;
    }
  }
  return { states, cpu, memory };
}

export function adminRoutes(api: ApiRouter, store: Store, lifecycle: InstanceLifecycle): void {
  const tag = 'admin';
  api.route(
    {
      method: 'get',
      path: '/admin/capacity',
      tag,
      summary: 'Capacity: running, paused and queued instances, CPU and memory held against the quotas',
      response: capacityView,
    },
    async ({ principal }) => {
      requireAdmin(principal);
      const active = await store.instances.list({ states: ACTIVE });
      const { states, cpu, memory } = tally(active);
      const cap = lifecycle.limits.capacity;
      const held = active.filter((i) => HOLDING.includes(i.state)).length;
      const leases = await store.leases.list();
      return {
        states,
        queued: states.requested ?? 0,
        instances: { used: held, limit: cap.instances },
        cpu: { used: cpu, limit: cap.cpu },
        memory: { used: memory, limit: cap.memory },
        perCourseLimit: cap.perCourse,
        queueMax: lifecycle.limits.queueMax,
        leases: leases.map((l) => ({ job: l.name, holder: l.holder, expiresAt: l.expiresAt })),
      };
    },
  );
  api.route(
    {
      method: 'get',
      path: '/admin/courses',
      tag,
      summary: 'Active instances per course, with the CPU and memory they hold',
      response: z.array(courseUsageView),
    },
    async ({ principal }) => {
      requireAdmin(principal);
      const byCourse = new Map<string, InstanceRecord[]>();
      for (const i of await store.instances.list({ states: ACTIVE })) {
        if (!i.courseId) continue;
        byCourse.set(i.courseId, [...(byCourse.get(i.courseId) ?? []), i]);
      }
      const rows = [];
      for (const [courseId, instances] of byCourse) {
        const course = await store.users.getCourse(courseId);
        rows.push({ courseId, ...(course ? { title: course.title } : {}), ...tally(instances) });
      }
      return rows.sort((a, b) => b.cpu - a.cpu || a.courseId.localeCompare(b.courseId));
    },
  );
  api.route(
    {
      method: 'post',
      path: '/admin/courses/:id/stop',
      tag,
      summary: 'Stop every active instance of a course (answers at once; stopping goes on)',
      status: 202,
      response: z.object({ stopping: z.array(z.string()) }),
    },
    async ({ principal, params }) => ({ stopping: await lifecycle.stopCourse(principal, params.id!) }),
  );
}
