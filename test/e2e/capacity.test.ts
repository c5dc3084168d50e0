/**
 * The administrators' capacity page in a real browser (Debian Chromium
 * through playwright-core) against a real server on the local runtime
 * (Podman): with a learner's lab of a course running beside a warm pool
 * member of the same course, the admin reaches the page from the header and
 * sees the instances, CPU and memory held against the quotas, the course's
 * row, the pool's fill and the job leaders; "Stop all" asks first, does
 * nothing when the admin says no, and stops the whole course when yes. A
 * learner gets no link and a clear refusal. Screenshots go to
 * .cache/e2e/capacity-*.png.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { principalOf } from '../../server/api/auth.js';
import { hashPassword } from '../../server/secrets.js';
import { smallLab } from '../integration/limits-support.js';
import { REPO } from '../integration/local-runtime-setup.js';
import { waitFor } from '../support/wait.js';
import { PASSWORD, startWorkspaceE2e, type WorkspaceE2e } from '../support/workspace-e2e.js';

const LAB_DIR = '.cache/e2e-labs/capacity';
const LAB = smallLab('capacity-lab', 'ttl: 1h, idle: 1h');

let e2e: WorkspaceE2e;
let courseId: string;
let assignmentId: string;

beforeAll(async () => {
  fs.mkdirSync(path.join(REPO, LAB_DIR), { recursive: true });
  fs.writeFileSync(path.join(REPO, LAB_DIR, 'lab.yaml'), LAB);
  e2e = await startWorkspaceE2e({ scope: 'e2e-capacity', labs: [LAB_DIR], images: ['shell'] });
  const { store } = e2e.server;
  const admin = await store.users.upsert('local:admin', { name: 'admin', admin: true });
  await store.users.setPasswordHash(admin.id, await hashPassword(PASSWORD));
  courseId = (await store.users.upsertCourse('local:capacity-course', 'Networks 101')).id;
  assignmentId = (
    await store.assignments.upsert('local:capacity-a', { courseId, title: 'Lab 1', labName: 'capacity-lab' })
  ).id;
});

afterAll(async () => {
  await e2e?.server.api(e2e.server.adminToken, 'DELETE', `/api/v1/assignments/${assignmentId}/pool`);
  await e2e?.stop();
});

const running = (ids: string[]) =>
  waitFor(
    'the instances to run',
    async () => {
      const states = await Promise.all(ids.map(async (id) => (await e2e.server.store.instances.get(id))?.state));
      if (states.includes('failed')) throw new Error(`an instance failed: ${states.join(', ')}`);
      return states.every((s) => s === 'running') ? true : undefined;
    },
    120,
  );

describe('the capacity page', () => {
  it('shows what runs against the quotas per course and pool, and stops a whole course when asked', async () => {
    const { page, server } = e2e;
    onTestFailed(() => e2e.capture('capacity-failure'));
    // A warm pool member of the course, then a learner's lab of it (an LTI launch's call; the pool is claimed first,
    // so the launch comes after the pool is full and the pool refills to one again).
    const set = await server.api(server.adminToken, 'PUT', `/api/v1/assignments/${assignmentId}/pool`, {
      size: 1,
      until: new Date(Date.now() + 3600_000).toISOString(),
    });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    const learner = (await server.store.users.byKey('local:learner'))!;
    await server.store.users.setMembership(courseId, learner.id, 'learner');
    const launched = await server.lifecycle.create(await principalOf(server.store, learner), {
      lab: 'capacity-lab',
      courseId,
      assignmentId,
    });
    await waitFor(
      'a ready pool member',
      async () =>
        (await server.store.pools.members(assignmentId)).some((m) => m.state === 'running') ? true : undefined,
      120,
    );
    await running([launched.id]);

    await e2e.signIn('admin');
    await page.click('header a:text-is("Capacity")');
    await page.waitForURL(/\/admin\/capacity$/);
    const meter = (key: string) => page.locator(`[data-meter=${key}] .value`).textContent();
    await expect.poll(() => meter('instances'), { timeout: 30_000 }).toBe('2 of 100');
    expect(await meter('cpu')).toMatch(/^0\.5 cores of \d+ cores$/); // 250m per instance
    expect(await meter('memory')).toMatch(/^128 MiB of [\d.]+ GiB$/);
    expect(await meter('queue')).toBe('0 of 1000');
    expect(await page.locator('[data-testid=states]').textContent()).toMatch(/^2 running · 0 paused/);
    const row = page.locator(`tr[data-course="${courseId}"]`);
    expect(await row.locator('td').first().textContent()).toBe('Networks 101');
    expect(await row.locator('td[data-state=running]').textContent()).toBe('2');
    const pool = page.locator(`tr[data-pool="${assignmentId}"]`);
    expect(await pool.locator('td[data-field=ready]').textContent()).toBe('1 of 1');
    expect(await pool.locator('td').nth(1).textContent()).toBe('Networks 101');
    expect(await page.locator('[data-testid=jobs] li[data-job=reaper]').textContent()).toMatch(/^reaper\s*led by /);
    await e2e.capture('capacity-page');

    // "Stop all" asks first: a no changes nothing.
    const asked: string[] = [];
    page.once('dialog', (d) => {
      asked.push(d.message());
      void d.dismiss();
    });
    await row.locator('button[data-action=stop-course]').click();
    expect(asked).toEqual([
      'Stop every lab of “Networks 101”? Learners lose their running labs; their progress is kept.',
    ]);
    expect((await server.store.instances.get(launched.id))?.state).toBe('running');

    page.once('dialog', (d) => void d.accept());
    await row.locator('button[data-action=stop-course]').click();
    await expect
      .poll(() => page.locator('[data-testid=capacity-notice]').textContent())
      .toBe('Stopping 2 instances of “Networks 101”.');
    await waitFor(
      "the learner's lab to stop",
      async () => ((await server.store.instances.get(launched.id))?.state === 'stopped' ? true : undefined),
      60,
    );
    const stopped = await server.store.instances.get(launched.id);
    expect(stopped?.history.find((t) => t.to === 'stopping')).toMatchObject({
      reason: 'stopped by an administrator (the whole course)',
    });
    await e2e.capture('capacity-stopped');

    // A learner: no link in the header, and the page says why it shows nothing.
    const other = await e2e.browser.newPage();
    await e2e.signIn('learner', other);
    expect(await other.locator('header a:text-is("Capacity")').count()).toBe(0);
    await other.goto(`${server.url}/admin/capacity`);
    await expect
      .poll(() => other.locator('[data-testid=capacity-error]').textContent())
      .toBe('only administrators see and manage capacity');
    expect(await other.locator('[data-testid=meters]').isVisible()).toBe(false);
    await other.close();
  });
});
