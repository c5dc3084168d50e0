/**
 * @file The set-up the browser tests of the workspace share: the built
 * client, a real server on the local runtime (Podman) with the example lab,
 * a learner who signs in with a password, Chromium with one page, and the
 * helpers that read and type in the terminal as a user would. Each test file
 * calls `startWorkspaceE2e` in `beforeAll` and `stop` in `afterAll`.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { LocalRuntime } from '../../server/runtime/local/local-runtime.js';
import { hashPassword } from '../../server/secrets.js';
import { prepareLocalRuntime, REPO } from '../integration/local-runtime-setup.js';
import { CHROMIUM_LAUNCH } from './browser.js';
import { importLabFolder, startTestServer, type TestServer } from './server.js';

/** Where the browser tests put their screenshots for a human look. */
export const SHOTS = path.join(REPO, '.cache', 'e2e');
/** The password of every learner `startWorkspaceE2e` makes. */
export const PASSWORD = 'a long learner password';

export interface WorkspaceE2e {
  server: TestServer;
  browser: Browser;
  page: Page;
  /** Signs `name` in through the sign-in page and waits for the lab list. */
  signIn(name?: string, page?: Page): Promise<void>;
  /** What the visible terminal of `system` shows (xterm's DOM renderer keeps a row per line). */
  terminalText(system: string, page?: Page): Promise<string>;
  /** Types a command once the shell shows its prompt (as a user would wait for it). */
  typeInTerminal(system: string, text: string, page?: Page): Promise<void>;
  /** Saves a screenshot and the page's HTML under SHOTS (for onTestFailed). */
  capture(name: string, page?: Page): Promise<void>;
  /** Closes the browser, destroys every instance, stops the server. */
  stop(): Promise<void>;
}

export interface WorkspaceE2eOptions {
  /** Runtime scope prefix (the process id is added), so runs never meet each other's containers. */
  scope: string;
  /** Lab folders of the repository to import (default: the example lab). */
  labs?: string[];
  /** Local users made with PASSWORD (default: `learner`). */
  learners?: string[];
  /** Lab images to build (default: shell and desktop). */
  images?: string[];
}

/** Builds the client if it was never built (the tests serve client/dist). */
export function ensureClientBuilt(): void {
  if (!fs.existsSync(path.join(REPO, 'client/dist/index.html'))) {
    execFileSync('npx', ['vite', 'build', 'client'], { cwd: REPO, stdio: 'inherit' });
  }
}

export async function startWorkspaceE2e(opts: WorkspaceE2eOptions): Promise<WorkspaceE2e> {
  prepareLocalRuntime(opts.images ?? ['shell', 'desktop']);
  ensureClientBuilt();
  const server = await startTestServer({ runtime: new LocalRuntime({ scope: `${opts.scope}-${process.pid}` }) });
  for (const folder of opts.labs ?? ['labs/net-basics']) {
    expect((await importLabFolder(server, folder)).status).toBe(201);
  }
  for (const name of opts.learners ?? ['learner']) {
    const learner = await server.user(name);
    await server.store.users.setPasswordHash(learner.id, await hashPassword(PASSWORD));
  }

  fs.mkdirSync(SHOTS, { recursive: true });
  const browser = await chromium.launch(CHROMIUM_LAUNCH);
  const page = await browser.newPage({ viewport: { width: 1400, height: 850 } });

  const terminalText = (system: string, p = page) =>
    // biome-ignore lint/performance/useDomNodeTextContent: innerText keeps xterm's rows as lines (tests read lines and the prompt).
    p.locator(`.terminal-screen[data-system="${system}"] .xterm-rows`).innerText();

  return {
    server,
    browser,
    page,
    async signIn(name = 'learner', p = page) {
      await p.goto(server.url);
      await p.waitForURL(/\/signin/);
      await p.fill('input[name=username]', name);
      await p.fill('input[name=password]', PASSWORD);
      await p.click('button[type=submit]');
      await p.waitForSelector('[data-testid=user]');
    },
    terminalText,
    async typeInTerminal(system, text, p = page) {
      await expect.poll(() => terminalText(system, p), { timeout: 30_000 }).toMatch(/[#$]\s*$/);
      await p.locator(`.terminal-screen[data-system="${system}"]`).click();
      await p.keyboard.type(text);
      await p.keyboard.press('Enter');
    },
    async capture(name, p = page) {
      await p.screenshot({ path: path.join(SHOTS, `${name}.png`) });
      fs.writeFileSync(path.join(SHOTS, `${name}.html`), await p.content());
    },
    async stop() {
      await browser.close();
      // Provisioning still under way would create containers after a destroy: let it finish first.
      await server.lifecycle.settleAll();
      for (const i of await server.store.instances.list()) await server.runtime?.destroy(i.id);
      await server.stop();
    },
  };
}
