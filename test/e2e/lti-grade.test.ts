/**
 * The whole LTI journey in one browser (Debian Chromium through
 * playwright-core), third-party cookies blocked: a learner opens the test
 * platform's course page, clicks the activity, the workspace loads in the
 * iframe (the tool on another site, the OIDC state kept in the course page
 * by Platform Storage), the lab runs, the learner types the command of the
 * first tutorial step into the terminal in the iframe, the step turns done
 * in the tutorial pane, and the platform's gradebook page shows the score
 * the tool sent through AGS (3 of the lab's 10 points). Twice: on a
 * Moodle-like platform (the course page answers Platform Storage itself,
 * `lti_storage_target=_parent`; Moodle's score rules) and on a Canvas-like
 * one (a hidden `post_message_forwarding` frame answers it, as Canvas's
 * does; Canvas's score rules).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { type BrowserContext, chromium, type Frame, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { LocalRuntime } from '../../server/runtime/local/local-runtime.js';
import { prepareLocalRuntime, REPO } from '../integration/local-runtime-setup.js';
import {
  FIRST_STEP_FILE,
  LAB_POINTS,
  labUpload,
  registrationOf,
  startWorld,
  thirdPartyCookieBlockingProfile,
  type World,
} from '../integration/lti-support.js';
import { CHROMIUM_LAUNCH } from '../support/browser.js';
import { startTestServer, type TestServer } from '../support/server.js';

const SHOTS = path.join(REPO, '.cache', 'e2e');

const FLAVOURS = ['moodle', 'canvas'] as const;

let server: TestServer;
const worlds = new Map<(typeof FLAVOURS)[number], World>();
let browser: BrowserContext;
let profile = '';

/** Where the platform reaches the tool: another site than the platform's pages. */
const toolUrl = () => server.url.replace('127.0.0.1', 'localhost');

beforeAll(async () => {
  prepareLocalRuntime(['shell']);
  if (!fs.existsSync(path.join(REPO, 'client/dist/index.html'))) {
    execFileSync('npx', ['vite', 'build', 'client'], { cwd: REPO, stdio: 'inherit' });
  }
  server = await startTestServer({
    runtime: new LocalRuntime({ scope: `e2e-lti-grade-${process.pid}` }),
    env: { GRADE_OUTBOX_INTERVAL: '0.5' },
  });
  expect((await server.api(server.adminToken, 'POST', '/api/v1/labs', labUpload())).status).toBe(201);
  for (const flavour of FLAVOURS) {
    const world = await startWorld(toolUrl(), { flavour });
    worlds.set(flavour, world);
    const registered = await server.api(server.adminToken, 'POST', '/lti/platforms', registrationOf(world));
    expect(registered.status).toBe(201);
  }
  profile = thirdPartyCookieBlockingProfile();
  browser = await chromium.launchPersistentContext(profile, {
    ...CHROMIUM_LAUNCH,
    viewport: { width: 1400, height: 1100 },
  });
  fs.mkdirSync(SHOTS, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  // Provisioning still under way would create containers after a destroy: let it finish first.
  await server?.lifecycle.settleAll();
  for (const id of (await server?.runtime?.list()) ?? []) await server.runtime?.destroy(id);
  for (const world of worlds.values()) await world.running.close();
  await server?.stop();
  if (profile) fs.rmSync(profile, { recursive: true, force: true });
});

const terminalText = (frame: Frame) =>
  // biome-ignore lint/performance/useDomNodeTextContent: innerText keeps xterm's rows as lines (the prompt check reads the last line).
  frame.locator('.terminal-screen[data-system="box"] .xterm-rows').innerText();

const gradeCell = (page: Page, world: World) =>
  page.locator(`#gradebook tr[data-user-id="alice"] td[data-line-item-id="${world.lineItemId}"]`);

describe.each(FLAVOURS)('LTI on a %s-like platform: from the course page to a grade in the gradebook', (flavour) => {
  it('a learner does the first step of the lab in the iframe and the gradebook shows its points', async () => {
    const world = worlds.get(flavour)!;
    const page = await browser.newPage();
    onTestFailed(async () => {
      await page.screenshot({ path: path.join(SHOTS, `lti-grade-${flavour}-failure.png`) });
    });
    const platform = world.running.platform;

    // The course page; the activity opens in its iframe.
    await page.goto(platform.urls.coursePage(world.courseId, 'alice'));
    await page.click(`li[data-link-id="${world.linkId}"] a.launch`);
    const frame = page.frame({ name: 'tool-frame' })!;
    await expect.poll(() => frame.url(), { timeout: 30_000 }).toMatch(/\/instances\/i[a-z0-9]+$/);
    const instanceId = frame.url().split('/').pop()!;

    // The workspace of the learner's running lab, inside the frame.
    await frame.waitForSelector('[data-testid=state]:text-is("running")', { timeout: 120_000 });
    expect(await frame.textContent('[data-testid="user"]')).toBe('Alice Learner');
    const step = frame.locator('#tutorial-pane li[data-step="first"]');
    expect(await step.getAttribute('data-done')).toBe('false');

    // The first step's command, typed into the terminal in the frame; the open page is checked in the background.
    await expect
      .poll(() => frame.locator('[data-testid=console-status]').textContent(), { timeout: 30_000 })
      .toBe('connected');
    await expect.poll(() => terminalText(frame), { timeout: 30_000 }).toMatch(/[#$]\s*$/);
    await frame.locator('.terminal-screen[data-system="box"]').click();
    await page.keyboard.type(`touch ${FIRST_STEP_FILE}`);
    await page.keyboard.press('Enter');
    await expect.poll(() => step.getAttribute('data-done'), { timeout: 60_000 }).toBe('true');
    await page.screenshot({ path: path.join(SHOTS, `lti-grade-${flavour}-step-done.png`) });

    // No cookie of the tool's: the launch kept its state in the course page (Platform Storage).
    expect((await browser.cookies()).filter((c) => c.domain === 'localhost')).toEqual([]);
    const messages = platform.store.platformStorageMessages.filter((m) => m.origin === new URL(toolUrl()).origin);
    expect(messages.filter((m) => m.subject === 'lti.put_data' && m.outcome === 'stored')).toHaveLength(2);
    expect(messages.filter((m) => m.subject === 'lti.get_data' && m.outcome === 'found')).toHaveLength(2);
    // Canvas-like: the course page only names the storage frame, which answers put and get.
    const storageFrames = await page.locator('iframe[name="post_message_forwarding"]').count();
    expect(storageFrames).toBe(flavour === 'canvas' ? 1 : 0);

    // The platform's gradebook, in the browser: the score the tool sent for the step (3 of 10 points).
    await page.goto(platform.urls.gradebookPage(world.courseId));
    await expect
      .poll(
        async () => {
          await page.reload();
          return gradeCell(page, world).getAttribute('data-grade');
        },
        { timeout: 60_000, interval: 1000 },
      )
      .toBe('3');
    expect(await gradeCell(page, world).textContent()).toBe('3 / 10 (InProgress, FullyGraded)');
    expect(await page.locator(`#gradebook th[data-line-item-id="${world.lineItemId}"]`).textContent()).toBe(
      `The lab (/${LAB_POINTS})`,
    );
    await page.screenshot({ path: path.join(SHOTS, `lti-grade-${flavour}-gradebook.png`) });

    // What the gradebook shows is what the tool posted for the learner of this instance.
    const instance = await server.store.instances.get(instanceId);
    expect((await server.store.users.get(instance!.ownerId))?.key).toBe(`lti:${platform.urls.issuer}#alice`);
    expect(platform.grade(world.lineItemId, 'alice')?.score).toMatchObject({
      userId: 'alice',
      scoreGiven: 3,
      scoreMaximum: LAB_POINTS,
      gradingProgress: 'FullyGraded',
    });
    await page.close();
  });
});
