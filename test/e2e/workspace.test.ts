/**
 * The workspace in a real browser (Debian Chromium through playwright-core)
 * against a real server on the local runtime (Podman): a new user signs in,
 * starts the two-container example lab, works in a terminal, switches to the
 * other system, opens the desktop and sees it drawn, and stops the lab.
 * Screenshots go to .cache/e2e/ for a human look.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import type { TestServer } from '../support/server.js';
import { PASSWORD, SHOTS, startWorkspaceE2e, type WorkspaceE2e } from '../support/workspace-e2e.js';

let e2e: WorkspaceE2e;
let server: TestServer;
let page: Page;

beforeAll(async () => {
  e2e = await startWorkspaceE2e({ scope: 'e2e' });
  ({ server, page } = e2e);
});

afterAll(async () => {
  await e2e?.stop();
});

const terminalText = (system: string) => e2e.terminalText(system);
const typeInTerminal = (system: string, text: string) => e2e.typeInTerminal(system, text);

describe('workspace', () => {
  it('signs in, starts a lab, uses terminal and desktop, and stops it', async () => {
    onTestFailed(() => e2e.capture('failure'));
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
