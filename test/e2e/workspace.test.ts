/**
 * The workspace in a real browser (Debian Chromium through playwright-core)
 * against a real server on the local runtime (Podman): a new user signs in,
 * starts the two-container example lab, works in a terminal, switches to the
 * other system, opens the desktop and sees it drawn, and stops the lab.
 * Screenshots go to .cache/e2e/ for a human look.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { LocalRuntime } from '../../server/runtime/local/local-runtime.js';
import { hashPassword } from '../../server/secrets.js';
import { prepareLocalRuntime, REPO } from '../integration/local-runtime-setup.js';
import { CHROMIUM_LAUNCH } from '../support/browser.js';
import { importLabFolder, startTestServer, type TestServer } from '../support/server.js';

const SHOTS = path.join(REPO, '.cache', 'e2e');
const PASSWORD = 'a long learner password';

let server: TestServer;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  prepareLocalRuntime(['shell', 'desktop']);
  if (!fs.existsSync(path.join(REPO, 'client/dist/index.html'))) {
    execFileSync('npx', ['vite', 'build', 'client'], { cwd: REPO, stdio: 'inherit' });
  }
  server = await startTestServer({ runtime: new LocalRuntime({ scope: `e2e-${process.pid}` }) });
  expect((await importLabFolder(server, 'labs/net-basics')).status).toBe(201);
  const learner = await server.user('learner');
  await server.store.users.setPasswordHash(learner.id, await hashPassword(PASSWORD));

  fs.mkdirSync(SHOTS, { recursive: true });
  browser = await chromium.launch(CHROMIUM_LAUNCH);
  page = await browser.newPage({ viewport: { width: 1400, height: 850 } });
});

afterAll(async () => {
  await browser?.close();
  for (const i of (await server?.store.instances.list()) ?? []) await server.runtime?.destroy(i.id);
  await server?.stop();
});

/** What the visible terminal shows (xterm's DOM renderer keeps a row per line). */
const terminalText = (system: string) =>
  // biome-ignore lint/performance/useDomNodeTextContent: innerText keeps xterm's rows as lines (the test reads lines).
  page.locator(`.terminal-screen[data-system="${system}"] .xterm-rows`).innerText();

/** Types a command once the shell shows its prompt (as a user would wait for it). */
async function typeInTerminal(system: string, text: string) {
  await expect.poll(() => terminalText(system), { timeout: 30_000 }).toMatch(/[#$]\s*$/);
  await page.locator(`.terminal-screen[data-system="${system}"]`).click();
  await page.keyboard.type(text);
  await page.keyboard.press('Enter');
}

describe('workspace', () => {
  it('signs in, starts a lab, uses terminal and desktop, and stops it', async () => {
    onTestFailed(async () => {
      await page.screenshot({ path: path.join(SHOTS, 'failure.png') });
      fs.writeFileSync(path.join(SHOTS, 'failure.html'), await page.content());
    });
    await page.goto(server.url);
    await page.waitForURL(/\/signin/);
    await page.fill('input[name=username]', 'learner');
    await page.fill('input[name=password]', 'wrong password');
    await page.click('button[type=submit]');
    await expect.poll(() => page.locator('p.error').textContent()).toBe('wrong user name or password');
    await page.screenshot({ path: path.join(SHOTS, 'signin.png') });
    await page.fill('input[name=password]', PASSWORD);
    await page.click('button[type=submit]');
    await page.waitForSelector('[data-testid=user]');
    await page.waitForSelector('button[data-lab="net-basics"]');
    await page.screenshot({ path: path.join(SHOTS, 'labs.png') });

    await page.click('button[data-lab="net-basics"]');
    await page.waitForURL(/\/instances\/i[a-z0-9]+$/);
    await page.waitForSelector('[data-testid=state]:text-is("running")', { timeout: 120_000 });

    // Terminal of the first system (client): type, read back from the screen.
    const word = `hello-${randomBytes(4).toString('hex')}`;
    await expect
      .poll(() => page.locator('[data-testid=console-status]').textContent(), { timeout: 30_000 })
      .toBe('connected');
    await typeInTerminal('client', `echo ${word}`);
    // Once as typed, once as printed.
    await expect
      .poll(async () => (await terminalText('client')).split(word).length - 1, { timeout: 15_000 })
      .toBeGreaterThanOrEqual(2);
    await page.screenshot({ path: path.join(SHOTS, 'workspace-terminal.png') });

    // A blip: every socket dropped. The page reconnects by itself (fresh ticket) and the terminal works again.
    server.gateway.dropAll();
    await expect
      .poll(() => page.locator('[data-testid=console-status]').textContent())
      .toMatch(/reconnecting|connecting/);
    await expect
      .poll(() => page.locator('[data-testid=console-status]').textContent(), { timeout: 30_000 })
      .toBe('connected');
    const again = `again-${randomBytes(4).toString('hex')}`;
    await typeInTerminal('client', `echo ${again}`);
    await expect
      .poll(async () => (await terminalText('client')).split(again).length - 1, { timeout: 15_000 })
      .toBeGreaterThanOrEqual(2);

    // The other system's tab: its own shell, on its own host.
    await page.click('button.tab[data-system="server"]');
    await expect
      .poll(() => page.locator('[data-testid=console-status]').textContent(), { timeout: 30_000 })
      .toBe('connected');
    await typeInTerminal('server', 'echo "on-$(hostname)"');
    await expect.poll(() => terminalText('server'), { timeout: 15_000 }).toMatch(/^on-server$/m);

    // The desktop of client: noVNC draws the remote screen on a canvas.
    await page.click('button.tab[data-system="client"]');
    await page.click('button[data-console-switch="desktop"]');
    // Share of lit pixels on noVNC's canvas (runs in the page; typed without the DOM library).
    const drawn = async () =>
      page.evaluate(() => {
        type Canvas = {
          width: number;
          height: number;
          getContext(
            kind: '2d',
          ): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } | null;
        };
        const doc = (globalThis as unknown as { document: { querySelector(s: string): Canvas | null } }).document;
        const canvas = doc.querySelector('.desktop-screen canvas');
        if (!canvas || canvas.width < 100) return 0;
        const data = canvas.getContext('2d')?.getImageData(0, 0, canvas.width, canvas.height).data;
        if (!data) return 0;
        let lit = 0;
        for (let i = 0; i < data.length; i += 4) if (data[i]! + data[i + 1]! + data[i + 2]! > 60) lit++;
        return lit / (data.length / 4);
      });
    await expect.poll(drawn, { timeout: 60_000, interval: 500 }).toBeGreaterThan(0.01);
    await page.screenshot({ path: path.join(SHOTS, 'workspace-desktop.png') });

    // The terminal of client kept its session while the desktop was shown.
    await page.click('button[data-console-switch="terminal"]');
    expect(await terminalText('client')).toContain(word);

    await page.click('button[data-action="stop"]');
    await expect
      .poll(() => page.locator('[data-testid=banner]').textContent(), { timeout: 60_000 })
      .toMatch(/This lab is stopped/);
    await page.screenshot({ path: path.join(SHOTS, 'workspace-stopped.png') });
  });
});
