/**
 * The limits as a learner sees them, in a real browser (Debian Chromium
 * through playwright-core) against a real server on the local runtime
 * (Podman): a lab with a short maximum age shows its clock, turns it into
 * a warning with a live countdown, and "I am still here" moves the
 * deadline and uses up the extensions; with room for one instance only,
 * the next learners wait in the queue and see their place in it move.
 * Limits are seconds and the reaper runs twice a second; the test checks
 * what the page shows and in what order, not how long it takes.
 * Screenshots go to .cache/e2e/limits-*.png for a human look.
 *
 * Its own set-up (not test/support/workspace-e2e.ts): the server needs
 * short job intervals and a one-instance quota.
 */
import fs from 'node:fs';
import path from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { LocalRuntime } from '../../server/runtime/local/local-runtime.js';
import { hashPassword } from '../../server/secrets.js';
import { prepareLocalRuntime, REPO } from '../integration/local-runtime-setup.js';
import { CHROMIUM_LAUNCH } from '../support/browser.js';
import { startTestServer, type TestServer } from '../support/server.js';

const SHOTS = path.join(REPO, '.cache', 'e2e');
const PASSWORD = 'a long learner password';
/** Maximum age 80 s: the server warns 8 s ahead (10 %), an extension adds 80 s. */
const LAB = `name: clock-lab
title: Clock lab
limits: { ttl: 80s, idle: 1h, extensions: 1 }
systems:
  - name: box
    kind: container
    image: lab-orchestrator/shell
    consoles: [terminal]
    resources: { cpu: 250m, memory: 64Mi }
`;

let server: TestServer;
let browser: Browser;
const pages: Page[] = [];

beforeAll(async () => {
  prepareLocalRuntime(['shell']);
  if (!fs.existsSync(path.join(REPO, 'client/dist/index.html')))
    throw new Error('build the client first (npm run build)');
  server = await startTestServer({
    runtime: new LocalRuntime({ scope: `e2e-limits-${process.pid}` }),
    env: { REAPER_INTERVAL: '0.5', ADMISSION_INTERVAL: '0.5', LEASE_TTL: '3', QUOTA_INSTANCES: '1' },
  });
  const imported = await server.api(server.adminToken, 'POST', '/api/v1/labs', LAB, {
    'content-type': 'application/yaml',
  });
  expect(imported.status, JSON.stringify(imported.body)).toBe(201);
  for (const name of ['ada', 'bob', 'cy']) {
    const u = await server.user(name);
    await server.store.users.setPasswordHash(u.id, await hashPassword(PASSWORD));
  }
  fs.mkdirSync(SHOTS, { recursive: true });
  browser = await chromium.launch(CHROMIUM_LAUNCH);
});

afterAll(async () => {
  await browser?.close();
  // Queued instances leave the queue first: otherwise a destroy below frees room and admission starts one after it.
  for (const i of (await server?.store.instances.list({ states: ['requested'] })) ?? []) {
    await server.api(server.adminToken, 'POST', `/api/v1/instances/${i.id}/stop`);
  }
  await server?.lifecycle.settleAll();
  for (const i of (await server?.store.instances.list()) ?? []) await server.runtime?.destroy(i.id);
  await server?.stop();
});

/** A page of its own (own session) for `name`, signed in, on the lab list. */
async function signedIn(name: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1300, height: 700 } });
  pages.push(page);
  await page.goto(server.url);
  await page.waitForURL(/\/signin/);
  await page.fill('input[name=username]', name);
  await page.fill('input[name=password]', PASSWORD);
  await page.click('button[type=submit]');
  await page.waitForSelector('button[data-lab="clock-lab"]');
  return page;
}

async function startLab(page: Page): Promise<string> {
  await page.click('button[data-lab="clock-lab"]');
  await page.waitForURL(/\/instances\/i[a-z0-9]+$/);
  return page.url().split('/').at(-1)!;
}

const shot = async (page: Page, name: string) => {
  await page.screenshot({ path: path.join(SHOTS, `limits-${name}.png`) });
};
const text = (page: Page, selector: string) => page.locator(selector).textContent();

describe('limits in the workspace', () => {
  it('shows the time left, warns with a countdown, and "I am still here" moves the deadline', async () => {
    const page = await signedIn('ada');
    onTestFailed(() => shot(page, 'failure-clock'));
    await startLab(page);
    await page.waitForSelector('[data-testid=state]:text-is("running")', { timeout: 120_000 });

    // The quiet clock: time left before the stop, an extend button, no warning yet.
    const clock = page.locator('[data-testid=lab-clock]');
    await expect.poll(() => clock.textContent()).toMatch(/^stops in (\d+ s|\d+ min)$/);
    const firstDeadline = Date.parse((await clock.getAttribute('data-deadline'))!);
    expect(await text(page, 'button[data-action=extend]')).toBe('Extend (1 left)');
    expect(await page.locator('.lab-warning').isVisible()).toBe(false);
    expect(await page.locator('[data-testid=no-extensions]').isVisible()).toBe(false);
    await shot(page, 'clock');

    // The warning phase: a banner with a live countdown and "I am still here".
    await page.waitForSelector('.lab-warning [data-testid=countdown]', { timeout: 90_000 });
    const countdown = page.locator('[data-testid=countdown]');
    expect(await text(page, '.lab-warning')).toMatch(/Your lab stops in \d:\d\d.*maximum age/);
    const first = await countdown.textContent();
    await expect.poll(() => countdown.textContent(), { timeout: 5000 }).not.toBe(first); // it counts
    expect(await text(page, 'button[data-action=still-here]')).toBe('I am still here: extend (1 left)');
    await expect
      .poll(async () => (await server.store.instances.get(page.url().split('/').at(-1)!))?.warnedAt)
      .toBeDefined(); // the server warned too, not only the page
    await shot(page, 'warning');

    await page.click('button[data-action=still-here]');
    await expect
      .poll(() => text(page, '[data-testid=clock-notice]'))
      .toMatch(/^Extended: the lab now stops at .*\(no extensions left\)\.$/);
    await expect
      .poll(async () => Date.parse((await clock.getAttribute('data-deadline'))!))
      .toBe(firstDeadline + 80_000);
    expect(await page.locator('[data-testid=countdown]').isVisible()).toBe(false); // out of the warning phase
    expect(await page.locator('[data-testid=no-extensions]').isVisible()).toBe(true);
    expect(await text(page, '[data-testid=no-extensions]')).toBe('no extensions left');
    expect(await page.locator('button[data-action=extend]').isVisible()).toBe(false);
    expect(await text(page, '[data-testid=state]')).toBe('running');
    await shot(page, 'extended');
  });

  it('shows learners beyond the capacity their place in the queue as it moves', async () => {
    // Ada's lab still runs and the server has room for one: Bob, then Cy, wait.
    const bob = await signedIn('bob');
    onTestFailed(() => shot(bob, 'failure-queue'));
    await startLab(bob);
    await expect.poll(() => text(bob, '[data-testid=banner]')).toMatch(/^You are number 1 in the queue: .*next/);
    const cy = await signedIn('cy');
    await startLab(cy);
    await expect.poll(() => text(cy, '[data-testid=banner]')).toMatch(/^You are number 2 in the queue: /);
    expect(await text(cy, '[data-testid=state]')).toBe('starting');
    await shot(cy, 'queue-2');

    // Ada stops her lab: Bob's starts, Cy moves up.
    const ada = pages[0]!;
    await ada.click('button[data-action=stop]');
    await bob.waitForSelector('[data-testid=state]:text-is("running")', { timeout: 120_000 });
    await expect.poll(() => text(cy, '[data-testid=banner]')).toMatch(/^You are number 1 in the queue: /);
    await shot(cy, 'queue-1');
  });
});
