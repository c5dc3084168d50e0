/**
 * A paused lab as a learner sees it, in a real browser (Debian Chromium
 * through playwright-core) against a real server on the local runtime
 * (Podman): once paused, the workspace clock says when the lab's
 * paused-age limit stops it unless it is resumed (the deadline the API
 * gives); left paused, the reaper stops it no earlier than that, and the
 * page says why. The test checks what the page shows and in what order,
 * not how long it takes. Screenshots go to .cache/e2e/limits-paused-*.png.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { smallLab } from '../integration/limits-support.js';
import { REPO } from '../integration/local-runtime-setup.js';
import { startWorkspaceE2e, type WorkspaceE2e } from '../support/workspace-e2e.js';

/** Inside the repository (lab folders are imported from there), in the ignored cache. */
const LAB_DIR = '.cache/e2e-labs/paused-clock';
const LAB = smallLab('paused-clock', 'ttl: 1h, idle: 1h, maxPaused: 40s');

let e2e: WorkspaceE2e;

beforeAll(async () => {
  fs.mkdirSync(path.join(REPO, LAB_DIR), { recursive: true });
  fs.writeFileSync(path.join(REPO, LAB_DIR, 'lab.yaml'), LAB);
  e2e = await startWorkspaceE2e({ scope: 'e2e-limits-paused', labs: [LAB_DIR], images: ['shell'] });
});

afterAll(async () => {
  await e2e?.stop();
});

describe('a paused lab in the workspace', () => {
  it('says when it stops unless resumed, and left paused it stops no earlier', async () => {
    const { page, server } = e2e;
    onTestFailed(() => e2e.capture('limits-paused-failure'));
    await e2e.signIn();
    await page.click('button[data-lab="paused-clock"]');
    await page.waitForURL(/\/instances\/i[a-z0-9]+$/);
    const id = page.url().split('/').at(-1)!;
    await page.waitForSelector('[data-testid=state]:text-is("running")', { timeout: 120_000 });
    const clock = page.locator('[data-testid=lab-clock]');
    await expect.poll(() => clock.textContent()).toMatch(/^stops in /);

    await page.click('button[data-action=pause]');
    await page.waitForSelector('[data-testid=state]:text-is("paused")');
    await expect.poll(() => clock.textContent()).toMatch(/ unless resumed$/);
    const deadline = (await clock.getAttribute('data-deadline'))!;
    const shown = await page.evaluate(
      (at) => new Date(at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }),
      deadline,
    );
    expect(await clock.textContent()).toBe(`stops at ${shown} unless resumed`);
    // The page's deadline is the server's: 40 s (the lab's maxPaused) after the pause.
    const detail = await server.api(server.adminToken, 'GET', `/api/v1/instances/${id}`);
    expect(detail.body.expiry).toMatchObject({ at: deadline, cause: 'paused' });
    const pausedAt = detail.body.history.findLast((h: { to: string }) => h.to === 'paused').at;
    expect(Date.parse(deadline)).toBe(Date.parse(pausedAt) + 40_000);
    // Nothing to extend and no warning: neither moves a paused lab's stop.
    expect(await page.locator('button[data-action=extend]').isVisible()).toBe(false);
    expect(await page.locator('.lab-warning').isVisible()).toBe(false);
    expect(await page.locator('button[data-action=resume]').isVisible()).toBe(true);
    await e2e.capture('limits-paused-clock');

    // Left paused: the reaper stops it, not before the time the page showed, and the page says why.
    await page.waitForSelector('[data-testid=state]:text-is("stopped")', { timeout: 150_000 });
    await expect
      .poll(() => page.locator('[data-testid=banner]').textContent())
      .toMatch(/^This lab was stopped \(paused for longer than 40 s\)/);
    expect(await clock.isVisible()).toBe(false);
    const record = await server.store.instances.get(id);
    const stoppedAt = record!.history.findLast((h) => h.to === 'stopping')!.at;
    expect(stoppedAt.getTime()).toBeGreaterThanOrEqual(Date.parse(deadline));
    await e2e.capture('limits-paused-stopped');
  });
});
