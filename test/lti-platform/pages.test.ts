import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_LAUNCH } from '../support/browser.js';
import { type RunningPlatform, startPlatform } from './platform.js';
import { seedCourse, TestTool } from './testTool.js';
import { MEDIA_TYPE, SCOPE } from './vocabulary.js';

let running: RunningPlatform;
let tool: TestTool;
let seed: ReturnType<typeof seedCourse>;
let browser: Browser;

beforeAll(async () => {
  running = await startPlatform();
  tool = await TestTool.start();
  seed = seedCourse(running.platform, tool);
  tool.acceptLaunchesFrom(running.platform, seed.clientId);
  browser = await chromium.launch(CHROMIUM_LAUNCH);
});
afterAll(async () => {
  await browser?.close();
  await running?.close();
  await tool?.close();
});

const html = async (url: string) => {
  const res = await fetch(url);
  return { status: res.status, text: await res.text() };
};

describe('course page', () => {
  it('lists the activities for a learner, without the instructor tools', async () => {
    const page = await html(running.platform.urls.coursePage(seed.course.id, 'alice'));
    expect(page.status).toBe(200);
    expect(page.text).toContain(`data-link-id="${seed.link.id}"`);
    expect(page.text).toContain('target="tool-frame"');
    expect(page.text).toContain('open in a new window');
    expect(page.text).not.toContain('id="add-activity"');
  });

  it('offers deep linking to instructors', async () => {
    const page = await html(running.platform.urls.coursePage(seed.course.id, 'teacher'));
    expect(page.text).toContain('id="add-activity"');
    expect(page.text).toContain(`data-client-id="${seed.clientId}"`);
  });

  it('refuses a user who is not enrolled', async () => {
    expect((await html(running.platform.urls.coursePage(seed.course.id, 'admin'))).status).toBe(403);
  });

  it('shows the gradebook', async () => {
    const token = await tool.accessToken(running.platform, seed.clientId, [SCOPE.score]);
    const res = await fetch(`${running.platform.urls.lineItem(seed.course.id, seed.lineItem.id)}/scores`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': MEDIA_TYPE.score },
      body: JSON.stringify({
        userId: 'bob',
        scoreGiven: 1,
        scoreMaximum: 2,
        activityProgress: 'Completed',
        gradingProgress: 'FullyGraded',
        timestamp: new Date().toISOString(),
      }),
    });
    expect(res.status).toBe(204);
    const page = await html(running.platform.urls.gradebookPage(seed.course.id));
    expect(page.text).toMatch(/<tr data-user-id="bob">.*data-grade="5"/);
    expect(page.text).toMatch(/<tr data-user-id="bob">.*data-grade="5">5 \/ 10 \(Completed, FullyGraded\)</);
  });
});

describe('in Chromium', () => {
  it('launches an activity inside the course page iframe and in a new window', async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(running.platform.urls.coursePage(seed.course.id, 'alice'));
      await page.click(`li[data-link-id="${seed.link.id}"] a.launch`);
      const launched = page.frameLocator('#tool-frame').locator('#launched');
      await expect.poll(() => launched.textContent(), { timeout: 15_000 }).toBe('Hello Alice Learner');
      expect(await launched.getAttribute('data-target')).toBe('iframe');

      const [popup] = await Promise.all([
        context.waitForEvent('page'),
        page.click(`li[data-link-id="${seed.link.id}"] a.launch-window`),
      ]);
      await popup.waitForSelector('#launched', { timeout: 15_000 });
      expect(await popup.locator('#launched').getAttribute('data-target')).toBe('window');
    } finally {
      await context.close();
    }
  });

  it('keeps values for a tool page in the course page (Platform Storage postMessages)', async () => {
    tool.page(
      '/storage-probe',
      `<!doctype html><body><script>
const platform = ${JSON.stringify(running.url)};
let n = 0;
const ask = (message) => new Promise((resolve) => {
  const id = 'm' + n++;
  addEventListener('message', function onReply(event) {
    if (event.origin !== platform || event.data.message_id !== id) return;
    removeEventListener('message', onReply);
    resolve(event.data);
  });
  parent.postMessage({ ...message, message_id: id }, platform);
});
(async () => {
  const capabilities = await ask({ subject: 'lti.capabilities' });
  const put = await ask({ subject: 'lti.put_data', key: 'state-1', value: 'nonce-1' });
  const got = await ask({ subject: 'org.imsglobal.lti.get_data', key: 'state-1' });
  const missing = await ask({ subject: 'lti.get_data', key: 'state-2' });
  const pre = document.createElement('pre');
  pre.id = 'result';
  pre.textContent = JSON.stringify({ capabilities, put, got, missing });
  document.body.append(pre);
})();
</script></body>`,
    );
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(running.platform.urls.coursePage(seed.course.id, 'alice'));
      await page.evaluate(`document.getElementById('tool-frame').src = ${JSON.stringify(`${tool.url}/storage-probe`)}`);
      const result = page.frameLocator('#tool-frame').locator('#result');
      await expect.poll(() => result.count(), { timeout: 15_000 }).toBe(1);
      const replies = JSON.parse((await result.textContent())!);
      expect(replies.capabilities.supported_messages).toContainEqual({ subject: 'lti.put_data', frame: '_parent' });
      expect(replies.put).toMatchObject({ subject: 'lti.put_data.response', key: 'state-1', value: 'nonce-1' });
      expect(replies.got).toMatchObject({
        subject: 'org.imsglobal.lti.get_data.response',
        key: 'state-1',
        value: 'nonce-1',
      });
      expect(replies.missing).toMatchObject({ subject: 'lti.get_data.response', error: { code: 'bad_request' } });
      // The course page reported what it answered, with the sender's origin.
      await expect
        .poll(() => running.platform.store.platformStorageMessages.filter((m) => m.origin === tool.url).length)
        .toBe(4);
      expect(
        running.platform.store.platformStorageMessages
          .filter((m) => m.origin === tool.url)
          .map((m) => [m.subject, m.key, m.outcome, m.viewer]),
      ).toEqual([
        ['lti.capabilities', undefined, 'answered', 'alice'],
        ['lti.put_data', 'state-1', 'stored', 'alice'],
        ['org.imsglobal.lti.get_data', 'state-1', 'found', 'alice'],
        ['lti.get_data', 'state-2', 'missing', 'alice'],
      ]);
    } finally {
      await context.close();
    }
  });

  it('keeps nothing for a page of an origin that is no registered tool', async () => {
    const stranger = await TestTool.start();
    try {
      stranger.page(
        '/storage-probe',
        `<!doctype html><body><script>
addEventListener('message', (event) => {
  const pre = document.createElement('pre');
  pre.id = 'result';
  pre.textContent = JSON.stringify(event.data);
  document.body.append(pre);
});
parent.postMessage({ subject: 'lti.put_data', message_id: 'm1', key: 'k', value: 'v' }, ${JSON.stringify(running.url)});
</script></body>`,
      );
      const context = await browser.newContext();
      try {
        const page = await context.newPage();
        await page.goto(running.platform.urls.coursePage(seed.course.id, 'alice'));
        await page.evaluate(
          `document.getElementById('tool-frame').src = ${JSON.stringify(`${stranger.url}/storage-probe`)}`,
        );
        const result = page.frameLocator('#tool-frame').locator('#result');
        await expect.poll(() => result.count(), { timeout: 15_000 }).toBe(1);
        expect(JSON.parse((await result.textContent())!)).toMatchObject({
          subject: 'lti.put_data.response',
          message_id: 'm1',
          error: { code: 'bad_request', message: `origin ${stranger.url} is not a tool of this platform` },
        });
        expect(await page.evaluate('document.body.dataset.platformStorageWrites ?? null')).toBeNull();
        await expect
          .poll(() => running.platform.store.platformStorageMessages.find((m) => m.origin === stranger.url)?.outcome)
          .toBe('refused');
      } finally {
        await context.close();
      }
    } finally {
      await stranger.close();
    }
  });

  it('runs a dynamic registration in the start page until the tool closes it', async () => {
    tool.acceptRegistration();
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(running.platform.urls.registrationStart(`${tool.url}/register`));
      const status = page.locator('#registration-status');
      await expect.poll(() => status.getAttribute('data-done'), { timeout: 15_000 }).toBe('true');
      expect(await status.textContent()).toBe('Registration complete.');
      const registration = running.platform.store.registrations.at(-1)!;
      expect(running.platform.store.tools.get(registration.clientId)?.name).toBe('Registered in a browser');
    } finally {
      await context.close();
    }
  });

  it('adds an activity by deep linking from the instructor course page', async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(running.platform.urls.coursePage(seed.course.id, 'teacher'));
      await page.click(`a.deep-link[data-client-id="${seed.clientId}"]`);
      const done = page.frameLocator('#tool-frame').locator('#deep-linking-done');
      await expect.poll(() => done.getAttribute('data-created'), { timeout: 15_000 }).toBe('1');
      const created = running.platform.store.deepLinkingReturns.at(-1)!.createdLinks[0]!;
      expect(running.platform.lineItemsOf(created.id)[0]?.scoreMaximum).toBe(7);
      await page.reload();
      expect(await page.locator(`li[data-link-id="${created.id}"] a.launch`).textContent()).toBe('Picked lab');
    } finally {
      await context.close();
    }
  });
});
