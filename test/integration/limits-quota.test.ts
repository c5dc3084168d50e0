/**
 * Quotas on the real local runtime (Podman): two instances at once in all,
 * one per course, three places in the queue. Over a limit a launch waits as
 * `requested` with its place shown; the queue drains in order as capacity
 * frees (a course at its limit lets other courses pass); a full queue
 * refuses with 429. The admin view shows it, and stops a whole course.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../../server/domain/access.js';
import { LocalRuntime } from '../../server/runtime/local/local-runtime.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { type HistoryEntry, importLab, smallLab, stateOf } from './limits-support.js';
import { prepareLocalRuntime } from './local-runtime-setup.js';

let server: TestServer;

beforeAll(async () => {
  prepareLocalRuntime(['shell']);
  server = await startTestServer({
    runtime: new LocalRuntime({ scope: `quota-${process.pid}` }),
    env: {
      QUOTA_INSTANCES: '2',
      QUOTA_COURSE_INSTANCES: '1',
      QUEUE_MAX: '3',
      QUOTA_CPU: '8',
      QUOTA_MEMORY: '4Gi',
      ADMISSION_INTERVAL: '0.5',
      LEASE_TTL: '3',
    },
  });
  await importLab(server, smallLab('quota-lab', 'ttl: 1h, idle: 1h'));
});
afterAll(async () => {
  for (const i of (await server?.store.instances.list()) ?? []) await server.runtime?.destroy(i.id);
  await server?.stop();
});

/** A learner launching in a course (as an LTI launch does): through the lifecycle, with the course. */
async function launch(name: string, course?: { id: string }) {
  const u = await server.user(name);
  const user = (await server.store.users.get(u.id))!;
  const p: Principal = { user, memberships: [] };
  const instance = await server.lifecycle.create(p, { lab: 'quota-lab', ...(course ? { courseId: course.id } : {}) });
  return { ...u, id: instance.id, state: instance.state };
}

const provisioningAt = (history: HistoryEntry[]) => Date.parse(history.find((h) => h.to === 'provisioning')!.at);

describe('quotas and the queue', () => {
  it('queues over the limits, drains in order as capacity frees, refuses when the queue is full', async () => {
    const x = await server.store.users.upsertCourse('local:course-x', 'Course X');
    const y = await server.store.users.upsertCourse('local:course-y', 'Course Y');
    const z = await server.store.users.upsertCourse('local:course-z', 'Course Z');

    const a = await launch('a', x);
    expect(a.state).toBe('provisioning');
    const b = await launch('b', x); // course X is at its limit of 1
    expect(b.state).toBe('requested');
    const c = await launch('c', y); // passes b: another course, and there is room
    expect(c.state).toBe('provisioning');
    const d = await launch('d', z); // two in all: the global limit
    expect(d.state).toBe('requested');
    const e = await launch('e');
    expect(e.state).toBe('requested');

    const seen = await server.api(b.token, 'GET', `/api/v1/instances/${b.id}`);
    expect(seen.body).toMatchObject({ state: 'requested', queuePosition: 1 });
    expect((await server.api(e.token, 'GET', `/api/v1/instances/${e.id}`)).body.queuePosition).toBe(3);

    // The queue holds three: the next launch is refused with a reason, and nothing of it exists.
    const f = await server.user('f');
    const refused = await server.api(f.token, 'POST', '/api/v1/instances', { lab: 'quota-lab' });
    expect(refused.status).toBe(429);
    expect(refused.body.error.message).toMatch(/3 launch\(es\) are already waiting/);
    expect(await server.store.instances.list({ ownerId: f.id })).toEqual([]);

    // The admin view.
    await stateOf(server, a.token, a.id, 'running');
    await stateOf(server, c.token, c.id, 'running');
    const capacity = await server.api(server.adminToken, 'GET', '/api/v1/admin/capacity');
    expect(capacity.status).toBe(200);
    expect(capacity.body).toMatchObject({
      states: { running: 2, requested: 3 },
      queued: 3,
      instances: { used: 2, limit: 2 },
      cpu: { used: 500, limit: 8000 },
      memory: { used: 128 * 2 ** 20, limit: 4 * 2 ** 30 },
      perCourseLimit: 1,
    });
    expect(capacity.body.leases.map((l: { job: string }) => l.job)).toEqual(
      expect.arrayContaining(['admission', 'reaper', 'reconciler']),
    );
    const courses = await server.api(server.adminToken, 'GET', '/api/v1/admin/courses');
    const rowX = courses.body.find((r: { courseId: string }) => r.courseId === x.id);
    expect(rowX).toMatchObject({ title: 'Course X', states: { running: 1, requested: 1 }, cpu: 250 });
    expect((await server.api(a.token, 'GET', '/api/v1/admin/capacity')).status).toBe(403);

    // a stops: course X and one global place free up; b (first in line) gets in, d and e move up.
    await server.api(a.token, 'POST', `/api/v1/instances/${a.id}/stop`);
    await stateOf(server, b.token, b.id, 'running');
    expect((await server.api(d.token, 'GET', `/api/v1/instances/${d.id}`)).body).toMatchObject({
      state: 'requested',
      queuePosition: 1,
    });
    expect((await server.api(e.token, 'GET', `/api/v1/instances/${e.id}`)).body.queuePosition).toBe(2);

    await server.api(c.token, 'POST', `/api/v1/instances/${c.id}/stop`);
    const dRunning = await stateOf(server, d.token, d.id, 'running');
    expect((await server.api(e.token, 'GET', `/api/v1/instances/${e.id}`)).body.queuePosition).toBe(1);

    // A whole course stopped by an admin frees the place e waits for.
    const stopX = await server.api(server.adminToken, 'POST', `/api/v1/admin/courses/${x.id}/stop`);
    expect(stopX.status).toBe(202);
    expect(stopX.body.stopping).toEqual([b.id]);
    const bStopped = await stateOf(server, b.token, b.id, 'stopped');
    expect(bStopped.reason).toMatch(/stopped by an administrator/);
    const eRunning = await stateOf(server, e.token, e.id, 'running');

    const bRunning = (await server.api(b.token, 'GET', `/api/v1/instances/${b.id}`)).body;
    expect(provisioningAt(bRunning.history)).toBeLessThan(provisioningAt(dRunning.history));
    expect(provisioningAt(dRunning.history)).toBeLessThan(provisioningAt(eRunning.history));
    expect((await server.api(a.token, 'POST', `/api/v1/admin/courses/${y.id}/stop`)).status).toBe(403);
  });

  it('refuses a lab bigger than the whole capacity at once (it could never start)', async () => {
    await importLab(
      server,
      `name: too-big
title: Too big
systems:
  - name: box
    kind: container
    image: lab-orchestrator/shell
    resources: { cpu: "9", memory: 64Mi }
`,
    );
    const g = await server.user('g');
    const res = await server.api(g.token, 'POST', '/api/v1/instances', { lab: 'too-big' });
    expect(res.status).toBe(409);
    expect(res.body.error.message).toMatch(/needs more CPU than the lab machines have in all/);
  });
});
