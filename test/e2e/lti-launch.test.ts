/**
 * LTI launches in a real browser (Debian Chromium through playwright-core):
 * from the test platform's course page, a learner's activity opens in the
 * iframe and lands on their own instance's workspace page; the tool runs on
 * another site than the platform (`localhost` vs `127.0.0.1`), so the frame
 * is third-party, and the browser profile blocks third-party cookies: the
 * launch works without them. The platform sends lti_storage_target, so the
 * tool keeps its OIDC state in the course page (Platform Storage
 * postMessages) and reads it back; a course page that answers another state
 * gets the launch refused, one that does not answer gets a new window.
 * A second learner gets their own instance; "open in a new window" works too.
 */
import fs from 'node:fs';
import path from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { LocalRuntime } from '../../server/runtime/local/local-runtime.js';
import { prepareLocalRuntime, REPO } from '../integration/local-runtime-setup.js';
import {
  LAB_NAME,
  LAB_POINTS,
  labUpload,
  registrationOf,
  startWorld,
  thirdPartyCookieBlockingProfile,
  type World,
} from '../integration/lti-support.js';
import { CHROMIUM_LAUNCH } from '../support/browser.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';

let server: TestServer;
let world: World;
let browser: BrowserContext;
let profile = '';

beforeAll(async () => {
  prepareLocalRuntime(['shell']);
  server = await startTestServer({ runtime: new LocalRuntime({ scope: `e2e-lti-${process.pid}` }) });
  // The platform reaches the tool at another site than its own pages.
  world = await startWorld(toolOrigin());
  expect((await server.api(server.adminToken, 'POST', '/api/v1/labs', labUpload())).status).toBe(201);
  expect((await server.api(server.adminToken, 'POST', '/lti/platforms', registrationOf(world))).status).toBe(201);
  // A profile that blocks third-party cookies: the tool (localhost) inside the platform's page (127.0.0.1) gets none.
  profile = thirdPartyCookieBlockingProfile();
  browser = await chromium.launchPersistentContext(profile, CHROMIUM_LAUNCH);
});

afterAll(async () => {
  await browser?.close();
  // Provisioning still under way would create containers after a destroy: let it finish first.
  await server?.lifecycle.settleAll();
  for (const id of (await server?.runtime?.list()) ?? []) await server.runtime?.destroy(id);
  await world?.running.close();
  await server?.stop();
  if (profile) fs.rmSync(profile, { recursive: true, force: true });
});

const workspaceUrl = (url: string) => url.startsWith(`${server.url}/instances/`);
/** Where the platform reaches the tool: another site than the platform's pages. */
const toolOrigin = () => new URL(server.url.replace('127.0.0.1', 'localhost')).origin;

/**
 * The tool's redirect to the workspace page (instance id and launch code),
 * caught as the browser requests it: the client page may move on at once.
 */
function workspaceRequest(page: Page) {
  return page
    .context()
    .waitForEvent('request', { predicate: (r) => workspaceUrl(r.url()) && r.isNavigationRequest(), timeout: 30_000 })
    .then((r) => {
      const url = new URL(r.url());
      return { instanceId: decodeURIComponent(url.pathname.split('/')[2]!), code: url.searchParams.get('session') };
    });
}

async function launchInFrame(user: string) {
  const page = await browser.newPage();
  const shots = path.join(REPO, '.cache', 'e2e');
  fs.mkdirSync(shots, { recursive: true });
  await page.goto(world.running.platform.urls.coursePage(world.courseId, user));
  const request = workspaceRequest(page);
  await page.click(`li[data-link-id="${world.linkId}"] a.launch`);
  const where = await request;
  const frame = page.frame({ name: 'tool-frame' })!;
  await waitFor('the workspace page to load in the frame', async () =>
    frame.url().startsWith(server.url) ? true : undefined,
  );
  await page.screenshot({ path: path.join(shots, `lti-${user}.png`) });
  return { page, frame, ...where };
}

describe('LTI launch in Chromium', () => {
  it('opens the learner’s own running instance inside the course page', async () => {
    const { page, frame, instanceId, code } = await launchInFrame('alice');
    expect(code).toBeTruthy();
    // The tool's state cookie, set in the third-party frame, was blocked.
    expect((await page.context().cookies()).filter((c) => c.domain === 'localhost')).toEqual([]);
    // The state and nonce went into the course page and came back from it (Platform Storage).
    const state = world.running.platform.store.authRequests.at(-1)!.params.state!;
    const nonce = world.running.platform.store.authRequests.at(-1)!.params.nonce!;
    const exchanged = await waitFor('the course page to report the storage messages', async () => {
      const mine = world.running.platform.store.platformStorageMessages.filter(
        (m) => m.key === `state_${state}` || m.key === `nonce_${nonce}`,
      );
      return mine.length >= 4 ? mine : undefined;
    });
    expect(exchanged.map((m) => [m.subject, m.key, m.outcome, m.origin, m.viewer])).toEqual([
      ['lti.put_data', `state_${state}`, 'stored', toolOrigin(), 'alice'],
      ['lti.put_data', `nonce_${nonce}`, 'stored', toolOrigin(), 'alice'],
      ['lti.get_data', `state_${state}`, 'found', toolOrigin(), 'alice'],
      ['lti.get_data', `nonce_${nonce}`, 'found', toolOrigin(), 'alice'],
    ]);
    const instance = await server.store.instances.get(instanceId);
    expect(instance?.labName).toBe(LAB_NAME);
    expect((await server.store.users.get(instance!.ownerId))?.name).toBe('Alice Learner');

    // Inside the frame, the client traded the one-time code for its session (sessionStorage, no cookie)
    // and shows the learner's workspace of that instance, with the code gone from the URL.
    await frame.waitForSelector('[data-testid="user"]', { timeout: 30_000 });
    expect(await frame.textContent('[data-testid="user"]')).toBe('Alice Learner');
    expect(frame.url()).toBe(`${server.url}/instances/${instanceId}`);
    const token = await frame.evaluate(() => {
      const storage = (globalThis as unknown as { sessionStorage: { getItem(k: string): string | null } })
        .sessionStorage;
      return (JSON.parse(storage.getItem('lab-orchestrator.session') ?? '{}') as { token?: string }).token;
    });
    const api = await fetch(`${server.url}/api/v1/instances/${instanceId}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(api.status).toBe(200);
    // The code was single-use: trading it again fails.
    const again = await fetch(`${server.url}/lti/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code }),
    });
    expect(again.ok).toBe(false);
    await waitFor('the instance to run', async () =>
      (await server.store.instances.get(instanceId))?.state === 'running' ? true : undefined,
    );
    await page.screenshot({ path: path.join(REPO, '.cache', 'e2e', 'lti-workspace.png') });
    await page.close();
  });

  it('gives a second learner their own instance', async () => {
    const alice = await launchInFrame('alice');
    const bob = await launchInFrame('bob');
    expect(bob.instanceId).not.toBe(alice.instanceId);
    const owners = await Promise.all(
      [alice.instanceId, bob.instanceId].map(async (id) => (await server.store.instances.get(id))!.ownerId),
    );
    expect(new Set(owners).size).toBe(2);
    await alice.page.close();
    await bob.page.close();
  });

  it('refuses the launch when the course page gives back another state', async () => {
    world.running.platform.tamperPlatformStorage('the-state-of-another-login');
    try {
      const page = await browser.newPage();
      await page.goto(world.running.platform.urls.coursePage(world.courseId, 'bob'));
      await page.click(`li[data-link-id="${world.linkId}"] a.launch`);
      const error = page.frameLocator('#tool-frame').locator('#error');
      await expect.poll(() => error.getAttribute('data-error'), { timeout: 30_000 }).toBe('state_mismatch');
      expect(await error.textContent()).toMatch(/started in another browser or window/);
      expect(world.running.platform.store.platformStorageMessages.some((m) => m.outcome === 'tampered')).toBe(true);
      await page.close();
    } finally {
      world.running.platform.tamperPlatformStorage(null);
    }
  });

  it('offers a new window when the course page does not answer, and launches there', async () => {
    world.running.platform.silencePlatformStorage(true);
    try {
      const page = await browser.newPage();
      await page.goto(world.running.platform.urls.coursePage(world.courseId, 'bob'));
      await page.click(`li[data-link-id="${world.linkId}"] a.launch`);
      const frame = page.frameLocator('#tool-frame');
      await expect
        .poll(() => frame.locator('#error').getAttribute('data-error'), { timeout: 30_000 })
        .toBe('platform_storage_unavailable');
      const [popup] = await Promise.all([browser.waitForEvent('page'), frame.locator('a#new-window').click()]);
      // The same login without lti_storage_target: the state is checked server-side only, as for any new window.
      await popup.waitForURL((url) => workspaceUrl(url.href), { timeout: 30_000 });
      await popup.waitForSelector('[data-testid="user"]', { timeout: 30_000 });
      expect(await popup.textContent('[data-testid="user"]')).toBe('Bob Learner');
      await popup.close();
      await page.close();
    } finally {
      world.running.platform.silencePlatformStorage(false);
    }
  });

  it('lets an instructor add the lab by deep linking inside the course page', async () => {
    const platform = world.running.platform;
    const page = await browser.newPage();
    onTestFailed(async () => {
      const shots = path.join(REPO, '.cache', 'e2e');
      await page.screenshot({ path: path.join(shots, 'lti-deep-linking-failure.png') });
      fs.writeFileSync(
        path.join(shots, 'lti-deep-linking-failure.html'),
        await page.frame({ name: 'tool-frame' })!.content(),
      );
    });
    await page.goto(platform.urls.coursePage(world.courseId, 'teacher'));
    await page.click(`a.deep-link[data-client-id="${world.clientId}"]`);
    // Our lab picker, in the frame (after the Platform Storage round of the deep linking launch).
    const frame = page.frameLocator('#tool-frame');
    await frame.locator(`li[data-lab="${LAB_NAME}"] button[type=submit]`).click({ timeout: 30_000 });
    await expect
      .poll(() => frame.locator('#deep-linking-done').getAttribute('data-created'), { timeout: 30_000 })
      .toBe('1');
    const created = platform.store.deepLinkingReturns.at(-1)!.createdLinks[0]!;
    expect(created.custom).toMatchObject({ lab: LAB_NAME });
    expect(platform.lineItemsOf(created.id)[0]?.scoreMaximum).toBe(LAB_POINTS);
    expect(
      platform.store.platformStorageMessages.filter((m) => m.viewer === 'teacher' && m.outcome === 'found'),
    ).toHaveLength(2);
    // (Launching it is test/integration/lti.test.ts's part: here the tool's public URL, which the link
    // carries, is another host than the one registered at the platform.)
    await page.close();
  });

  it('opens in a new window', async () => {
    const page = await browser.newPage();
    await page.goto(world.running.platform.urls.coursePage(world.courseId, 'alice'));
    const request = workspaceRequest(page);
    await page.click(`li[data-link-id="${world.linkId}"] a.launch-window`);
    const { instanceId, code } = await request;
    expect(code).toBeTruthy();
    expect((await server.store.instances.get(instanceId))?.labName).toBe(LAB_NAME);
    await page.close();
  });
});
