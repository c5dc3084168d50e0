/**
 * TTL and idle limits on the real local runtime (Podman): warned first,
 * then stopped (or paused) by the reaper with a reason; activity moves the
 * idle deadline; extensions add a TTL and run out. Limits are seconds here,
 * the reaper runs twice a second; the tests check outcomes and order only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalRuntime } from '../../server/runtime/local/local-runtime.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';
import { type HistoryEntry, importLab, smallLab, stateOf } from './limits-support.js';
import { prepareLocalRuntime } from './local-runtime-setup.js';

let server: TestServer;

beforeAll(async () => {
  prepareLocalRuntime(['shell']);
  server = await startTestServer({
    runtime: new LocalRuntime({ scope: `limits-${process.pid}` }),
    // No paused-age limit here (LIMIT_MAX_PAUSED=0): a paused instance has no stop ahead (limits-paused.test.ts has one).
    env: { REAPER_INTERVAL: '0.5', ADMISSION_INTERVAL: '0.5', LEASE_TTL: '3', LIMIT_MAX_PAUSED: '0' },
  });
  await importLab(server, smallLab('short-ttl', 'ttl: 6s, idle: 1h, extensions: 1'));
  await importLab(server, smallLab('short-idle', 'ttl: 1h, idle: 6s'));
  await importLab(server, smallLab('idle-here', 'ttl: 1h, idle: 20s'));
  await importLab(server, smallLab('idle-pause', 'ttl: 1h, idle: 5s, onExpire: pause'));
});
afterAll(async () => {
  for (const i of (await server?.store.instances.list()) ?? []) await server.runtime?.destroy(i.id);
  await server?.stop();
});

const stoppingOf = (history: HistoryEntry[]) => history.find((h) => h.to === 'stopping' || h.to === 'paused');

describe('TTL and extensions', () => {
  it('extends once, refuses the second extension, then warns and stops at the maximum age', async () => {
    const learner = await server.user('ttl-learner');
    const created = await server.api(learner.token, 'POST', '/api/v1/instances', { lab: 'short-ttl' });
    expect(created.status).toBe(202);
    const id: string = created.body.id;
    const running = await stateOf(server, learner.token, id, 'running');
    expect(running.expiry).toMatchObject({ cause: 'ttl', extensionsUsed: 0, extensionsLeft: 1 });
    const firstDeadline = Date.parse(running.expiry.expiresAt);

    const extended = await server.api(learner.token, 'POST', `/api/v1/instances/${id}/extend`);
    expect(extended.status).toBe(200);
    expect(extended.body.expiry).toMatchObject({ extensionsUsed: 1, extensionsLeft: 0 });
    expect(Date.parse(extended.body.expiry.expiresAt)).toBe(firstDeadline + 6000); // one TTL more
    const refused = await server.api(learner.token, 'POST', `/api/v1/instances/${id}/extend`);
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toMatch(/no extensions left: 1 of 1 used/);
    const other = await server.user('ttl-other');
    expect((await server.api(other.token, 'POST', `/api/v1/instances/${id}/extend`)).status).toBe(404);

    const warned = await waitFor('the warning', async () => {
      const r = await server.api(learner.token, 'GET', `/api/v1/instances/${id}`);
      return r.body.expiry?.warnedAt ? r.body : undefined;
    });
    expect(warned.state).toBe('running'); // warned, not yet stopped
    expect(warned.expiry.cause).toBe('ttl');

    const stopped = await stateOf(server, learner.token, id, 'stopped');
    expect(stopped.reason).toBe('reached its maximum age of 12 s (with 1 extension(s))');
    const stop = stoppingOf(stopped.history)!;
    expect(stop).toMatchObject({ to: 'stopping', by: 'system', reason: stopped.reason });
    expect(Date.parse(warned.expiry.warnedAt)).toBeLessThan(Date.parse(stop.at));
    const audit = await server.store.audit.list({ target: `instance:${id}` });
    const order = audit.map((e) => e.action).reverse();
    expect(order.indexOf('instance.warn')).toBeLessThan(order.indexOf('instance.expire.stop'));
    expect(order.filter((a) => a === 'instance.expire.stop')).toHaveLength(1);
  });
});

describe('idle', () => {
  it('activity moves the idle deadline; without it the instance is warned and stopped', async () => {
    const learner = await server.user('idle-learner');
    const created = await server.api(learner.token, 'POST', '/api/v1/instances', { lab: 'short-idle' });
    const id: string = created.body.id;
    const running = await stateOf(server, learner.token, id, 'running');
    expect(running.expiry.cause).toBe('idle');

    // Active for longer than the idle limit: an action every second (a no-op start still says "I am here").
    const until = Date.now() + 9000;
    let last = Date.parse(running.expiry.at);
    let moved = 0;
    while (Date.now() < until) {
      const r = await server.api(learner.token, 'POST', `/api/v1/instances/${id}/start`);
      expect(r.body.state).toBe('running');
      const at = Date.parse(r.body.expiry.at);
      if (at > last) moved++;
      last = at;
      await new Promise((r) => setTimeout(r, 1000));
    }
    expect(moved).toBeGreaterThan(3);
    const still = await server.api(learner.token, 'GET', `/api/v1/instances/${id}`);
    expect(still.body.state).toBe('running');
    expect(still.body.history.some((h: HistoryEntry) => h.to === 'stopping')).toBe(false);

    // An instructor or admin looking does not count as the learner's activity.
    const before = (await server.store.instances.get(id))!.lastActivityAt.getTime();
    await server.api(server.adminToken, 'POST', `/api/v1/instances/${id}/start`);
    expect((await server.store.instances.get(id))!.lastActivityAt.getTime()).toBe(before);

    const stopped = await stateOf(server, learner.token, id, 'stopped');
    expect(stopped.reason).toBe('idle for 6 s');
    const audit = (await server.store.audit.list({ target: `instance:${id}` })).map((e) => e.action).reverse();
    expect(audit.indexOf('instance.warn')).toBeGreaterThan(-1);
    expect(audit.indexOf('instance.warn')).toBeLessThan(audit.indexOf('instance.expire.stop'));
  });

  it('"I am still here" in an idle warning clears it and uses no extension (kept for the maximum age)', async () => {
    const learner = await server.user('here-learner');
    const created = await server.api(learner.token, 'POST', '/api/v1/instances', { lab: 'idle-here' });
    const id: string = created.body.id;
    await stateOf(server, learner.token, id, 'running');
    const warned = await waitFor('the idle warning', async () => {
      const r = await server.api(learner.token, 'GET', `/api/v1/instances/${id}`);
      return r.body.expiry?.warnedAt ? r.body : undefined;
    });
    expect(warned.expiry).toMatchObject({ cause: 'idle', extensionsUsed: 0 });
    const here = await server.api(learner.token, 'POST', `/api/v1/instances/${id}/extend`);
    expect(here.status).toBe(200);
    expect(here.body.expiry).toMatchObject({ cause: 'idle', extensionsUsed: 0 });
    expect(here.body.expiry.warnedAt).toBeUndefined();
    expect(Date.parse(here.body.expiry.at)).toBeGreaterThan(Date.parse(warned.expiry.at));
    const stillHere = await server.store.audit.list({ target: `instance:${id}` });
    expect(stillHere.map((e) => e.action)).toContain('instance.still-here');
  });

  it('pauses instead when the lab says onExpire: pause, and keeps what the learner did', async () => {
    const learner = await server.user('pause-learner');
    const created = await server.api(learner.token, 'POST', '/api/v1/instances', { lab: 'idle-pause' });
    const id: string = created.body.id;
    await stateOf(server, learner.token, id, 'running');
    expect(
      (await server.runtime!.exec(id, 'box', ['sh', '-c', 'echo kept > /tmp/work'], { timeout: 10 })).exitCode,
    ).toBe(0);
    const paused = await stateOf(server, learner.token, id, 'paused');
    expect(paused.reason).toBe('idle for 5 s');
    expect(paused.expiry).toBeUndefined(); // no paused-age limit on this server: nothing stops it
    const resumed = await server.api(learner.token, 'POST', `/api/v1/instances/${id}/resume`);
    expect(resumed.body.state).toBe('running');
    expect((await server.runtime!.exec(id, 'box', ['cat', '/tmp/work'], { timeout: 10 })).stdout.trim()).toBe('kept');
    await server.api(learner.token, 'POST', `/api/v1/instances/${id}/stop`);
    await stateOf(server, learner.token, id, 'stopped');
  });
});
