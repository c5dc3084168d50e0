/**
 * The tutorial pane in a real browser (Debian Chromium through
 * playwright-core) against a real server on the local runtime (Podman): a
 * learner opens the example lab, sees the first page, asks for a check too
 * early (and gets the hint), types the command of step 1 into the terminal
 * and sees step 1 turn done without a reload (the background check of the
 * open page) and the progress bar move; after a reload the state is still
 * there. Screenshots go to .cache/e2e/.
 */
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import type { TestServer } from '../support/server.js';
import { SHOTS, startWorkspaceE2e, type WorkspaceE2e } from '../support/workspace-e2e.js';

let e2e: WorkspaceE2e;
let server: TestServer;
let page: Page;

beforeAll(async () => {
  e2e = await startWorkspaceE2e({ scope: 'e2e-tut' });
  ({ server, page } = e2e);
});

afterAll(async () => {
  await e2e?.stop();
});

const terminalText = (system: string) => e2e.terminalText(system);

const stepDone = (id: string) => page.locator(`li[data-step="${id}"]`).getAttribute('data-done');
const progressValue = async () => Number(await page.locator('[data-testid=tutorial-progress]').getAttribute('value'));

describe('tutorial pane', () => {
  it('turns step 1 done after the work in the terminal, without a reload, and keeps it after one', async () => {
    onTestFailed(() => e2e.capture('tutorial-failure'));
    await e2e.signIn();
    await page.click('button[data-lab="net-basics"]');
    await page.waitForURL(/\/instances\/i[a-z0-9]+$/);
    await page.waitForSelector('[data-testid=state]:text-is("running")', { timeout: 120_000 });

    // The first page, rendered with the learner's values, and its steps.
    const pane = page.locator('#tutorial-pane');
    await expect.poll(() => pane.locator('.tutorial-page h1').textContent()).toBe('Who is who on the network');
    expect(await pane.locator('.tutorial-page').textContent()).toContain('Welcome, learner!');
    expect(await pane.locator('.tutorial-page aside.box.box-note .box-title').count()).toBe(1);
    expect(await pane.locator('.tutorial-page img').getAttribute('src')).toMatch(
      /^\/api\/v1\/labs\/net-basics\/versions\/1\/assets\/topology\.svg\?access=/,
    );
    expect(
      await pane
        .locator('.tutorial-page img')
        .evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth),
    ).toBeGreaterThan(0);
    expect(await stepDone('own-address')).toBe('false');
    expect(await progressValue()).toBe(0);

    // Checked too early: not done, with the hint.
    await pane.locator('button[data-check="own-address"]').click();
    await expect
      .poll(() => pane.locator('li[data-step="own-address"] .step-hint').textContent(), { timeout: 20_000 })
      .toContain('ip -4 -brief address');
    expect(await pane.locator('li[data-step="own-address"] .step-message').textContent()).toMatch(/not done yet/);

    // The work, typed into the terminal of client; the open page is checked in the background.
    await expect
      .poll(() => page.locator('[data-testid=console-status]').textContent(), { timeout: 30_000 })
      .toBe('connected');
    await e2e.typeInTerminal(
      'client',
      `ip -4 -o address show | grep -v ' lo ' | awk '{sub(/\\/.*/, "", $4); print $4; exit}' > ~/address.txt`,
    );
    await expect.poll(() => stepDone('own-address'), { timeout: 30_000 }).toBe('true');
    await expect.poll(progressValue).toBe(1);
    expect(await pane.locator('[data-testid=tutorial-progress-text]').textContent()).toMatch(/^1 of 5 steps done/);
    // A step without a check is ticked by hand.
    await pane.locator('li[data-step="ping-server"] input[type=checkbox]').check();
    await expect.poll(progressValue).toBe(2);
    await page.screenshot({ path: path.join(SHOTS, 'tutorial-done.png') });

    await page.reload();
    await page.waitForSelector('[data-testid=state]:text-is("running")', { timeout: 30_000 });
    await expect.poll(() => stepDone('own-address'), { timeout: 15_000 }).toBe('true');
    expect(await stepDone('ping-server')).toBe('true');
    expect(await progressValue()).toBe(2);

    // The next page keeps its place in the navigation.
    await pane.locator('[data-testid=tutorial-next]').click();
    await expect.poll(() => pane.locator('.tutorial-page h1').textContent()).toBe('A web server in one line');
    expect(await pane.locator('.tutorial-page').textContent()).toContain('port 8080');

    // Resizable by its edge, collapsible by its button; the width is kept.
    const width = async () => (await pane.boundingBox())!.width;
    const before = await width();
    const edge = (await pane.locator('.tutorial-resize').boundingBox())!;
    await page.mouse.move(edge.x + edge.width / 2, edge.y + 100);
    await page.mouse.down();
    await page.mouse.move(edge.x + 150, edge.y + 100, { steps: 5 });
    await page.mouse.up();
    expect(await width()).toBeGreaterThan(before + 100);
    const resized = await width();
    await pane.locator('.tutorial-toggle').click();
    expect(await width()).toBeLessThan(60);
    expect(await pane.locator('.tutorial-page').isVisible()).toBe(false);
    await pane.locator('.tutorial-toggle').click();
    expect(Math.round(await width())).toBe(Math.round(resized));
  });

  it('a "Run on" button types its code into that system\'s terminal, the step turns done; "Copy" reaches the desktop', async () => {
    const lab = [
      'name: run-button',
      'title: Run buttons',
      'systems:',
      '  - { name: box, kind: container, image: lab-orchestrator/desktop, consoles: [terminal, desktop] }',
      'tutorial:',
      '  pages:',
      '    - title: One',
      '      body: pages/01.md',
      '      steps:',
      '        - id: made',
      '          text: Make the file',
      '          check: { system: box, run: "test -f /root/made-by-button" }',
    ].join('\n');
    const page1 = '# One\n\n```bash run=box copy\ntouch /root/made-by-button\n```\n';
    const files = { 'lab.yaml': lab, 'pages/01.md': page1 };
    expect((await server.api(server.adminToken, 'POST', '/api/v1/labs', { files })).status).toBe(201);
    await page.goto(server.url);
    await page.click('button[data-lab="run-button"]');
    await page.waitForURL(/\/instances\/i[a-z0-9]+$/);
    await page.waitForSelector('[data-testid=state]:text-is("running")', { timeout: 120_000 });
    const pane = page.locator('#tutorial-pane');
    const run = pane.locator('.code-action button[data-action="run"][data-system="box"]');
    await run.waitFor();
    expect(await run.textContent()).toBe('Run on box');
    await expect
      .poll(() => page.locator('[data-testid=console-status]').textContent(), { timeout: 30_000 })
      .toBe('connected');
    await expect.poll(() => terminalText('box'), { timeout: 30_000 }).toMatch(/[#$]\s*$/);
    await run.click();
    await expect.poll(() => terminalText('box'), { timeout: 15_000 }).toContain('touch /root/made-by-button');
    await expect.poll(() => stepDone('made'), { timeout: 30_000 }).toBe('true');
    await expect.poll(progressValue).toBe(1);

    // "Copy" while the desktop is shown also fills the desktop's clipboard (noVNC's clipboardPasteFrom).
    await page.click('button[data-console-switch="desktop"]');
    await expect
      .poll(() => page.locator('[data-testid=console-status]').textContent(), { timeout: 30_000 })
      .toBe('connected');
    const copy = pane.locator('.code-action button[data-action="copy"]');
    await copy.click();
    await expect.poll(() => copy.textContent()).toBe('Copied, also to the desktop');
    expect(await page.locator('.desktop-screen[data-system="box"]').count()).toBe(1);
    expect(await page.locator('textarea.clipboard').inputValue()).toBe('touch /root/made-by-button');
  });
});
