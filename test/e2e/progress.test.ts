/**
 * The instructor's progress page in a real browser (Debian Chromium through
 * playwright-core), against a real server on the local runtime (Podman) and
 * the test LMS: a learner launches the example lab from the course and does
 * step 1 in it (the step's own command, run in the container, then checked
 * through the API as the workspace does); the teacher's launch from the
 * course page opens the assignment's progress page in the LMS frame, with the
 * learner's row (step 1 done, a score) and the roster's other learner "not
 * started"; the CSV download has the same rows; the page refreshes by
 * itself; the home page leads to it; the teacher opens their own instance.
 * A learner is refused; a course from no LMS says it has no roster.
 * Screenshots go to .cache/e2e/.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Frame, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { hashPassword } from '../../server/secrets.js';
import { launch, registrationOf, startWorld, type World } from '../integration/lti-support.js';
import type { TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';
import { PASSWORD, SHOTS, startWorkspaceE2e, type WorkspaceE2e } from '../support/workspace-e2e.js';

const LAB = 'net-basics';
/** The example lab's step 1 and its solution (labs/net-basics/lab.yaml). */
const STEP1 = 'own-address';
const STEP1_WORK = `ip -4 -o address show | grep -v ' lo ' | awk '{sub(/\\/.*/, "", $4); print $4; exit}' > "$HOME/address.txt"`;

let e2e: WorkspaceE2e;
let server: TestServer;
let world: World;
let linkId = '';
let alice = { instanceId: '', token: '' };

beforeAll(async () => {
  e2e = await startWorkspaceE2e({ scope: 'e2e-progress', learners: [] });
  server = e2e.server;
  world = await startWorld(server.url);
  expect((await server.api(server.adminToken, 'POST', '/lti/platforms', registrationOf(world))).status).toBe(201);
  // An activity of the course bound to the example lab, as deep linking would make it.
  linkId = world.running.platform.addResourceLink({
    courseId: world.courseId,
    clientId: world.clientId,
    title: 'Network basics',
    custom: { lab: LAB },
    lineItem: { scoreMaximum: 5 },
  }).id;

  // Alice launches it from the course and does step 1 in her lab.
  const { answer } = await launch(world.running.platform.urls.launch(linkId, 'alice'));
  expect(answer.status).toBe(303);
  const to = new URL(answer.location!);
  const code = to.searchParams.get('session')!;
  const session = await fetch(`${server.url}/lti/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ code }),
  });
  expect(session.status).toBe(201);
  alice = {
    instanceId: decodeURIComponent(to.pathname.split('/')[2]!),
    token: ((await session.json()) as { token: string }).token,
  };
  await waitFor(
    'alice’s instance to run',
    async () => ((await server.store.instances.get(alice.instanceId))?.state === 'running' ? true : undefined),
    180,
  );
  const work = await server.runtime!.exec(alice.instanceId, 'client', ['sh', '-c', STEP1_WORK]);
  expect(work.exitCode, work.stderr).toBe(0);
  const checked = await server.api(
    alice.token,
    'POST',
    `/api/v1/instances/${alice.instanceId}/tutorial/steps/${STEP1}/check`,
  );
  expect(checked.status).toBe(200);
  expect(checked.body.outcome.passed).toBe(true);
});

afterAll(async () => {
  await e2e?.stop();
  await world?.running.close();
});

/** The teacher's launch from the course page: the tool opens in the page's frame. */
async function teacherLaunch(page: Page): Promise<Frame> {
  await page.goto(world.running.platform.urls.coursePage(world.courseId, 'teacher'));
  await page.click(`li[data-link-id="${linkId}"] a.launch`);
  const frame = page.frame({ name: 'tool-frame' })!;
  await waitFor('the progress page to load in the frame', async () =>
    /\/courses\/[a-z0-9]+\/progress\?assignment=[a-z0-9]+$/.test(frame.url()) ? true : undefined,
  );
  return frame;
}

const row = (frame: Frame, learner: string) => frame.locator(`tr[data-learner="${learner}"]`);
const mark = (frame: Frame, learner: string, step: string) =>
  row(frame, learner).locator(`td.mark[data-step="${step}"]`).getAttribute('data-done');

describe('progress page', () => {
  it('opens from the teacher’s launch: the learner’s row with step 1 done, the roster’s other learner not started, the CSV the same', async () => {
    const page = await e2e.browser.newPage({ viewport: { width: 1400, height: 850 }, acceptDownloads: true });
    onTestFailed(() => e2e.capture('progress-failure', page));
    const frame = await teacherLaunch(page);
    await frame.waitForSelector('[data-testid=progress-table]', { timeout: 30_000 });
    expect(await frame.textContent('[data-testid=user]')).toBe('Tina Teacher');
    expect(await frame.textContent('h1')).toBe('Progress — Networking 101');

    // Heads: the tutorial's pages over their steps, in the steps' own words.
    const pages = await frame.locator('th.page').allTextContents();
    expect(pages).toEqual(['Who is who on the network', 'A web server in one line']);
    expect(await frame.locator(`th.step[data-step="${STEP1}"]`).getAttribute('title')).toMatch(
      /^Write the IPv4 address of client into ~\/address.txt/,
    );

    // Alice: started, step 1 done, the others not, a score above 0.
    expect(await row(frame, 'Alice Learner').getAttribute('data-state')).toBe('running');
    expect(await mark(frame, 'Alice Learner', STEP1)).toBe('true');
    expect(await mark(frame, 'Alice Learner', 'ping-server')).toBe('false');
    const score = await row(frame, 'Alice Learner').locator('[data-testid=score]').textContent();
    expect(Number(/^(\d+) %$/.exec(score ?? '')?.[1])).toBeGreaterThan(0);
    expect(await row(frame, 'Alice Learner').locator('th.learner a').getAttribute('href')).toBe(
      `/instances/${alice.instanceId}`,
    );
    // Bob is in the LMS roster and never launched; the teacher is no learner.
    expect(await row(frame, 'Bob Learner').getAttribute('data-state')).toBe('not started');
    expect(await row(frame, 'Bob Learner').locator('.state').textContent()).toBe('not started');
    expect(await row(frame, 'Tina Teacher').count()).toBe(0);
    expect(await frame.textContent('[data-testid=progress-summary]')).toBe('1 started, 1 not started yet');
    expect(await frame.locator('[data-testid=roster-note]').isVisible()).toBe(false);
    await page.screenshot({ path: path.join(SHOTS, 'progress-lti.png') });

    // The CSV (fetched with the tab's session, saved as a file) has the rows of the learners who started.
    const download = page.waitForEvent('download');
    await frame.click('button[data-action=csv]');
    const file = await download;
    expect(file.suggestedFilename()).toMatch(/^progress-[a-z0-9]+\.csv$/);
    const lines = fs
      .readFileSync(await file.path(), 'utf8')
      .trim()
      .split('\r\n');
    const header = lines[0]!.split(',');
    const started = await frame
      .locator('tbody tr:not(.not-started)')
      .evaluateAll((rows) => rows.map((r) => (r as unknown as { dataset: { learner: string } }).dataset.learner));
    expect(lines.slice(1).map((l) => l.split(',')[0])).toEqual(started);
    const csvRow = lines[1]!.split(',');
    expect(csvRow[header.indexOf('state')]).toBe('running');
    expect(csvRow[header.indexOf(STEP1)]).toBe('1');
    expect(csvRow[header.indexOf('ping-server')]).toBe('0');
    expect(Number(csvRow[header.indexOf('score')])).toBeGreaterThan(0);

    // The page refreshes by itself: a step Alice ticks now shows up without a reload.
    const ticked = await server.api(
      alice.token,
      'POST',
      `/api/v1/instances/${alice.instanceId}/tutorial/steps/ping-server/tick`,
      { done: true },
    );
    expect(ticked.status).toBe(200);
    await expect.poll(() => mark(frame, 'Alice Learner', 'ping-server'), { timeout: 25_000 }).toBe('true');

    // From the home page: the courses the teacher instructs, with their progress links.
    await frame.click('a.brand');
    const taught = frame.locator('[data-testid=taught-courses]');
    await taught.waitFor({ timeout: 15_000 });
    expect(await taught.locator('li').first().textContent()).toContain('Networking 101');
    await page.screenshot({ path: path.join(SHOTS, 'progress-home.png') });
    await taught.locator('a.progress-link').first().click();
    await frame.waitForSelector('tr[data-learner="Alice Learner"]', { timeout: 15_000 });
    expect(frame.url()).toMatch(/\/courses\/[a-z0-9]+\/progress$/);
    expect(await frame.textContent('.progress-head p')).toBe('All assignments and labs of the course');
    expect(await frame.locator('button[data-action=own-instance]').isVisible()).toBe(false);

    // To the assignment and back to all by the links above the table (the query alone changes).
    await frame.click('nav.assignment-choice a:text-is("Network basics")');
    await expect.poll(() => frame.textContent('.progress-head p')).toBe('Assignment “Network basics” (lab net-basics)');
    await frame.click('nav.assignment-choice a:text-is("All")');
    await expect.poll(() => frame.textContent('.progress-head p')).toBe('All assignments and labs of the course');
    expect(frame.url()).toMatch(/\/progress$/);

    // Back on the assignment: the teacher's own instance, one click away (not a row of the table).
    await frame.click('nav.assignment-choice a:text-is("Network basics")');
    await frame.click('button[data-action=own-instance]');
    await waitFor('the teacher’s workspace', async () =>
      /\/instances\/[a-z0-9-]+$/.test(frame.url()) ? true : undefined,
    );
    const own = await server.store.instances.get(decodeURIComponent(frame.url().split('/').pop()!));
    expect(own?.labName).toBe(LAB);
    expect((await server.store.users.get(own!.ownerId))?.name).toBe('Tina Teacher');
    await page.close();
  });

  it('is refused to a learner, in words', async () => {
    const page = await e2e.browser.newPage();
    onTestFailed(() => e2e.capture('progress-refused', page));
    const { answer } = await launch(world.running.platform.urls.launch(linkId, 'alice'));
    const code = new URL(answer.location!).searchParams.get('session')!;
    const course = (await server.store.instances.get(alice.instanceId))!.courseId!;
    await page.goto(`${server.url}/courses/${course}/progress?session=${encodeURIComponent(code)}`);
    await expect
      .poll(() => page.textContent('[data-testid=progress-error]'), { timeout: 15_000 })
      .toMatch(/^Only the course instructors see this page/);
    expect(await page.locator('[data-testid=progress-table]').count()).toBe(0);
    expect(await page.locator('button[data-action=csv]').isVisible()).toBe(false);
    await page.close();
  });

  it('for a course from no LMS: says there is no roster, and that no learner started yet', async () => {
    const course = await server.api(server.adminToken, 'POST', '/api/v1/courses', { title: 'Local workshop' });
    expect(course.status).toBe(201);
    const tutor = await server.user('tutor');
    await server.store.users.setPasswordHash(tutor.id, await hashPassword(PASSWORD));
    await server.store.users.setMembership(course.body.id, tutor.id, 'instructor');
    const page = await e2e.browser.newPage({ viewport: { width: 1200, height: 700 } });
    onTestFailed(() => e2e.capture('progress-local', page));
    await e2e.signIn('tutor', page);
    const taught = page.locator('[data-testid=taught-courses]');
    await taught.waitFor();
    await taught.locator(`li[data-course="${course.body.id}"] a.progress-link`).click();
    await expect
      .poll(() => page.textContent('[data-testid=roster-note]'))
      .toMatch(/not from an LMS, so there is no roster/);
    await expect.poll(() => page.textContent('[data-testid=progress-empty]')).toMatch(/No learner has started/);
    await page.screenshot({ path: path.join(SHOTS, 'progress-local.png') });
    await page.close();
  });
});
