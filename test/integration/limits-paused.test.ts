/**
 * The paused-age limit and the learner's checks as activity, on the real
 * local runtime (Podman): an instance left paused longer than its lab's
 * `maxPaused` (or the server's LIMIT_MAX_PAUSED) is stopped with a reason,
 * keeps its progress, and one paused for less is left alone; the owner
 * pressing Check or ticking a step restarts the idle timer, an instructor
 * or admin doing it does not. A paused instance shows that stop ahead
 * (`expiry`, cause "paused"), and the reaper keeps to it. Limits are
 * seconds, the reaper runs twice a second; the tests check outcomes and
 * recorded order only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalRuntime } from '../../server/runtime/local/local-runtime.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { type HistoryEntry, smallLab, stateOf } from './limits-support.js';
import { prepareLocalRuntime } from './local-runtime-setup.js';

let server: TestServer;

/** A small lab with a one-page tutorial: a step with a check and a step to tick. */
async function importTutorialLab(name: string, limits: string): Promise<void> {
  const yaml = `${smallLab(name, limits)}tutorial:
  pages:
    - title: Work
      body: pages/01.md
      steps:
        - id: make-file
          text: Make /tmp/done
          check: { system: box, run: "test -f /tmp/done" }
        - id: read
          text: Read the page
`;
  const files = { 'lab.yaml': yaml, 'pages/01.md': '# Work\n\nMake `/tmp/done`.\n' };
  const res = await server.api(server.adminToken, 'POST', '/api/v1/labs', { files });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
}

beforeAll(async () => {
  prepareLocalRuntime(['shell']);
  server = await startTestServer({
    runtime: new LocalRuntime({ scope: `limits-paused-${process.pid}` }),
    env: { REAPER_INTERVAL: '0.5', ADMISSION_INTERVAL: '0.5', LEASE_TTL: '3', LIMIT_MAX_PAUSED: '3' },
  });
  await importTutorialLab('paused-short', 'ttl: 1h, idle: 1h, maxPaused: 4s');
  await importTutorialLab('paused-long', 'ttl: 1h, idle: 1h, maxPaused: 1h');
  await importTutorialLab('paused-default', 'ttl: 1h, idle: 1h');
  await importTutorialLab('check-idle', 'ttl: 1h, idle: 1h');
});
afterAll(async () => {
  await server?.lifecycle.settleAll();
  for (const i of (await server?.store.instances.list()) ?? []) await server.runtime?.destroy(i.id);
  await server?.stop();
});

async function runningInstance(token: string, lab: string): Promise<string> {
  const created = await server.api(token, 'POST', '/api/v1/instances', { lab });
  expect(created.status, JSON.stringify(created.body)).toBe(202);
  await stateOf(server, token, created.body.id, 'running');
  return created.body.id;
}

const last = (history: HistoryEntry[], to: string) => history.filter((h) => h.to === to).at(-1);

describe('paused age', () => {
  it('stops instances paused longer than the limit (lab, else server), keeps progress, leaves the others paused', async () => {
    const learner = await server.user('paused-learner');
    const ids: Record<string, string> = {};
    for (const lab of ['paused-short', 'paused-long', 'paused-default']) {
      ids[lab] = await runningInstance(learner.token, lab);
    }
    const short = ids['paused-short']!;
    const tick = await server.api(learner.token, 'POST', `/api/v1/instances/${short}/tutorial/steps/read/tick`, {
      done: true,
    });
    expect(tick.status, JSON.stringify(tick.body)).toBe(200);
    expect(tick.body.progress.stepsDone).toBe(1);
    // Each paused instance shows when it stops unless resumed: its lab's limit, else the server's, after the pause.
    const stopsAt: Record<string, number> = {};
    const limitSeconds: Record<string, number> = { 'paused-short': 4, 'paused-long': 3600, 'paused-default': 3 };
    for (const [lab, id] of Object.entries(ids)) {
      const paused = await server.api(learner.token, 'POST', `/api/v1/instances/${id}/pause`);
      expect(paused.body.state).toBe('paused');
      const pausedAt = Date.parse(paused.body.updatedAt); // the pause is its last update
      expect(paused.body.expiry).toMatchObject({ cause: 'paused', extensionsUsed: 0 });
      expect(paused.body.expiry.warnedAt).toBeUndefined();
      stopsAt[lab] = Date.parse(paused.body.expiry.at);
      expect(stopsAt[lab]).toBe(pausedAt + limitSeconds[lab]! * 1000);
    }
    const long = ids['paused-long']!;
    const listed = await server.api(learner.token, 'GET', '/api/v1/instances?mine=1');
    const longListed = listed.body.find((i: { id: string }) => i.id === long);
    expect(longListed.expiry).toMatchObject({ cause: 'paused', at: new Date(stopsAt['paused-long']!).toISOString() });

    const stopped = await stateOf(server, learner.token, short, 'stopped', 60);
    expect(stopped.reason).toBe('paused for longer than 4 s');
    const pausedAt = Date.parse(last(stopped.history, 'paused')!.at);
    const stop = last(stopped.history, 'stopping')!;
    expect(stop).toMatchObject({ from: 'paused', by: 'system', reason: 'paused for longer than 4 s' });
    expect(Date.parse(stop.at) - pausedAt).toBeGreaterThanOrEqual(4000); // never before its limit
    expect(Date.parse(stop.at)).toBeGreaterThanOrEqual(stopsAt['paused-short']!); // nor before the time it showed
    const audit = await server.store.audit.list({ target: `instance:${short}` });
    const expire = audit.find((e) => e.action === 'instance.expire.stop');
    expect(expire?.details).toMatchObject({ reason: 'paused for longer than 4 s', cause: 'paused' });
    // What the learner did stays with the stopped instance.
    const progress = await server.api(learner.token, 'GET', `/api/v1/instances/${short}/tutorial/progress`);
    expect(progress.body.steps.read).toMatchObject({ done: true });

    const byDefault = await stateOf(server, learner.token, ids['paused-default']!, 'stopped', 60);
    expect(byDefault.reason).toBe('paused for longer than 3 s');
    expect(Date.parse(last(byDefault.history, 'stopping')!.at)).toBeGreaterThanOrEqual(stopsAt['paused-default']!);
    expect(byDefault.expiry).toBeUndefined(); // stopped: no limit ahead

    // The lab that allows an hour: still paused, nothing stopped it, the same stop ahead, and it resumes.
    const stillPaused = await server.api(learner.token, 'GET', `/api/v1/instances/${long}`);
    expect(stillPaused.body.state).toBe('paused');
    expect(stillPaused.body.history.some((h: HistoryEntry) => h.to === 'stopping')).toBe(false);
    expect(Date.now() - Date.parse(last(stillPaused.body.history, 'paused')!.at)).toBeGreaterThan(4000);
    expect(Date.parse(stillPaused.body.expiry.at)).toBe(stopsAt['paused-long']);
    const resumed = await server.api(learner.token, 'POST', `/api/v1/instances/${long}/resume`);
    expect(resumed.body.state).toBe('running');
    expect(resumed.body.expiry.cause).not.toBe('paused'); // running: the maximum age and idle time count again
  });
});

describe('checks as activity', () => {
  it("the owner's Check and tick restart the idle timer; an admin's do not", async () => {
    const learner = await server.user('check-learner');
    const id = await runningInstance(learner.token, 'check-idle');
    const activity = async () => (await server.store.instances.get(id))!.lastActivityAt.getTime();
    const idleDeadline = async () => {
      const r = await server.api(server.adminToken, 'GET', `/api/v1/instances/${id}`); // an admin looking: no activity
      return Date.parse(r.body.expiry.at);
    };

    let before = await activity();
    const deadlineBefore = await idleDeadline();
    await new Promise((r) => setTimeout(r, 50));
    const check = await server.api(learner.token, 'POST', `/api/v1/instances/${id}/tutorial/steps/make-file/check`);
    expect(check.status, JSON.stringify(check.body)).toBe(200);
    expect(check.body.outcome.passed).toBe(false);
    expect(await activity()).toBeGreaterThan(before);
    expect(await idleDeadline()).toBeGreaterThan(deadlineBefore);

    before = await activity();
    await new Promise((r) => setTimeout(r, 50));
    const tick = await server.api(learner.token, 'POST', `/api/v1/instances/${id}/tutorial/steps/read/tick`, {
      done: true,
    });
    expect(tick.status).toBe(200);
    expect(await activity()).toBeGreaterThan(before);

    // An admin (or instructor) checking or ticking for the learner is not the learner being here.
    before = await activity();
    await new Promise((r) => setTimeout(r, 50));
    const adminCheck = await server.api(
      server.adminToken,
      'POST',
      `/api/v1/instances/${id}/tutorial/steps/make-file/check`,
    );
    expect(adminCheck.status).toBe(200);
    const adminTick = await server.api(server.adminToken, 'POST', `/api/v1/instances/${id}/tutorial/steps/read/tick`, {
      done: false,
    });
    expect(adminTick.status).toBe(200);
    expect(await activity()).toBe(before);
  });
});
